"""Where a gradual transition may be: the frames the learned detector must look at when it runs beside the classic one.

TransNetV2 costs about 30 ms of CPU per frame, ten times the whole budget of a 300 fps pass on 2 cores, and the
default detector takes from it only the gradual transitions (PySceneDetect finds the cuts and the fades through
black). So it runs only on the stretches where the picture could be passing from one shot to another gradually:

A dissolve (or a fade) mixes two pictures, ``f(t) = (1 - a) A + a B`` with ``a`` rising across it, so inside one,
frame ``t`` is a blend of frames ``t - h`` and ``t + h`` with positive weights; motion, the other way pictures
change, moves the picture and is no blend of its past and future. Frame ``t`` is a candidate when, for one span
``h`` of :data:`SPANS`:

* frames ``t - h`` and ``t + h`` differ by at least :data:`MIN_CHANGE`, the least change PySceneDetect's
  AdaptiveDetector takes for a cut (a transition changes the picture as much as a cut does, only spread out), and
* the least-squares blend ``x f(t - h) + y f(t + h) + z`` with ``x, y > 0`` leaves at most :data:`BLEND_RESIDUAL`
  of that change unexplained.

Only runs of more than :data:`MIN_RUN` candidate frames count, since a transition lasts
longer than a cut. The frames are the 48x27 luminance the network itself sees. This decides only where the network
runs; what is a transition is still the network's decision, and where it runs its scores are those of a full pass.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: Half-spans ``h`` (frames) over which a frame is tested as a blend of its neighbours: transitions of about 4 to
#: 32 frames are seen whole by one of them, longer ones in part.
SPANS = (2, 4, 8, 16)
#: AdaptiveDetector's ``min_content_val`` (mean absolute difference of 8-bit luma): less change is never a cut.
MIN_CHANGE = 15.0
#: Largest mean residual of the blend fit, as a fraction of the change between the two ends.
BLEND_RESIDUAL = 0.25
#: A run of candidates must be longer than this many frames (a cut's run in the learned detector).
MIN_RUN = 2


def blend_residual(before: np.ndarray, middle: np.ndarray, after: np.ndarray) -> float | None:
    """Mean residual of ``middle`` fitted as ``x before + y after + z`` (x, y > 0), as a fraction of the mean
    difference of ``after`` and ``before``; None when the ends differ by less than :data:`MIN_CHANGE` or a weight
    is not positive. Arrays: HxW float32."""
    change = float(np.abs(after - before).mean())
    if change < MIN_CHANGE:
        return None
    nearest = min(float(np.abs(middle - before).mean()), float(np.abs(middle - after).mean()))
    if nearest <= BLEND_RESIDUAL * change:  # one end alone explains it as well as a blend may: no evidence of one
        return None
    a, b, m = before.ravel(), after.ravel(), middle.ravel()
    ones = float(a.size)
    sa, sb = float(a.sum()), float(b.sum())
    normal = np.array([[a @ a, a @ b, sa], [a @ b, b @ b, sb], [sa, sb, ones]], dtype=np.float64)
    rhs = np.array([a @ m, b @ m, float(m.sum())], dtype=np.float64)
    try:
        x, y, z = np.linalg.solve(normal, rhs)
    except np.linalg.LinAlgError:  # a flat end: no blend to fit
        return None
    if x <= 0 or y <= 0:
        return None
    return float(np.abs(x * a + y * b + z - m).mean()) / change


class TransitionGate:
    """Consumes the small frames in order and tells which frame ranges may hold a gradual transition."""

    def __init__(self) -> None:
        span = max(SPANS)
        self._recent: deque[np.ndarray] = deque(maxlen=2 * span + 1)  # frames newest - 2*span .. newest
        self._candidate: list[bool] = []  # per frame, decided once the frame span frames later has arrived
        self._count = 0
        self._runs: list[tuple[int, int]] = []  # runs of candidates longer than MIN_RUN, [a, b)
        self._run_start: int | None = None

    @property
    def decided(self) -> int:
        """Frames ``[0, decided)`` have been tested."""
        return len(self._candidate)

    def push(self, small: np.ndarray) -> None:
        """Takes the next frame (HxW luminance at the network's size)."""
        self._recent.append(small.astype(np.float32))
        self._count += 1
        span = max(SPANS)
        middle = self._count - 1 - span  # the frame whose spans have all arrived now
        if middle >= 0:
            self._decide(middle)

    def finish(self) -> None:
        """Decides the last frames with the spans that fit before the end."""
        span = max(SPANS)
        for middle in range(max(0, self._count - span), self._count):
            self._decide(middle)
        self._close_run(self._count)

    def _decide(self, t: int) -> None:
        frames = list(self._recent)
        newest = self._count - 1
        found = False
        for h in SPANS:
            if t - h < 0 or t + h > newest:
                continue
            residual = blend_residual(frames[t - h - newest - 1], frames[t - newest - 1], frames[t + h - newest - 1])
            if residual is not None and residual <= BLEND_RESIDUAL:
                found = True
                break
        self._candidate.append(found)
        if found and self._run_start is None:
            self._run_start = t
        elif not found:
            self._close_run(t)

    def _close_run(self, stop: int) -> None:
        if self._run_start is not None and stop - self._run_start > MIN_RUN:
            self._runs.append((self._run_start, stop))
        self._run_start = None

    def wants(self, start: int, stop: int, margin: int) -> bool:
        """Whether a candidate run comes within ``margin`` frames of ``[start, stop)`` (judged on what is decided)."""
        low, high = start - margin, stop + margin
        runs = list(self._runs)
        if self._run_start is not None and len(self._candidate) - self._run_start > MIN_RUN:
            runs.append((self._run_start, len(self._candidate)))
        return any(a < high and low < b for a, b in runs)
