"""CUDA paths (skipped without a GPU): fp32 on CUDA matches the official fp32 outputs, autocast stays close to them.

The tolerances come from an H200 (torch 2.11, cu130), mean / max abs ``ab'`` over the 8 golden frames:

* reference path, fp32 (TF32 off, as the engine runs it): ~8e-7 / ~8e-6 on every frame;
* fast path, fp32: the same, except frame 4, where the 30th and 31st memory elements of one query differ by 2.4e-6
  in similarity (the closest call of the run; ~1e-5 or more on the other frames), so rounding-level differences in
  the keys can swap them: 1.6e-4 / 6e-3 there, fading over the next frames (mean over the run ~2e-5);
* TF32 convolutions (PyTorch's default): ~5e-4 / ~9e-3 on every frame, which the fp32 bounds below reject;
* fp16 autocast ~1e-3 / ~1.3e-2, bf16 ~5e-3 / ~4.3e-2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from tests.conftest import GOLDEN

pytestmark = pytest.mark.gpu


def cuda_differences(state_dict, fast: bool, autocast: torch.dtype | None) -> list[np.ndarray]:
    """Absolute differences to the official fp32 chroma, frame by frame, for the network run on CUDA."""
    from colormnet.engines.colormnet.model.network import ColorMNet

    network = ColorMNet(fast=fast).eval()
    network.load_state_dict(state_dict)
    network = network.cuda()
    inputs = np.load(GOLDEN / "official_inputs.npz")
    golden = np.load(GOLDEN / "official_ab_reference.npz")["ab"]
    engine = InferenceEngine(network, InferenceConfig(), autocast_dtype=autocast)
    exemplar = ExemplarInput(np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB")), "reference")
    differences = []
    for t, frame in enumerate(inputs["frames_L"]):
        ab = engine.step(frame * np.float32(50) + np.float32(50), exemplar if t == 0 else None).ab
        assert np.isfinite(ab).all(), t
        differences.append(np.abs(ab - golden[t]))
    return differences


def test_cuda_fp32_reference_path_equals_the_official_outputs(golden_state_dict) -> None:
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    for t, diff in enumerate(cuda_differences(golden_state_dict, fast=False, autocast=None)):
        assert diff.mean() < 1e-5 and diff.max() < 1e-4, (t, diff.mean(), diff.max())
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == tf32  # restored


def test_cuda_fp32_fast_path_follows_the_official_outputs(golden_state_dict) -> None:
    differences = cuda_differences(golden_state_dict, fast=True, autocast=None)
    assert differences[0].max() < 1e-4  # frame 0's closest top-k call is 1.4e-4 apart, far above rounding
    assert np.mean([d.mean() for d in differences]) < 1e-4
    assert max(d.max() for d in differences) < 2e-2


@pytest.mark.parametrize(
    ("autocast", "mean_tol", "max_tol"), [(torch.float16, 5e-3, 5e-2), (torch.bfloat16, 2e-2, 0.1)]
)
def test_cuda_autocast_stays_close_to_the_official_outputs(golden_state_dict, autocast, mean_tol, max_tol) -> None:
    for t, diff in enumerate(cuda_differences(golden_state_dict, fast=True, autocast=autocast)):
        assert diff.mean() < mean_tol and diff.max() < max_tol, (t, diff.mean(), diff.max())


# -- the GPU pipeline: whole frames on the device, no waiting inside the step, a session that keeps its frames ------

def _clip(count: int) -> list[np.ndarray]:
    from colormnet.video import VideoReader
    from tests.conftest import CLIPS

    with VideoReader(CLIPS / "realshort.mp4") as reader:
        return [rgb for _, rgb in reader.frames(0, count)]


def _cuda_engine(state_dict) -> InferenceEngine:
    from colormnet.engines.colormnet.model.network import ColorMNet

    network = ColorMNet().eval()
    network.load_state_dict(state_dict)
    return InferenceEngine(network.cuda(), InferenceConfig(mem_every=2))


def test_whole_frame_step_on_cuda_matches_the_numpy_path(golden_state_dict) -> None:
    from colormnet import color
    from colormnet.engines.base import device_composer
    from colormnet.session import process_shape

    clip = _clip(6)
    work = process_shape(*clip[0].shape[:2], 112)
    numpy_path, device_path = _cuda_engine(golden_state_dict), _cuda_engine(golden_state_dict)
    assert device_composer(device_path) is device_path
    exemplar = ExemplarInput(clip[0], "reference")
    for t, rgb in enumerate(clip):
        lightness = color.luminance(rgb)
        ab = numpy_path.step(lightness, exemplar if t == 0 else None, work_size=work).ab
        if t == 0:
            device_path.step(lightness, exemplar, work_size=work)
            continue
        want = color.to_uint8_truncated(color.compose_rgb(lightness, ab))
        frame = device_path.step_rgb(rgb, work_size=work)
        off = np.abs(frame.rgb8.astype(np.int16) - want.astype(np.int16))
        assert off.max() <= 1 and np.mean(off > 0) < 1e-3, (t, off.max(), np.mean(off > 0))
        assert np.array_equal(frame.rgb8, color.to_uint8_truncated(frame.rgb))


def test_the_whole_frame_step_queues_its_work_without_waiting_for_the_gpu(golden_state_dict) -> None:
    clip = _clip(5)
    engine = _cuda_engine(golden_state_dict)
    engine.step(np.full(clip[0].shape[:2], 50, np.float32), ExemplarInput(clip[0], "reference"), work_size=(112, 149))
    engine.launch_rgb(clip[1], work_size=(112, 149)).arrays()  # first use: tables go up to the device
    pending = []
    torch.cuda.set_sync_debug_mode("error")  # any host synchronisation raises
    try:
        for rgb in clip[2:]:
            pending.append(engine.launch_rgb(rgb, work_size=(112, 149)))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    frames = [p.arrays() for p in pending]  # the one wait, per frame, for the finished frame
    assert all(rgb.shape == (240, 320, 3) and rgb8.dtype == np.uint8 for rgb, rgb8 in frames)


def test_a_pipelined_session_on_cuda_gives_the_frames_of_the_numpy_path(random_weights, monkeypatch) -> None:
    import threading

    from colormnet.session import Exemplar, Session, SessionConfig
    from tests.conftest import CLIPS

    clip = _clip(1)

    def colorize() -> list:
        config = SessionConfig(device="cuda", precision="fp32", process_size=112)
        with Session(CLIPS / "realshort.mp4", weights=random_weights, config=config) as session:
            session.set_exemplars([Exemplar(frame=0, image=clip[0], kind="reference")])
            return list(session.colorize(range(12)))

    got = colorize()
    assert all(r.rgb8 is not None for r in got[1:])  # composed on the GPU
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
    monkeypatch.setattr("colormnet.session.run.pipelined", lambda model: False)
    expected = colorize()
    assert [r.index for r in got] == [r.index for r in expected]
    for a, b in zip(got, expected, strict=True):
        off = np.abs(a.to_uint8().astype(np.int16) - b.to_uint8().astype(np.int16))
        assert off.max() <= 1 and np.mean(off > 0) < 1e-3, (a.index, off.max(), np.mean(off > 0))


def test_the_gpu_pipeline_benchmark_runs_on_cuda(random_weights, tmp_path) -> None:
    from benchmarks import gpu_pipeline

    result = gpu_pipeline.main(["--quick", "--device", "cuda", "--weights", str(random_weights)])
    (row,) = result["rows"]
    assert row["model_seconds_per_frame"] > 0 and row["session_seconds_per_frame"] > 0
