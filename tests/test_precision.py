"""Precision: how ``auto``/``bf16``/``fp16`` resolve on each device and CPU, and CPU bf16 output against fp32.

Nothing here assumes bf16 hardware: native support is monkeypatched both ways, and the numeric test runs bf16
autocast, which works (emulated, far slower) on any x86 CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colormnet.config import InferenceConfig
from colormnet.engines import precision as engines
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.backend import load_model
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.precision import (
    effective_precision,
    interactive_precision,
    native_cpu_bf16,
    resolve_autocast,
    resolve_device,
)
from colormnet.errors import InferenceError
from tests.conftest import GOLDEN

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(params=[True, False], ids=["native-bf16", "no-native-bf16"])
def native(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Pretend this CPU has (or lacks) native bf16."""
    monkeypatch.setattr(engines, "native_cpu_bf16", lambda: request.param)
    return bool(request.param)


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [({"amx_bf16": True, "amx_tile": True}, True), ({"avx512_bf16": True}, True), ({"avx2": True}, False), ({}, False)],
)
def test_native_bf16_is_read_off_the_cpu_capabilities(
    monkeypatch: pytest.MonkeyPatch, capabilities: dict[str, bool], expected: bool
) -> None:
    native_cpu_bf16.cache_clear()
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities)
    try:
        assert native_cpu_bf16() is expected
    finally:
        native_cpu_bf16.cache_clear()


def test_native_bf16_is_false_without_onednn(monkeypatch: pytest.MonkeyPatch) -> None:
    native_cpu_bf16.cache_clear()
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    try:
        assert native_cpu_bf16() is False
    finally:
        native_cpu_bf16.cache_clear()


def test_cpu_autocast_is_bf16_only_when_asked_on_a_cpu_that_has_it(native: bool) -> None:
    assert resolve_autocast("colormnet", "bf16", CPU) is (torch.bfloat16 if native else None)
    assert resolve_autocast("colormnet", "auto", CPU) is None  # the CLI and exports stay exact
    assert resolve_autocast("colormnet", "fp32", CPU) is None
    assert resolve_autocast("colormnet", "fp16", CPU) is None  # CUDA-only


def test_cuda_autocast() -> None:
    assert resolve_autocast("colormnet", "auto", CUDA) is torch.float16
    assert resolve_autocast("colormnet", "bf16", CUDA) is torch.bfloat16
    assert resolve_autocast("colormnet", "fp32", CUDA) is None


@pytest.mark.parametrize(
    ("engine", "precision", "device", "expected"),
    [
        ("deepexemplar", "bf16", CPU, None),  # no CPU bf16 in this engine
        ("deepexemplar", "fp16", CPU, None),
        ("deepexemplar", "auto", CUDA, torch.float16),
        ("deepexemplar", "bf16", CUDA, torch.bfloat16),
        ("propagate", "fp16", CUDA, None),  # always fp32
    ],
)
def test_every_engine_autocasts_as_its_effective_precision_says(
    engine: str, precision: str, device: torch.device, expected: torch.dtype | None
) -> None:
    assert resolve_autocast(engine, precision, device) is expected  # type: ignore[arg-type]


def test_a_reduced_precision_the_cpu_cannot_run_is_fp32_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="colormnet.engines.precision"):
        assert resolve_autocast("deepexemplar", "bf16", CPU) is None
    assert "bf16 needs a CUDA device with the deepexemplar engine; running in fp32" in caplog.text


def test_bf16_on_a_cpu_without_it_is_fp32_with_a_warning(monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(engines, "native_cpu_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="colormnet.engines.precision"):
        assert resolve_autocast("colormnet", "bf16", CPU) is None
    assert "this CPU has no native bf16" in caplog.text and "running in fp32" in caplog.text
    assert effective_precision("colormnet", "bf16", CPU) == "fp32"  # the cache keys of fp32 renders
    assert resolve_autocast("colormnet", "bf16", CUDA) is torch.bfloat16  # a GPU's bf16 is another matter


def test_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == CPU and resolve_device("cpu") == CPU
    with pytest.raises(InferenceError, match="No CUDA device is available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == CUDA


def test_previews_use_bf16_by_default_only_on_a_cpu_that_has_it(native: bool, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    expected = "bf16" if native else "auto"
    assert interactive_precision("colormnet", "auto", "cpu") == expected
    assert interactive_precision("colormnet", "auto", "auto") == expected
    assert interactive_precision("colormnet", "fp32", "cpu") == "fp32"  # an explicit choice is kept
    assert interactive_precision("colormnet", "bf16", "cpu") == "bf16"
    assert interactive_precision("propagate", "auto", "cpu") == "auto"  # engines without CPU bf16
    assert interactive_precision("deepexemplar", "auto", "cpu") == "auto"
    assert interactive_precision("colormnet", "auto", "cuda") == "auto"  # CUDA's auto is fp16 already


def test_auto_device_on_a_gpu_machine_keeps_auto(native: bool, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert interactive_precision("colormnet", "auto", "auto") == "auto"


@pytest.mark.parametrize(
    ("engine", "precision", "device", "expected"),
    [
        ("colormnet", "auto", CPU, "fp32"),
        ("colormnet", "bf16", CPU, "bf16"),
        ("colormnet", "fp16", CPU, "fp32"),
        ("colormnet", "auto", CUDA, "fp16"),
        ("colormnet", "bf16", CUDA, "bf16"),
        ("deepexemplar", "bf16", CPU, "fp32"),
        ("deepexemplar", "auto", CUDA, "fp16"),
        ("propagate", "bf16", CUDA, "fp32"),
    ],
)
def test_effective_precision(engine: str, precision: str, device: torch.device, expected: str, emulated_bf16) -> None:
    assert effective_precision(engine, precision, device) == expected  # type: ignore[arg-type]


def test_precisions_share_one_network_and_have_their_own_cache_keys(random_weights, emulated_bf16) -> None:
    fp32 = load_model(random_weights, device="cpu", precision="fp32")
    bf16 = load_model(random_weights, device="cpu", precision="bf16")
    assert bf16.network is fp32.network  # switching precision does not load the checkpoint again
    assert bf16.autocast_dtype is torch.bfloat16 and fp32.autocast_dtype is None
    assert fp32.fingerprint != bf16.fingerprint and "bfloat16" in bf16.fingerprint
    assert load_model(random_weights, device="cpu", precision="auto").fingerprint == fp32.fingerprint


def _run(network, precision: torch.dtype | None, frames: np.ndarray, exemplar: np.ndarray) -> list[torch.Tensor]:
    engine = InferenceEngine(network, InferenceConfig(mem_every=2), precision)
    outputs = []
    for t in range(len(frames)):
        ex = ExemplarInput(exemplar, "reference") if t == 0 else None
        outputs.append(torch.from_numpy(engine.step(frames[t], ex, end=t == len(frames) - 1).ab))
    if precision is not None:  # the memory is kept in fp32 under CPU bf16
        assert all(s.value is None or s.value.dtype == torch.float32 for s in (engine.memory.permanent,
                                                                              engine.memory.working))
    return outputs


# Tolerance of bf16 against fp32 on the golden real frames (at 112x112, random weights), in ab units (a, b in
# [-110, 110]): mean absolute difference and the share of values more than 2 units apart.
MEAN_AB_TOLERANCE = 0.5
SHARE_OVER_2_TOLERANCE = 0.02


def test_cpu_bf16_output_is_close_to_fp32_and_really_bf16(golden_network) -> None:
    inputs = np.load(GOLDEN / "official_inputs.npz")
    frames = F.avg_pool2d(torch.from_numpy(inputs["frames_L"][:4])[:, None], 2)[:, 0].numpy() * 50 + 50  # 4 x 112 x 112
    exemplar = np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB"))  # stretched to 112 x 112 by the engine
    fp32 = torch.stack(_run(golden_network, None, frames, exemplar)) * 110
    bf16 = torch.stack(_run(golden_network, torch.bfloat16, frames, exemplar)) * 110
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape == (4, 2, 112, 112)
    diff = (bf16 - fp32).abs()
    assert diff.max() > 0  # it did run in bf16, not silently in fp32
    assert diff.mean() < MEAN_AB_TOLERANCE
    assert (diff > 2).float().mean() < SHARE_OVER_2_TOLERANCE


def test_cpu_bf16_can_keep_the_dino_branch_and_the_key_projection_in_fp32(golden_network) -> None:
    dtypes: dict[str, torch.dtype] = {}
    modules = {"dino": golden_network.key_encoder.network2, "key_projection": golden_network.key_proj,
               "fuse": golden_network.key_encoder.fuse1.encode_enc, "trunk": golden_network.key_encoder.layer3}

    def record(name):
        return lambda _module, _inputs, output: dtypes.__setitem__(name, (output[0] if isinstance(output, tuple)
                                                                           else output).dtype)

    handles = [module.register_forward_hook(record(name)) for name, module in modules.items()]
    try:
        frame = np.full((112, 112), 50, np.float32)
        exemplar = ExemplarInput(np.full((112, 112, 3), 0.5, np.float32), "reference")
        engine = InferenceEngine(golden_network, InferenceConfig(), torch.bfloat16)
        engine.step(frame, exemplar, end=True)  # the default: the key encoder all in bf16
        assert set(dtypes.values()) == {torch.bfloat16}
        engine = InferenceEngine(golden_network, InferenceConfig(), torch.bfloat16)
        engine.fp32_parts = engine.fp32_parts | {"dino", "key_projection"}
        engine.step(frame, exemplar, end=True)
        assert dtypes == {"dino": torch.float32, "key_projection": torch.float32, "fuse": torch.bfloat16,
                          "trunk": torch.bfloat16}
        InferenceEngine(golden_network, InferenceConfig(), None).step(frame, exemplar, end=True)  # fp32: all of it
        assert set(dtypes.values()) == {torch.float32}
    finally:
        for handle in handles:
            handle.remove()
