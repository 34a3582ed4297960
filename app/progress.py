"""Progress of a run as the status bar shows it: frames done, frames per second and time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from colormnet.progress import format_duration as format_duration  # re-exported: the one way durations are written

_SMOOTHING = 0.25  # weight of the newest interval in the moving average of seconds per step


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run's progress.

    The session counts *steps*: every frame the engine computes, including frames between an exemplar and the
    requested range (computed only to reach it) and an exemplar's own frame, which runs in both directions. The
    frames of the range are the ones the user asked for.
    """

    done: int  # steps computed so far
    total: int  # steps the run computes in all
    fps: float  # steps per second, smoothed (0 until known)
    eta_seconds: float | None  # None until the rate is known
    frames_done: int = 0  # frames of the requested range delivered so far
    frames_total: int = 0  # frames of the requested range (the ones not cached yet)

    @property
    def fraction(self) -> float:
        """Share of the run that is done, 0..1."""
        return self.done / self.total if self.total else 1.0

    @property
    def extra_steps(self) -> int:
        """Steps beyond the frames of the range (frames reached from the exemplar, or computed twice)."""
        return max(0, self.total - self.frames_total) if self.frames_total else 0


class RunMeter:
    """Measures the rate of a run from the wall-clock times at which its progress counts arrive.

    The time up to the first frame holds the model's loading and warm-up, so it is left out; after it, the rate is an
    exponential moving average of seconds per step, steady yet quick to follow a change of speed.

    Args:
        clock: Time source in seconds (a fake one in tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, int] | None = None  # time and step count of the last update
        self._seconds_per_step: float | None = None
        self._total = 0
        self._done = 0
        self._frames_total = 0
        self._frames_done = 0

    def start(self, frames: int = 0) -> Progress:
        """Begin a run of ``frames`` requested frames (the session's counts give the steps)."""
        self._last = None
        self._seconds_per_step = None
        self._total = self._done = self._frames_done = 0
        self._frames_total = frames
        return self.progress()

    def update(self, done: int, total: int) -> Progress:
        """Record that one more requested frame arrived, with ``done`` of ``total`` steps computed."""
        self.step(done, total)
        self._frames_done += 1
        return self.progress()

    def step(self, done: int, total: int) -> Progress:
        """Record that ``done`` of ``total`` steps are computed, with no requested frame among the new ones (the
        frames computed only to reach the range); a count already recorded changes nothing, and a smaller one starts
        the count of another run (an export colorizes segment by segment)."""
        now = self._clock()
        last = self._last
        if last is not None and done == last[1]:
            return self.progress()
        if last is not None and done > last[1] and now > last[0]:
            sample = (now - last[0]) / (done - last[1])
            previous = self._seconds_per_step
            self._seconds_per_step = sample if previous is None else previous + _SMOOTHING * (sample - previous)
        self._last = (now, done)
        self._done, self._total = done, total
        return self.progress()

    def progress(self) -> Progress:
        """The current snapshot."""
        rate = self._seconds_per_step
        fps = 1.0 / rate if rate else 0.0
        eta = (self._total - self._done) * rate if rate else None
        return Progress(self._done, self._total, fps, eta, self._frames_done, self._frames_total)


class ExportMeter:
    """An export's progress as one count, frames written of frames to write, with the rate measured over the export.

    An export colorizes the frames it misses segment by segment, each run with counts of its own; the frames written
    alone tell how long the whole export has left.

    Args:
        clock: Time source in seconds (a fake one in tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._meter = RunMeter(clock)

    def start(self) -> None:
        """Begin an export."""
        self._meter.start()

    def written(self, written: int, total: int) -> Progress:
        """Record that ``written`` of ``total`` frames are written; the time up to the first (the model's loading,
        the first frames' colorizing) is left out of the rate, as :class:`RunMeter` leaves out its warm-up."""
        measured = self._meter.step(written, total) if written else self._meter.start()
        return Progress(written, total, measured.fps, measured.eta_seconds)


def format_timecode(frame: int, fps: float) -> str:
    """A frame index as ``hh:mm:ss:ff`` at ``fps`` (rounded to whole frames per second)."""
    per_second = max(1, round(fps))
    seconds, frames = divmod(max(0, frame), per_second)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frames:02d}"
