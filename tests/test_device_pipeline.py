"""The GPU pipeline's device side, run on the CPU device: colour on the device against NumPy, the engine's
whole-frame step against its step plus NumPy's composition, and a session with the pipeline switched on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from colormnet import color
from colormnet.config import InferenceConfig
from colormnet.engines import device_color
from colormnet.engines.base import ExemplarInput, device_composer
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.errors import InferenceError
from colormnet.session import Exemplar, Session, SessionConfig, process_shape
from colormnet.video import VideoReader


def read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "read-ahead"]


def lsb_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.fixture(scope="module")
def clip(realshort: Path) -> list[np.ndarray]:
    with VideoReader(realshort) as reader:
        return [rgb for _, rgb in reader.frames(0, 4)]


def test_luminance_on_the_device_equals_numpy() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    rgb[0, :, :] = np.arange(131)[:, None] * 2  # grays down to black, through the linear segment
    expected = color.luminance(rgb)
    got = device_color.luminance(torch.from_numpy(rgb)).numpy()
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-5
    assert np.mean(got == expected) > 0.99  # the same float32 but for a rare last bit


def test_composition_on_the_device_matches_numpy_to_one_lsb() -> None:
    rng = np.random.default_rng(1)
    lightness = (rng.random((120, 160)) * 100).astype(np.float32)
    ab = ((rng.random((2, 120, 160)) - 0.5) * 2.2).astype(np.float32)  # out of gamut too: clipped on both paths
    ab[:, :4] = 0  # grays
    expected = color.compose_rgb(lightness, ab)
    got = device_color.compose_rgb(torch.from_numpy(lightness), torch.from_numpy(ab))
    assert got.dtype == torch.float32 and tuple(got.shape) == expected.shape
    assert np.abs(got.numpy() - expected).max() <= 1e-6
    eight = device_color.to_uint8_truncated(got).numpy()
    assert np.array_equal(eight, color.to_uint8_truncated(got.numpy()))  # truncated exactly as NumPy truncates
    off = lsb_difference(eight, color.to_uint8_truncated(expected))
    assert off.max() <= 1 and off.mean() < 1e-3


def run_engines(network, clip: list[np.ndarray], work: tuple[int, int]) -> tuple[list[np.ndarray], list]:
    """The same frames through the NumPy path (step, then compose_rgb) and through step_rgb."""
    exemplar = ExemplarInput(clip[0], "reference")
    numpy_path = InferenceEngine(network, InferenceConfig(mem_every=2))
    device_path = InferenceEngine(network, InferenceConfig(mem_every=2))
    expected, got = [], []
    for t, rgb in enumerate(clip):
        lightness = color.luminance(rgb)
        end = t == len(clip) - 1
        ab = numpy_path.step(lightness, exemplar if t == 0 else None, end=end, work_size=work).ab
        expected.append(color.to_uint8_truncated(color.compose_rgb(lightness, ab)))
        if t == 0:
            device_path.step(lightness, exemplar, work_size=work)
            continue
        got.append(device_path.step_rgb(rgb, end=end, work_size=work))
    return expected[1:], got


def test_whole_frame_step_matches_the_numpy_path(golden_network, clip: list[np.ndarray]) -> None:
    height, width = clip[0].shape[:2]
    work = process_shape(height, width, 112)
    assert work != (height, width)  # the chroma is upsampled on the device
    expected, got = run_engines(golden_network, clip[:3], work)
    for want, frame in zip(expected, got, strict=True):
        assert frame.rgb.dtype == np.float32 and frame.rgb.shape == (height, width, 3)
        assert np.array_equal(frame.rgb8, color.to_uint8_truncated(frame.rgb))
        off = lsb_difference(frame.rgb8, want)
        assert off.max() <= 1 and np.mean(off > 0) < 1e-3, (off.max(), np.mean(off > 0))


def test_whole_frame_step_is_not_for_the_first_frame(golden_network) -> None:
    engine = InferenceEngine(golden_network, InferenceConfig())
    with pytest.raises(InferenceError):
        engine.step_rgb(np.zeros((112, 112, 3), np.uint8))
    assert device_composer(engine) is None  # on the CPU the session composes in NumPy


@pytest.fixture
def pipeline_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU pipeline (read-ahead thread, composition by the engine) switched on for the CPU device."""
    monkeypatch.setattr("colormnet.session.run.pipelined", lambda model: True)
    monkeypatch.setattr(InferenceEngine, "composes_on_device", True)


def colorize(video: Path, weights: Path, clip: list[np.ndarray], transition: str) -> list[tuple[int, np.ndarray]]:
    config = SessionConfig(process_size=84, transition=transition)  # type: ignore[arg-type]
    with Session(video, weights=weights, config=config) as session:
        session.set_exemplars([Exemplar(frame=0, image=clip[0], kind="reference"),
                               Exemplar(frame=2, image=clip[2], kind="keyframe")])
        return [(r.index, r.to_uint8()) for r in session.colorize(range(4))]


def test_a_session_with_the_pipeline_gives_the_frames_of_the_numpy_path(
        realshort: Path, random_weights: Path, clip: list[np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    # frames 0-2 blend a forward and a backward pass (stashed, fused), frame 3 goes straight to the caller
    expected = colorize(realshort, random_weights, clip, "blend")
    composed: list[int] = []
    step_rgb = InferenceEngine.step_rgb

    def counted(self, rgb, **kwargs):
        composed.append(1)
        return step_rgb(self, rgb, **kwargs)

    monkeypatch.setattr("colormnet.session.run.pipelined", lambda model: True)
    monkeypatch.setattr(InferenceEngine, "composes_on_device", True)
    monkeypatch.setattr(InferenceEngine, "step_rgb", counted)
    got = colorize(realshort, random_weights, clip, "blend")
    assert read_ahead_threads() == []  # each run's read-ahead thread is gone
    assert [i for i, _ in got] == [i for i, _ in expected]
    assert composed == [1]  # frame 3, composed by the engine
    for (_, want), (_, frame) in zip(expected, got, strict=True):
        off = lsb_difference(frame, want)
        assert off.max() <= 1 and np.mean(off > 0) < 1e-3


@pytest.mark.usefixtures("pipeline_on")
def test_leaving_a_pipelined_session_early_leaves_no_thread(realshort: Path, random_weights: Path,
                                                            clip: list[np.ndarray]) -> None:
    cancel = threading.Event()
    with Session(realshort, weights=random_weights, config=SessionConfig(process_size=84)) as session:
        session.set_exemplars([Exemplar(frame=0, image=clip[0], kind="reference")])
        results = session.colorize(range(12), cancel=cancel)
        next(results)
        assert len(read_ahead_threads()) == 1  # decoding ahead
        cancel.set()
        assert list(results) == []
        assert read_ahead_threads() == []


@pytest.mark.usefixtures("pipeline_on")
def test_closing_a_session_stops_the_decoding_of_a_dropped_run(realshort: Path, random_weights: Path,
                                                               clip: list[np.ndarray]) -> None:
    session = Session(realshort, weights=random_weights, config=SessionConfig(process_size=84))
    session.set_exemplars([Exemplar(frame=0, image=clip[0], kind="reference")])
    results = session.colorize(range(12))
    next(results)
    assert len(read_ahead_threads()) == 1
    session.close()  # the generator is still open: its run's thread must not outlive the video
    assert read_ahead_threads() == []
    results.close()
