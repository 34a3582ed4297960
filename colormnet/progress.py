"""The command line's progress bar (tqdm's, with rate and ETA) and the one way durations are written.

The GUI has its own view of the same figures (``app/progress.py``) and writes durations with
:func:`format_duration` too.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


def format_duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Bar(tqdm):
    """tqdm without its monitor thread: the bar is redrawn on every update, so nothing needs watching."""

    monitor_interval = 0


class ProgressBar:
    """``label:  12%|██▍       | 12/100 [00:04<00:28, 3.10frame/s]`` on one line of ``stream``, told absolute counts.

    Callers report how much is done in all (a frame index, bytes received), not increments. On a terminal it is
    redrawn at most 10 times a second, elsewhere (a log file, a pipe) once a second. A bar never closed (the run was
    interrupted) clears itself instead of drawing a last state after the message that says why it stopped; used
    as a context manager, it clears itself as soon as an exception leaves the block, so that the one-line error
    that follows starts on a clean line.

    Args:
        total: units of work in all; None while unknown (no bar, no ETA).
        label: shown first.
        unit: the unit's name (``frame``, ``B``).
        unit_scale: show counts and rates with SI prefixes (``12.3MB``, ``4.1MB/s``), for bytes.
        stream: where to draw (standard error by default).
    """

    def __init__(self, total: int | None, label: str, *, unit: str = "frame", unit_scale: bool = False,
                 stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        interval = 0.1 if stream.isatty() else 1.0
        self._bar = _Bar(total=total, desc=label, unit=unit, unit_scale=unit_scale, file=stream, leave=False,
                         mininterval=interval, maxinterval=interval, dynamic_ncols=stream.isatty())
        self.last_done: int | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            self._bar.close()  # leave=False until close(): the line is cleared

    @property
    def total(self) -> int | None:
        """Units of work in all (None: unknown)."""
        total = self._bar.total
        return None if total is None else int(total)

    @total.setter
    def total(self, total: int | None) -> None:
        self._bar.total = total

    @property
    def label(self) -> str:
        """The text shown first."""
        return str(self._bar.desc)

    @label.setter
    def label(self, label: str) -> None:
        self._bar.set_description_str(label, refresh=False)

    def update(self, done: int) -> None:
        """Shows ``done`` units finished in all."""
        self.last_done = done
        self._bar.update(done - self._bar.n)

    def close(self, done: int) -> None:
        """Draws the final state and ends the line."""
        self._bar.n = done
        self.last_done = done
        self._bar.leave = True
        self._bar.close()
