"""A one-line terminal progress bar with rate and ETA (the CLI's; the GUI has its own view of the same figures)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Redraws ``label [#####.....] 12/100 3.1 fps ETA 0:28`` on one line of ``stream``.

    Args:
        total: units of work in all.
        label: shown first.
        unit: name of the rate's unit (``fps``, ``MB/s``).
        scale: divides done/total for display (e.g. bytes -> MB).
    """

    def __init__(self, total: int | None, label: str, *, unit: str = "fps", scale: float = 1.0,
                 stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.scale = scale
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self.last_done: int | None = None
        self._tty = self.stream.isatty()

    def update(self, done: int, *, force: bool = False) -> None:
        """Shows ``done`` units finished (redrawn at most 10 times a second on a terminal, once a second otherwise)."""
        now = time.perf_counter()
        interval = 0.1 if self._tty else 1.0
        if not force and now - self._last_draw < interval:
            return
        self._last_draw = now
        self.last_done = done
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        shown = f"{done / self.scale:.0f}" if self.scale != 1 else str(done)
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
            total = f"{self.total / self.scale:.0f}" if self.scale != 1 else str(self.total)
            eta = format_duration((self.total - done) / rate) if rate > 0 and done else "--:--"
            line = f"{self.label} [{bar}] {shown}/{total} {rate / self.scale:.2f} {self.unit} ETA {eta}"
        else:
            line = f"{self.label} {shown} {rate / self.scale:.2f} {self.unit}"
        self.stream.write(("\r" + line + "\x1b[K") if self._tty else line + "\n")
        self.stream.flush()

    def close(self, done: int) -> None:
        """Draws the final state (unless already shown) and ends the line."""
        if done != self.last_done:
            self.update(done, force=True)
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()
