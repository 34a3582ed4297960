"""The command line's progress bar (tqdm's, with rate and ETA) and the one way durations are written.

The GUI has its own view of the same figures (``app/progress.py``) and writes durations with
:func:`format_duration` too.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any, TextIO

from tqdm import tqdm


def format_duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Bar(tqdm):
    """tqdm without its monitor thread: the bar is redrawn on every update, so nothing needs watching.

    Away from a terminal (a log file, a pipe) every redraw stays in the text, so a state already drawn is not drawn
    again: a bar whose first report is its last (a short video) shows one line, not the same line twice.
    """

    monitor_interval = 0

    def __init__(self, *args: Any, terminal: bool, **kwargs: Any) -> None:
        self._terminal = terminal
        self._shown: tuple[float, float | None, str] | None = None  # (count, total, label) last drawn
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        state = (self.n, self.total, self.desc) if msg is None else None
        if state is not None and state == self._shown and not self._terminal:
            return True
        self._shown = state
        return bool(super().display(msg, pos))


_drawn: weakref.WeakSet[ProgressBar] = weakref.WeakSet()  # bars on screen and not yet closed


def clear_bars() -> None:
    """Clears every bar still on screen, so that a message (an error, why the run stopped) starts a clean line."""
    for bar in list(_drawn):
        bar.clear()


class ProgressBar:
    """``label:  12%|██▍       | 12/100 [00:04<00:28, 3.10frame/s]`` on one line of ``stream``, told absolute counts.

    Callers report how much is done in all (a frame index, bytes received), not increments. Nothing is drawn before
    the first report (a detection answered from its cache shows no bar); then it is redrawn at most 10 times a
    second on a terminal, once a second elsewhere (a log file, a pipe). A bar never closed (the run was interrupted)
    clears itself instead of drawing a last state after the message that says why it stopped; used as a context
    manager, it clears itself as soon as an exception leaves the block, so that the one-line error that follows
    starts on a clean line.

    Args:
        total: units of work in all; None while unknown (no bar, no ETA).
        label: shown first.
        unit: the unit's name (``frame``, ``B``).
        unit_scale: show counts and rates with SI prefixes (``12.3M``, ``4.1MB/s``), for bytes.
        stream: where to draw (standard error by default).
    """

    def __init__(self, total: int | None, label: str, *, unit: str = "frame", unit_scale: bool = False,
                 stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._total = total
        self._label = label
        self._unit = unit
        self._unit_scale = unit_scale
        self._bar: _Bar | None = None
        self.last_done: int | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            self.clear()

    def clear(self) -> None:
        """Ends the bar without a last state: its line is cleared (nothing happens to a closed bar)."""
        if self._bar is not None:
            _drawn.discard(self)
            self._bar.close()  # leave=False until close(): the line is cleared

    @property
    def total(self) -> int | None:
        """Units of work in all (None: unknown)."""
        return self._total

    @total.setter
    def total(self, total: int | None) -> None:
        self._total = total
        if self._bar is not None:
            self._bar.total = total

    @property
    def label(self) -> str:
        """The text shown first."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        self._label = label
        if self._bar is not None:
            self._bar.set_description_str(label, refresh=False)

    def update(self, done: int) -> None:
        """Shows ``done`` units finished in all."""
        self.last_done = done
        if self._bar is None:
            terminal = self._stream.isatty()
            interval = 0.1 if terminal else 1.0
            self._bar = _Bar(total=self._total, desc=self._label, unit=self._unit, unit_scale=self._unit_scale,
                             initial=done, file=self._stream, leave=False, mininterval=interval,
                             maxinterval=interval, dynamic_ncols=terminal, terminal=terminal)
            _drawn.add(self)
        else:
            self._bar.update(done - self._bar.n)

    def close(self, done: int) -> None:
        """Draws the final state and ends the line."""
        self.update(done)
        assert self._bar is not None  # update() made it
        _drawn.discard(self)
        self._bar.leave = True
        self._bar.close()
