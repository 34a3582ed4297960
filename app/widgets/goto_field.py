"""The go-to field: type a frame number, a timecode or seconds and press Enter to move the playhead there.

While it has the focus, the keys typed into it are text: a line edit claims the shortcut-override of every key it
can insert or edit with, so the window's one-key shortcuts (1/2/3 views, I/O, J/K/L, F, Space) do not fire. Esc
leaves the field: its own shortcut while no run goes on, else the window's Cancel, which the window turns into
leaving the field while the field has the focus (two enabled Esc shortcuts would be ambiguous and neither fire).

No Qt virtual is overridden here: the field reacts through signals only, so nothing calls back into Python while
Qt tears the window down.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLineEdit, QWidget

from app.progress import format_timecode

_TIMECODE = re.compile(r"^(\d+)(?:[:;](\d+)){1,3}$")
_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*s?$")
HELP = "Type a frame number (192), a timecode HH:MM:SS:FF (00:00:08:00) or seconds (12.5s), then Enter."


def parse_position(text: str, fps: float) -> int:
    """The frame index that ``text`` names.

    Plain digits are a frame number; ``HH:MM:SS:FF`` (or ``MM:SS:FF``, ``SS:FF``) a timecode at ``fps`` rounded to
    whole frames per second, as :func:`app.progress.format_timecode` writes it; a number with a decimal point or an
    ``s`` suffix is seconds.

    Raises:
        ValueError: ``text`` is none of these, or a timecode's frames or seconds field is out of range; the message
            is one sentence for the user.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    per_second = max(1, round(fps))
    if _TIMECODE.match(text):
        fields = [int(part) for part in re.split(r"[:;]", text)]
        *clock, frames = fields
        clock = [0] * (3 - len(clock)) + clock
        hours, minutes, seconds = clock
        if frames >= per_second or minutes >= 60 or seconds >= 60:
            raise ValueError(f"{text!r} is not a timecode: minutes and seconds go to 59, frames to {per_second - 1}.")
        return ((hours * 60 + minutes) * 60 + seconds) * per_second + frames
    match = _SECONDS.match(text)
    if match and ("." in text or text.endswith("s")):
        value = float(match.group(1))
        if math.isfinite(value):
            return int(value * fps + 1e-6)
    raise ValueError(f"{text!r} is not a frame number or a timecode. {HELP}")


class GoToField(QLineEdit):
    """Shows the current frame; type a position and press Enter to go there, Esc to give up.

    Args:
        parent: Parent widget.
    """

    sig_go_to = Signal(int)
    """The user asked for this frame (already clamped to the video)."""
    sig_invalid = Signal(str)
    """What the user typed names no frame; carries the one-sentence reason."""
    sig_done = Signal()
    """The user finished with the field (Enter or Esc): focus can go back to the frames."""
    sig_withdrawn = Signal(str)
    """A position was read after all: the last refusal (``sig_invalid``'s text) no longer holds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("goto_field")
        self.setToolTip(HELP)
        self.setPlaceholderText("frame")
        room = self.fontMetrics().horizontalAdvance("00:00:00:00") + 12  # a timecode fits, however narrow the row
        self.setMinimumWidth(room)
        self.setMaximumWidth(max(100, room))
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Ctrl+G or a click: the one-key shortcuts stay usable
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.frame_count = 0
        self.fps = 24.0
        self._current = 0
        self._refusal = ""
        self.returnPressed.connect(self._on_return_pressed)
        self.editingFinished.connect(self._on_editing_finished)
        self.escape = QAction("Leave", self)  # Esc while no run goes on (during one, Esc is the window's Cancel)
        self.escape.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.escape.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.escape.triggered.connect(self.leave)
        self.addAction(self.escape)

    def start_typing(self) -> None:
        """Take the focus with the text selected, so that what is typed replaces it."""
        self.setFocus()
        self.selectAll()

    def leave(self) -> None:
        """Give up what was typed (Esc) and hand the focus back to the frames."""
        self.setText(str(self._current) if self.frame_count else "")
        self.sig_done.emit()

    def show_frame(self, frame: int) -> None:
        """Show ``frame`` (unless the user is typing)."""
        self._current = frame
        if not self.hasFocus():
            self.setText(str(frame) if self.frame_count else "")

    def _on_editing_finished(self) -> None:
        if not self.hasFocus():  # left by a click elsewhere: show the playhead's frame again
            self.setText(str(self._current) if self.frame_count else "")

    def _on_return_pressed(self) -> None:
        try:
            frame = parse_position(self.text(), self.fps)
        except ValueError as exc:
            self._refuse(str(exc))
            self.selectAll()
            return
        last = max(0, self.frame_count - 1)
        if frame > last:
            end = format_timecode(last, self.fps)
            self._refuse(f"Frame {frame} is past the end; the last frame is {last} ({end}).")
            frame = last
        elif self._refusal:
            self.sig_withdrawn.emit(self._refusal)
            self._refusal = ""
        self.sig_go_to.emit(frame)
        self.sig_done.emit()

    def _refuse(self, why: str) -> None:
        self._refusal = why
        self.sig_invalid.emit(why)
