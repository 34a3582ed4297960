"""The engine boundary: NumPy in and out, chroma at the size asked for, a per-pixel confidence, and a session that
fuses two passes by it without importing torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colormnet import color
from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput, StepResult
from colormnet.engines.propagate import PropagationEngine
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader
from tests.conftest import CLIPS


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        return [rgb for _, rgb in reader.frames(0, 6)]


def _check(result: StepResult, size: tuple[int, int]) -> np.ndarray:
    """The result's confidence, after checking the chroma's and the confidence's shape, type and range."""
    assert result.ab.shape == (2, *size) and result.ab.dtype == np.float32 and np.isfinite(result.ab).all()
    confidence = result.confidence
    assert confidence is not None and confidence.shape == size and confidence.dtype == np.float32
    assert confidence.min() >= 0.0 and confidence.max() <= 1.0
    return confidence


def test_the_session_package_does_not_import_torch() -> None:
    code = "import sys, colormnet.session; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_session_package_modules_stay_small() -> None:
    package = Path(color.__file__).parent / "session"
    sizes = {path.name: len(path.read_text().splitlines()) for path in package.glob("*.py")}
    assert {"__init__.py", "core.py", "run.py", "fusion.py", "types.py"} <= set(sizes)
    assert max(sizes.values()) < 400, sizes


@pytest.mark.parametrize("size", [(240, 320), (90, 100)], ids=["larger", "smaller"])
def test_propagate_returns_chroma_and_confidence_at_the_size_asked(frames: list[np.ndarray], size) -> None:
    engine = PropagationEngine()
    work = (120, 160)
    keyframe = ExemplarInput(frames[0], "keyframe")
    first = engine.step(color.luminance(frames[0]), keyframe, work_size=work, size=size)
    assert np.array_equal(first.ab, keyframe.lab(*size)[1:])  # the keyframe's own frame: its exemplar's chroma
    assert np.array_equal(_check(first, size), np.ones(size, np.float32))  # and sure of it
    for rgb in frames[1:]:
        confidence = _check(engine.step(color.luminance(rgb), work_size=work, size=size), size)
    assert confidence.mean() > 0.2  # the same scene a few frames on: mostly still traced to the exemplar


def test_colormnet_confidence_is_the_readout_s_top_k_mass(golden_network, frames: list[np.ndarray]) -> None:
    from colormnet.engines.colormnet.inference.engine import InferenceEngine

    engine = InferenceEngine(golden_network, InferenceConfig())
    work, size = (112, 112), (150, 130)
    lightness = [color.luminance(rgb) for rgb in frames[:3]]
    first = engine.step(lightness[0], ExemplarInput(frames[3], "reference"), work_size=work, size=size)
    confidence = _check(first, size)
    assert confidence.min() < 1.0  # some queries spread their attention beyond their top-k
    mass = engine.memory.last_mass
    assert mass is not None and mass.shape == (1, 7, 7)  # one value per query of the key grid (112 / 16)
    assert np.isclose(confidence.mean(), float(mass.mean()), atol=0.1)
    later = engine.step(lightness[1], work_size=work, size=size)
    _check(later, size)

    keyed = InferenceEngine(golden_network, InferenceConfig())
    keyframe = ExemplarInput(frames[0], "keyframe")
    own = keyed.step(lightness[0], keyframe, work_size=work, size=size)
    assert np.array_equal(own.ab, keyframe.lab(*size)[1:]) and np.array_equal(_check(own, size), np.ones(size))
    _check(keyed.step(lightness[1], work_size=work, size=size), size)


class _SplitConfidenceBackend:
    """Engines that colour a frame from the red exemplar with a' = +0.1 and from the blue one with a' = -0.1, the
    red pass sure of the left half and the blue pass of the right half (or without confidence)."""

    name = "split"
    device = "cpu"
    is_random = True

    def __init__(self, with_confidence: bool) -> None:
        self.with_confidence = with_confidence
        self.fingerprint = f"split:{with_confidence}"

    def release_memory(self) -> None:
        pass

    def new_engine(self, config):
        backend = self

        class Engine:
            sign = 0.0

            def step(self, lightness, exemplar=None, *, end=False, work_size=None, size=None):
                if exemplar is not None:
                    self.sign = 1.0 if exemplar.image[..., 0].mean() > exemplar.image[..., 2].mean() else -1.0
                ab = np.zeros((2, *size), np.float32)
                ab[0] = 0.1 * self.sign
                if not backend.with_confidence:
                    return StepResult(ab)
                confidence = np.zeros(size, np.float32)
                half = size[1] // 2
                confidence[:, :half] = 1.0 if self.sign > 0 else 0.0
                confidence[:, half:] = 0.0 if self.sign > 0 else 1.0
                return StepResult(ab, confidence)

        return Engine()


def _blend_a(realshort: Path, with_confidence: bool) -> tuple[float, float]:
    """Mean a* of the left and right halves of the frame midway between a red and a blue exemplar."""
    red = np.zeros((24, 32, 3), np.float32)
    red[..., 0], red[..., 1:] = 0.8, 0.2
    blue = red[..., ::-1].copy()
    with Session(realshort, config=SessionConfig(process_size=120, transition="blend")) as session:
        session._model = _SplitConfidenceBackend(with_confidence)  # type: ignore[assignment]
        session.set_exemplars([Exemplar(0, red, kind="reference"), Exemplar(35, blue, kind="reference")])
        (result,) = list(session.colorize([18]))
    a = color.rgb_to_lab(result.rgb)[..., 1]
    half = a.shape[1] // 2
    return float(a[:, : half - 8].mean()), float(a[:, half + 8 :].mean())


def test_blend_fusion_follows_the_engine_s_confidence(realshort: Path) -> None:
    left, right = _blend_a(realshort, with_confidence=True)
    assert left > 5.0 and right < -5.0  # each half from the pass that is sure of it
    plain_left, plain_right = _blend_a(realshort, with_confidence=False)
    assert abs(plain_left - plain_right) < 1.0 and abs(plain_left) < 5.0  # by position alone: an even mix midway


@pytest.mark.parametrize(
    ("device", "raised", "expected"),
    [("cuda", "oom", "DeviceOutOfMemoryError"), ("cpu", "oom", "InferenceError"),
     ("cuda", "runtime", "InferenceError")],
)
def test_torch_engines_map_device_failures_to_the_library_s_errors(device: str, raised: str, expected: str) -> None:
    import torch

    from colormnet.engines.tensors import device_errors
    from colormnet.errors import DeviceOutOfMemoryError, InferenceError

    error = torch.cuda.OutOfMemoryError("CUDA out of memory") if raised == "oom" else RuntimeError("bad kernel")
    with pytest.raises(InferenceError) as caught, device_errors(torch.device(device)):
        raise error
    # only a GPU's own out-of-memory asks the session to retry smaller; anything else is one line for the user
    assert isinstance(caught.value, DeviceOutOfMemoryError) == (expected == "DeviceOutOfMemoryError")
    assert "\n" not in str(caught.value)
