"""Progress of a run as the status bar shows it: frames done, frames per second and time left."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_WINDOW = 12  # updates over which the rate is measured: steady, yet quick to follow a change of speed


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run's progress."""

    done: int
    total: int
    fps: float  # frames per second over the last few frames (0 until two frames are in)
    eta_seconds: float | None  # None until the rate is known

    @property
    def fraction(self) -> float:
        """Share of the run that is done, 0..1."""
        return self.done / self.total if self.total else 1.0


class RunMeter:
    """Measures the rate of a run from the wall-clock times at which its progress counts arrive.

    The session counts every frame it processes, including frames it only decodes and runs to reach the requested
    ones, so the rate and the time left follow the real work.

    Args:
        clock: Time source in seconds (a fake one in tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque(maxlen=_WINDOW + 1)
        self._total = 0
        self._done = 0

    def start(self, total: int = 0) -> Progress:
        """Begin a run (``total`` frames when known; the session's counts refine it)."""
        self._samples.clear()
        self._samples.append((self._clock(), 0))
        self._total = total
        self._done = 0
        return self.progress()

    def update(self, done: int, total: int) -> Progress:
        """Record that ``done`` of ``total`` frames are processed."""
        self._done, self._total = done, total
        self._samples.append((self._clock(), done))
        return self.progress()

    def progress(self) -> Progress:
        """The current snapshot."""
        fps = 0.0
        if len(self._samples) >= 2:
            (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
            fps = (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0
        eta = (self._total - self._done) / fps if fps > 0 else None
        return Progress(self._done, self._total, fps, eta)


def format_duration(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_timecode(frame: int, fps: float) -> str:
    """A frame index as ``hh:mm:ss:ff`` at ``fps`` (rounded to whole frames per second)."""
    per_second = max(1, round(fps))
    seconds, frames = divmod(max(0, frame), per_second)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frames:02d}"
