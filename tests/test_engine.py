"""The inference engine against the official outputs, and the memory schedule's bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet import color
from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.engine import InferenceEngine, ieee_fp32
from colormnet.engines.colormnet.inference.memory_manager import MemoryManager, top_k_affinity
from colormnet.engines.colormnet.inference.memory_store import MemoryStore
from colormnet.errors import InferenceError
from tests.conftest import GOLDEN


def golden_image(name: str) -> np.ndarray:
    """An 8-bit RGB input of the golden run (``exemplar.png``, ``frames/0000N.png``)."""
    return np.asarray(Image.open(GOLDEN / name).convert("RGB"))


def golden_lightness(t: int) -> np.ndarray:
    """L* of golden frame ``t`` (float32, as the session computes it from a decoded frame)."""
    return (color.rgb_to_lab(golden_image(f"frames/{t:05d}.png"))[..., 0]).astype(np.float32)


@pytest.mark.parametrize("mode", ["reference", "keyframe"])
def test_outputs_match_the_official_code(golden_network, mode: str) -> None:
    inputs = np.load(GOLDEN / "official_inputs.npz")
    golden = np.load(GOLDEN / f"official_ab_{mode}.npz")["ab"]
    engine = InferenceEngine(golden_network, InferenceConfig())
    exemplar = ExemplarInput(golden_image("exemplar.png"), mode)  # type: ignore[arg-type]
    frames = [golden_lightness(t) for t in range(len(inputs["frames_L"]))]
    # the engine's own conversions reproduce the official inputs exactly
    assert np.array_equal(exemplar.lab(224, 224), inputs["exemplar_lab"])
    assert all(np.array_equal(color.normalize_l(f), inputs["frames_L"][t]) for t, f in enumerate(frames))
    # Plain ATen convolutions, not oneDNN's: oneDNN picks its kernels by CPU, and on some (seen on an AMD EPYC) their
    # last-bit rounding moves frame 4 by 6e-3 (most likely a change in the top-30 selection among the random
    # weights' nearly equal memory affinities); with ATen's kernels every frame is within 2.6e-6 on that CPU too.
    # The comparison is of our arithmetic, not of the CPU's kernel choice.
    with torch.backends.mkldnn.flags(enabled=False):
        for t in range(len(frames)):
            ab = engine.step(frames[t], exemplar if t == 0 else None, end=t == len(frames) - 1).ab
            np.testing.assert_allclose(ab, golden[t], atol=1e-4, rtol=0, err_msg=f"frame {t}")
    if mode == "keyframe":
        # frame 0 of a keyframe run is the exemplar's own chroma
        assert np.array_equal(golden[0], inputs["exemplar_lab"][1:])


@pytest.mark.parametrize("before", [True, False])
def test_fp32_turns_tf32_off_and_restores_the_process_setting(before: bool) -> None:
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = before
        with pytest.raises(RuntimeError), ieee_fp32():
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
            raise RuntimeError("a step that fails")
        assert torch.backends.cudnn.allow_tf32 is before and torch.backends.cuda.matmul.allow_tf32 is before
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_first_step_needs_an_exemplar(golden_network) -> None:
    engine = InferenceEngine(golden_network, InferenceConfig())
    with pytest.raises(InferenceError):
        engine.step(np.full((112, 112), 50, np.float32))


def test_one_frame_reference_run_does_not_crash(golden_network) -> None:
    # the official code crashes here (no exemplar shrinkage when the only frame is also the last)
    engine = InferenceEngine(golden_network, InferenceConfig())
    image = np.random.default_rng(0).random((112, 112, 3), dtype=np.float32)
    ab = engine.step(np.full((112, 112), 50, np.float32), ExemplarInput(image, "reference"), end=True).ab
    assert ab.shape == (2, 112, 112) and np.isfinite(ab).all()


def test_memory_stays_bounded_and_the_exemplar_survives(golden_network) -> None:
    cfg = InferenceConfig(mem_every=1, max_mid_term_frames=3, min_mid_term_frames=2, num_prototypes=8,
                          max_long_term_elements=24)
    engine = InferenceEngine(golden_network, cfg)
    rng = np.random.default_rng(3)
    hw = 7 * 7
    engine.step(np.full((112, 112), 50, np.float32), ExemplarInput(rng.random((112, 112, 3), np.float32), "reference"))
    exemplar_key = engine.memory.permanent.key.clone()
    sizes = []
    for _ in range(16):
        engine.step(rng.random((112, 112), np.float32) * 100)
        mem = engine.memory
        sizes.append((mem.permanent.size, mem.working.size, mem.long_term.size))
        assert mem.working.size + hw < cfg.max_mid_term_frames * hw
        assert mem.long_term.size <= cfg.max_long_term_elements
    assert torch.equal(engine.memory.permanent.key, exemplar_key)
    assert {s[0] for s in sizes} == {hw}
    assert max(s[2] for s in sizes) > 0  # consolidation happened
    assert sizes[-1] == sizes[-3]  # steady state: the total no longer grows


def test_softmax_survives_very_negative_similarities() -> None:
    sim = torch.full((40, 3), -500.0)
    sim[5] = -400.0
    aff = top_k_affinity(sim, top_k=30)
    assert torch.isfinite(aff).all() and torch.allclose(aff.sum(0), torch.ones(3))
    assert torch.allclose(aff[5], torch.ones(3))


def test_top_k_larger_than_memory_is_clamped() -> None:
    aff = top_k_affinity(torch.randn(10, 4), top_k=30)
    assert torch.allclose(aff.sum(0), torch.ones(4))


def test_eviction_when_nothing_needs_evicting_is_a_no_op() -> None:
    store = MemoryStore(keep_selection=False)
    store.add(torch.randn(4, 16), torch.ones(1, 16), torch.randn(2, 3, 16))
    store.remove_obsolete(keep=16)  # the reference indexes an empty tensor here
    assert store.size == 16
    store.update_usage(torch.arange(16.0))
    store.remove_obsolete(keep=10)
    assert store.size == 10 and store.use.min() >= 6


def test_readout_order_is_long_term_permanent_working() -> None:
    mm = MemoryManager(InferenceConfig())
    key = torch.zeros(1, 4, 1, 2)
    mm.add_exemplar(key, torch.ones(1, 1, 1, 2), torch.full((1, 2, 3, 1, 2), 1.0))
    mm.add_frame(key + 5, torch.ones(1, 1, 1, 2), torch.ones(1, 4, 1, 2), torch.full((1, 2, 3, 1, 2), 2.0))
    out = mm.read(torch.zeros(1, 4, 1, 2), torch.ones(1, 4, 1, 2))
    assert torch.allclose(out, torch.ones_like(out))  # the exact match (the exemplar) takes all the weight
