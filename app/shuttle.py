"""J/K/L shuttle, as in every editing program: J plays backwards, L forwards, K stops; pressing J or L again while
going that way doubles the speed (1x, 2x, 4x, 8x), pressing the other one turns round at 1x. Space plays at 1x.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

SPEEDS = (1, 2, 4, 8)


class Shuttle(QObject):
    """Moves the playhead at a signed multiple of the source's frame rate.

    Args:
        step: Moves the playhead by a number of frames; returns False at either end of the film (the shuttle stops).
        parent: Parent object.
    """

    sig_speed_changed = Signal(int)
    """The speed changed: frames per tick, negative backwards, 0 stopped."""

    def __init__(self, step: Callable[[int], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._step = step
        self.speed = 0
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._on_timer_timeout)

    def set_fps(self, fps: float) -> None:
        """One tick per source frame."""
        self._timer.setInterval(max(1, round(1000 / fps)) if fps > 0 else 40)

    @property
    def interval_ms(self) -> int:
        """Milliseconds between two ticks."""
        return self._timer.interval()

    def forward(self) -> None:
        """L: play forwards, or faster when already going forwards."""
        self._press(1)

    def reverse(self) -> None:
        """J: play backwards, or faster when already going backwards."""
        self._press(-1)

    def play(self) -> None:
        """Play forwards at 1x."""
        self._set(1)

    def stop(self) -> None:
        """K: stop."""
        self._set(0)

    def _press(self, direction: int) -> None:
        magnitude = abs(self.speed)
        if self.speed * direction > 0 and magnitude < SPEEDS[-1]:
            self._set(direction * SPEEDS[SPEEDS.index(magnitude) + 1])
        elif self.speed * direction <= 0:
            self._set(direction)

    def _set(self, speed: int) -> None:
        if speed == self.speed:
            return
        self.speed = speed
        if speed:
            self._timer.start()
        else:
            self._timer.stop()
        self.sig_speed_changed.emit(speed)

    def _on_timer_timeout(self) -> None:
        if not self._step(self.speed):
            self.stop()
