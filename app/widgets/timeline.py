"""The timeline: a timecode ruler over a scrubber with exemplar markers, segment bounds, shots (cuts and each shot's
state, see :mod:`app.widgets.shot_track`), in/out points, the colorized band, a strip of thumbnails (built in the
background by :mod:`app.thumbnails`) and the go-to field.

Frame numbers are indices from 0 everywhere (the go-to field, markers, In/Out, the CLI's ``--frames``); counts say
"frames": a 36-frame clip has frames 0–35.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from app import theme
from app.model.shot_list import ShotState
from app.progress import format_timecode
from app.thumbnails import THUMB_HEIGHT
from app.widgets.goto_field import GoToField
from app.widgets.shot_track import STRIP_HEIGHT, paint_shots, shot_at

_MARGIN = 10
_RULER_HEIGHT = 16
_MARKER_TOP = _RULER_HEIGHT + 3
_MARKER_SIZE = 7
_MARKER_GRAB = 5  # pixels either side of a marker that grab it
_TRACK_TOP = _RULER_HEIGHT + 15
_TRACK_HEIGHT = 16
_BAND_HEIGHT = 6
SHOT_STRIP_TOP = _TRACK_TOP + _TRACK_HEIGHT + _BAND_HEIGHT + 4  # where the shot-state strip starts (pixels)
_THUMBS_TOP = SHOT_STRIP_TOP + STRIP_HEIGHT + 4
_BAR_HEIGHT = _THUMBS_TOP + THUMB_HEIGHT + 6
_CACHED = QColor(170, 170, 170)
_IN_OUT = QColor(255, 255, 255, 28)
_LABEL_SPACING = 110  # pixels at least between two ruler labels (a timecode is about 70 wide)
_MINOR_SPACING = 6  # pixels at least between two minor ticks
_SECOND_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
NO_VIDEO = "No video open"  # what the frame row reads while no video is open (no go-to field, no timecode)


def ruler_steps(frame_count: int, fps: float, width: float) -> tuple[int, int]:
    """Frames between two labelled ticks of the ruler and between two minor ticks (0: none).

    Labels go at whole seconds (1, 2, 5, 10, 15, 30 s, minutes...) when a second is wide enough, else at a few
    frames; they stay at least :data:`_LABEL_SPACING` pixels apart.
    """
    per_second = max(1, round(fps))
    px_per_frame = width / max(1, frame_count)
    candidates = [1, 2, 5, 10] + [seconds * per_second for seconds in _SECOND_STEPS]
    major = next((c for c in sorted(candidates) if c * px_per_frame >= _LABEL_SPACING), candidates[-1])
    for parts in (10, 5, 4, 2):
        if major % parts == 0 and major // parts * px_per_frame >= _MINOR_SPACING:
            return major, major // parts
    return major, 0


def cached_runs(colorized: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``[start, stop)`` of consecutive True values."""
    if colorized.size == 0:
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], colorized.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class TimelineBar(QWidget):
    """The painted part of the timeline; click or drag to scrub, drag an exemplar marker to move it."""

    sig_scrubbed = Signal(int)
    """The user picked a frame."""
    sig_marker_moved = Signal(int, int)
    """An exemplar marker was dragged: the exemplar's frame and the frame it was dropped on."""
    sig_marker_menu = Signal(int, QPoint)
    """The context menu was asked for on an exemplar marker: its frame and where (global coordinates)."""
    sig_shot_menu = Signal(int, QPoint)
    """The context menu was asked for on a shot (elsewhere than a marker): the frame under it and where (global)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(_BAR_HEIGHT)
        self.setMaximumHeight(_BAR_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.frame_count = 0
        self.fps = 24.0
        self.current = 0
        self.markers: list[tuple[int, str]] = []  # (frame, kind)
        self.resolved: dict[int, str] = {}  # frame -> what the session uses an ``auto`` exemplar as
        self.segment_starts: list[int] = []
        self.in_out: tuple[int | None, int | None] = (None, None)
        self.shots: list[ShotState] = []
        self._runs: list[tuple[int, int]] = []
        self._scrubbing = False
        self._dragged: tuple[int, int] | None = None  # (marker's frame, frame under the mouse) while one is dragged
        self.thumbnails: dict[int, QImage] = {}

    def set_colorized(self, colorized: np.ndarray) -> None:
        """Show which frames are colorized."""
        self._runs = cached_runs(colorized)
        self.update()

    def set_thumbnails(self, thumbnails: dict[int, QImage]) -> None:
        """Show ``thumbnails`` (frame -> image :data:`~app.thumbnails.THUMB_HEIGHT` pixels high) in the strip."""
        self.thumbnails = dict(thumbnails)
        self.update()

    def thumbnail_tiles(self) -> list[tuple[QRectF, int]]:
        """Where the strip's tiles go at the current width, each with the frame of the thumbnail it shows.

        The strip is tiled edge to edge like a film; each tile shows the thumbnail nearest the frame under its
        centre (none before the first thumbnail is ready).
        """
        if not self.thumbnails or self.frame_count <= 0:
            return []
        frames = sorted(self.thumbnails)
        width = max(8, self.thumbnails[frames[0]].width())
        left, right = float(_MARGIN), float(self.width() - _MARGIN)
        tiles = []
        x = left
        while x < right:
            centre = self.frame_at(x + min(width, right - x) / 2)
            nearest = min(frames, key=lambda f: abs(f - centre))
            tiles.append((QRectF(x, _THUMBS_TOP, min(width, right - x), THUMB_HEIGHT), nearest))
            x += width
        return tiles

    def x_of(self, frame: float) -> float:
        """Horizontal position of the left edge of ``frame``."""
        width = self.width() - 2 * _MARGIN
        return _MARGIN + width * frame / max(1, self.frame_count)

    def frame_at(self, x: float) -> int:
        """The frame under horizontal position ``x`` (clamped)."""
        width = max(1, self.width() - 2 * _MARGIN)
        frame = int((x - _MARGIN) / width * self.frame_count)
        return min(max(0, frame), max(0, self.frame_count - 1))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), theme.WINDOW)
        self._draw_ruler(painter)
        track = QRectF(_MARGIN, _TRACK_TOP, self.width() - 2 * _MARGIN, _TRACK_HEIGHT)
        painter.fillRect(track, theme.BASE)
        if self.frame_count <= 0:
            return
        start, stop = self.in_out
        if start is not None or stop is not None:
            lo = self.x_of(start or 0)
            hi = self.x_of((stop + 1) if stop is not None else self.frame_count)
            painter.fillRect(QRectF(lo, track.top(), hi - lo, track.height()), _IN_OUT)
            painter.setPen(QPen(theme.TEXT, 1))
            for x in (lo if start is not None else None, hi if stop is not None else None):
                if x is not None:
                    painter.drawLine(QPointF(x, track.top() - 2), QPointF(x, track.bottom() + 2))
        band_top = track.bottom() + 2
        for a, b in self._runs:
            x0, x1 = self.x_of(a), self.x_of(b)
            painter.fillRect(QRectF(x0, band_top, max(1.0, x1 - x0), _BAND_HEIGHT), _CACHED)
        painter.setPen(QPen(theme.MID, 1))
        for frame in self.segment_starts:
            x = self.x_of(frame)
            painter.drawLine(QPointF(x, track.top()), QPointF(x, track.bottom()))
        paint_shots(painter, self.shots, self.x_of, track, SHOT_STRIP_TOP)
        self._draw_thumbnails(painter)
        for frame, kind in self.markers:  # hollow: a reference, chosen so or by the session
            shown = self.resolved.get(frame, kind) if kind == "auto" else kind
            self._draw_marker(painter, self.x_of(frame + 0.5), shown)
        if self._dragged is not None and self._dragged[1] != self._dragged[0]:
            painter.setOpacity(0.5)  # where the dragged marker will land
            self._draw_marker(painter, self.x_of(self._dragged[1] + 0.5), "keyframe")
            painter.setOpacity(1.0)
        x = self.x_of(self.current + 0.5)
        painter.setPen(QPen(theme.BRIGHT, 2))
        painter.drawLine(QPointF(x, _TRACK_TOP - 3), QPointF(x, band_top + _BAND_HEIGHT))
        if self.thumbnails:
            painter.drawLine(QPointF(x, _THUMBS_TOP), QPointF(x, _THUMBS_TOP + THUMB_HEIGHT))

    def _draw_thumbnails(self, painter: QPainter) -> None:
        tiles = self.thumbnail_tiles()
        for rect, frame in tiles:
            image = self.thumbnails[frame]
            source = QRectF(0, 0, rect.width(), image.height())  # the last tile is cut, not squeezed
            painter.drawImage(rect, image, source)
        painter.setPen(QPen(theme.WINDOW, 1))
        for rect, _ in tiles:
            painter.drawLine(rect.topLeft(), rect.bottomLeft())

    def _draw_ruler(self, painter: QPainter) -> None:
        if self.frame_count <= 0:
            return
        major, minor = ruler_steps(self.frame_count, self.fps, self.width() - 2 * _MARGIN)
        painter.setPen(QPen(theme.MID, 1))
        for frame in range(0, self.frame_count + 1, minor or major):
            x = self.x_of(frame)
            tall = frame % major == 0
            painter.drawLine(QPointF(x, _RULER_HEIGHT - (7 if tall else 3)), QPointF(x, _RULER_HEIGHT))
        font = painter.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        painter.setPen(QPen(theme.TEXT, 1))
        for frame in range(0, self.frame_count, major):
            x = self.x_of(frame)
            if x + 80 > self.width():
                break  # no label cut off at the right edge
            painter.drawText(QPointF(x + 3, _RULER_HEIGHT - 5), format_timecode(frame, self.fps))

    def ruler_labels(self) -> list[tuple[int, str]]:
        """The ruler's labelled ticks as (frame, timecode) at the current width."""
        major, _ = ruler_steps(self.frame_count, self.fps, self.width() - 2 * _MARGIN)
        if self.frame_count <= 0:
            return []
        return [(f, format_timecode(f, self.fps)) for f in range(0, self.frame_count, major)]

    def _draw_marker(self, painter: QPainter, x: float, kind: str) -> None:
        half = _MARKER_SIZE / 2
        triangle = QPolygonF(
            [QPointF(x - half, _MARKER_TOP), QPointF(x + half, _MARKER_TOP), QPointF(x, _MARKER_TOP + _MARKER_SIZE)]
        )
        painter.setPen(QPen(theme.BRIGHT, 1))
        painter.setBrush(theme.BRIGHT if kind != "reference" else Qt.BrushStyle.NoBrush)
        painter.drawPolygon(triangle)

    def marker_at(self, pos: QPointF) -> int | None:
        """The frame of the exemplar marker at ``pos`` (the marker row, a few pixels either side), if any."""
        if pos.y() > _TRACK_TOP or not self.markers:
            return None
        frame, distance = min(((f, abs(self.x_of(f + 0.5) - pos.x())) for f, _ in self.markers), key=lambda m: m[1])
        return frame if distance <= _MARKER_GRAB else None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() != Qt.MouseButton.LeftButton or self.frame_count <= 0:
            return
        marker = self.marker_at(event.position())
        if marker is not None:
            self._dragged = (marker, marker)
            self.setCursor(Qt.CursorShape.SizeHorCursor)
            return
        self._scrubbing = True
        self.sig_scrubbed.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self.frame_count <= 0:
            return
        frame = self.frame_at(event.position().x())
        if self._dragged is not None:
            self._dragged = (self._dragged[0], frame)
            tip = f"Move the exemplar at frame {self._dragged[0]} to frame {frame}"
            QToolTip.showText(event.globalPosition().toPoint(), tip, self)
            self.update()
            return
        if self._scrubbing:
            self.sig_scrubbed.emit(frame)
        marker = self.marker_at(event.position())
        tip = f"Frame {frame}" if marker is None else (
            f"Exemplar at frame {marker}\nClick to go there, drag to move it; right-click for more")
        shot = shot_at(self.shots, frame)
        if shot is not None:
            tip += "\n" + self.shots[shot].describe(shot + 1)
        QToolTip.showText(event.globalPosition().toPoint(), tip, self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._scrubbing = False
        dragged, self._dragged = self._dragged, None
        if dragged is not None:
            self.unsetCursor()
            self.update()
            if dragged[1] != dragged[0]:
                self.sig_marker_moved.emit(*dragged)
            else:  # a click on a marker, not a drag: go to its frame
                self.sig_scrubbed.emit(dragged[0])

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt override)
        marker = self.marker_at(QPointF(event.pos()))
        if marker is not None:
            self.sig_marker_menu.emit(marker, event.globalPos())
            event.accept()
        elif self.shots:
            self.sig_shot_menu.emit(self.frame_at(event.pos().x()), event.globalPos())
            event.accept()


class Timeline(QWidget):
    """The scrubber with the go-to field, timecode, in/out and colorized readouts above it."""

    sig_scrubbed = Signal(int)
    """The user picked a frame on the timeline or typed one into the go-to field."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = TimelineBar(self)
        self.bar.sig_scrubbed.connect(self.sig_scrubbed)
        self.bar.setToolTip("Click or drag to scrub. Left/Right: one frame, Shift+Left/Right: ten, Home/End, J/K/L")
        self.goto = GoToField(self)
        self.goto.sig_go_to.connect(self.sig_scrubbed)
        self.frame_caption, self.frame_label = QLabel("Frame", self), QLabel(NO_VIDEO, self)
        self.timecode_label = QLabel("", self)
        self.range_label, self.cached_label, self.shot_label = QLabel("", self), QLabel("", self), QLabel("", self)
        self.shot_label.setMinimumWidth(40)  # cut off where the row is narrow (its tooltip says it all), not the field
        for label in (self.frame_label, self.timecode_label, self.shot_label, self.range_label, self.cached_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.setContentsMargins(_MARGIN, 0, _MARGIN, 0)
        row.addWidget(self.frame_caption)
        row.addWidget(self.goto)
        row.addWidget(self.frame_label)
        row.addSpacing(16)
        row.addWidget(self.timecode_label)
        row.addSpacing(16)
        row.addWidget(self.shot_label, 1)
        row.addSpacing(16)
        row.addWidget(self.range_label)
        row.addSpacing(16)
        row.addWidget(self.cached_label)
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        self.set_current(0)  # no video yet

    def add_notice(self, notice: QWidget) -> None:
        """Show ``notice`` (a bar that comes and goes) above the timeline's readouts."""
        self._layout.insertWidget(0, notice)

    def set_video(self, frame_count: int, fps: float) -> None:
        """Set the length and rate of the film."""
        self.bar.frame_count = frame_count
        self.bar.fps = fps
        self.goto.frame_count = frame_count
        self.goto.fps = fps
        self.set_current(0)
        self.set_in_out(*self.bar.in_out)  # an open end of the range is the last frame, known only now

    def set_current(self, frame: int) -> None:
        """Move the playhead."""
        self.bar.current = frame
        count = self.bar.frame_count
        self.goto.show_frame(frame)
        for widget in (self.frame_caption, self.goto, self.timecode_label):  # no video: only "No video open"
            widget.setVisible(count > 0)
        self.goto.setEnabled(count > 0)
        self.frame_label.setText(f"of 0–{count - 1}" if count else NO_VIDEO)
        self.timecode_label.setText(format_timecode(frame, self.bar.fps) if count else "")
        self._update_shot_label()
        self.bar.update()

    def set_shots(self, shots: list[ShotState]) -> None:
        """Show the shots and their states."""
        self.bar.shots = list(shots)
        self._update_shot_label()
        self.bar.update()

    def _update_shot_label(self) -> None:
        shots = self.bar.shots
        k = shot_at(shots, self.bar.current)
        if k is None:
            self.shot_label.setText("")
            self.shot_label.setToolTip("")
            return
        state = shots[k]
        by_hand = " (linked by hand)" if state.how == "linked" else ""
        what = ("own exemplar" if state.own else
                f"borrows frame {state.borrowed}{by_hand}" if state.borrowed is not None else "no exemplar")
        self.shot_label.setText(f"Shot {k + 1} of {len(shots)} · {what}")
        self.shot_label.setToolTip(state.describe(k + 1))

    def set_thumbnails(self, thumbnails: dict[int, QImage]) -> None:
        """Show the film's thumbnails (frame -> image) in the strip under the shots."""
        self.bar.set_thumbnails(thumbnails)

    def set_markers(self, markers: list[tuple[int, str]], segment_starts: list[int]) -> None:
        """Show exemplar markers (frame, kind) and the first frame of each segment."""
        self.bar.markers = list(markers)
        self.bar.segment_starts = list(segment_starts)
        self.bar.update()

    def set_resolved_kinds(self, kinds: dict[int, tuple[str, float]]) -> None:
        """Draw each ``auto`` exemplar as what the session chose it to be (frame -> (kind, similarity))."""
        self.bar.resolved = {frame: kind for frame, (kind, _) in kinds.items()}
        self.bar.update()

    def set_in_out(self, in_point: int | None, out_point: int | None) -> None:
        """Show the in and out points."""
        self.bar.in_out = (in_point, out_point)
        if in_point is None and out_point is None:
            self.range_label.setText("")
        else:
            last = max(0, self.bar.frame_count - 1)
            self.range_label.setText(
                f"In {in_point if in_point is not None else 0} · Out {out_point if out_point is not None else last}"
            )
        self.bar.update()

    def set_colorized(self, colorized: np.ndarray) -> None:
        """Show which frames are colorized."""
        self.bar.set_colorized(colorized)
        total = colorized.size
        self.cached_label.setText(f"Colorized {int(colorized.sum())} of {total} frames" if total else "")
