"""The frame viewer: source and colorized frame side by side, as a wipe, or the colorized frame alone.

Both sides share one zoom and one view centre, so they stay in step while zooming and panning. A frame that is not
colorized yet is drawn as a hatched placeholder with a note, never as an empty or stale image, unless a stand-in is
given for it (a pinned keyframe's own colours, captioned as such). An *override* takes the source's place (and, in
Colorized Only, the colorized frame's): the render from before the last change, or the exemplar pinned to the frame,
compared against the colorized frame side by side or across the wipe. Both are cleared when the next frame comes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app import theme

VIEW_MODES = ("side_by_side", "wipe", "color_only")
_MIN_ZOOM, _MAX_ZOOM = 0.05, 32.0
_ZOOM_STEP = 1.25
_GAP = 6  # pixels between the two panes
_CAPTION_HEIGHT = 22
_DIVIDER_GRAB = 8  # pixels either side of the wipe divider that grab it


class FrameViewer(QWidget):
    """Shows one frame of the film in one of :data:`VIEW_MODES`."""

    sig_files_dropped = Signal(list)
    """Files were dropped on the viewer; carries a list of Paths."""
    sig_image_dropped = Signal(QImage)
    """Image data (not a file) was dropped on the viewer."""
    sig_zoom_changed = Signal(float)
    """The zoom factor changed (1.0 is 100 %)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._source: QImage | None = None
        self._color: QImage | None = None
        self._index = -1
        self._mode = "side_by_side"
        self._fit = True
        self._zoom = 1.0
        self._center = QPointF(0, 0)  # the image point shown at each pane's centre
        self._wipe = 0.5  # divider position as a fraction of the image width
        self._drag_start: QPointF | None = None
        self._drag_center = QPointF(0, 0)
        self._dragging_divider = False
        self._empty_text = "Open a video (Ctrl+O) or drop one here"
        self._scaled: dict[tuple[int, int, int], QImage] = {}  # (image cache key, width, height) -> shrunk copy
        self._stand_in: tuple[QImage, str] | None = None  # shown for a frame not colorized yet, and its caption
        self._override: tuple[QImage, str, str] | None = None  # image, its caption, the colorized frame's caption

    # -- state -------------------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """side_by_side, wipe or color_only."""
        return self._mode

    @property
    def frame_index(self) -> int:
        """The index of the frame shown (-1 for none)."""
        return self._index

    @property
    def has_color(self) -> bool:
        """Whether the colorized frame is shown (not the placeholder)."""
        return self._color is not None

    @property
    def stand_in_caption(self) -> str:
        """The caption of the stand-in shown for a frame not colorized yet ("" when none is shown)."""
        return self._stand_in[1] if self._stand_in is not None and self._color is None else ""

    @property
    def override_caption(self) -> str:
        """The caption of the image shown in the source's place ("" when the source is shown)."""
        return self._override[1] if self._override is not None else ""

    @property
    def zoom(self) -> float:
        """The zoom factor in use (1.0 is 100 %)."""
        return self._effective_zoom()

    @property
    def wipe_position(self) -> float:
        """Where the wipe divider is, as a fraction of the image width."""
        return self._wipe

    def set_frame(self, index: int, source: QImage | None, color: QImage | None) -> None:
        """Show frame ``index``: its grayscale source and its colorized version (None: not colorized yet)."""
        new_size = source is not None and (self._source is None or source.size() != self._source.size())
        self._index, self._source, self._color = index, source, color
        self._stand_in = self._override = None
        if new_size and source is not None:
            self._center = QPointF(source.width() / 2, source.height() / 2)
            self._fit = True
        self.update()

    def set_stand_in(self, image: QImage | None, caption: str = "") -> None:
        """Show ``image`` (scaled to the frame) in place of the placeholder while the frame is not colorized."""
        self._stand_in = (image, caption) if image is not None and not image.isNull() else None
        self.update()

    def set_override(self, image: QImage | None, caption: str = "", color_caption: str = "Colorized") -> None:
        """Show ``image`` (scaled to the frame) where the source goes, captioned ``caption``; the colorized frame is
        then captioned ``color_caption``. In Colorized Only, ``image`` is shown instead of the colorized frame. None
        shows the source again."""
        self._override = (image, caption, color_caption) if image is not None and not image.isNull() else None
        self.update()

    def clear(self, text: str = "Open a video (Ctrl+O) or drop one here") -> None:
        """Show nothing but ``text``."""
        self._index, self._source, self._color = -1, None, None
        self._stand_in = self._override = None
        self._empty_text = text
        self.update()

    def set_mode(self, mode: str) -> None:
        """Switch between side_by_side, wipe and color_only."""
        if mode not in VIEW_MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self._mode = mode
        self.update()

    def set_wipe_position(self, fraction: float) -> None:
        """Put the wipe divider at ``fraction`` of the image width."""
        self._wipe = min(1.0, max(0.0, fraction))
        self.update()

    def fit_to_window(self) -> None:
        """Scale the frame to fit its pane."""
        self._fit = True
        if self._source is not None:
            self._center = QPointF(self._source.width() / 2, self._source.height() / 2)
        self.update()
        self.sig_zoom_changed.emit(self._effective_zoom())

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Set the zoom factor, keeping the image point under ``anchor`` (widget coordinates) in place."""
        zoom = min(_MAX_ZOOM, max(_MIN_ZOOM, zoom))
        if anchor is not None and self._source is not None:
            before = self._to_image(anchor)
            self._fit, self._zoom = False, zoom
            after = self._to_image(anchor)
            self._center += before - after
        else:
            self._fit, self._zoom = False, zoom
        self.update()
        self.sig_zoom_changed.emit(zoom)

    def zoom_in(self) -> None:
        """Zoom in one step."""
        self.set_zoom(self._effective_zoom() * _ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zoom out one step."""
        self.set_zoom(self._effective_zoom() / _ZOOM_STEP)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by ``dx, dy`` widget pixels (both sides move together)."""
        zoom = self._effective_zoom()
        self._center -= QPointF(dx / zoom, dy / zoom)
        self._fit = False
        self._zoom = zoom
        self.update()

    # -- geometry ----------------------------------------------------------------------------------------------

    def panes(self) -> list[QRectF]:
        """The rectangles frames are drawn in (two side by side, else one)."""
        area = QRectF(self.rect()).adjusted(0, _CAPTION_HEIGHT, 0, 0)
        if self._mode == "side_by_side":
            half = (area.width() - _GAP) / 2
            return [
                QRectF(area.left(), area.top(), half, area.height()),
                QRectF(area.left() + half + _GAP, area.top(), half, area.height()),
            ]
        return [area]

    def _effective_zoom(self) -> float:
        if not self._fit or self._source is None:
            return self._zoom
        pane = self.panes()[0]
        return max(_MIN_ZOOM, min(pane.width() / self._source.width(), pane.height() / self._source.height()))

    def image_rect(self, pane: QRectF) -> QRectF:
        """Where the whole frame lands in ``pane`` (widget coordinates)."""
        if self._source is None:
            return QRectF()
        zoom = self._effective_zoom()
        top_left = pane.center() - self._center * zoom
        return QRectF(top_left.x(), top_left.y(), self._source.width() * zoom, self._source.height() * zoom)

    def _pane_at(self, pos: QPointF) -> QRectF:
        panes = self.panes()
        return next((p for p in panes if p.contains(pos)), panes[0])

    def _to_image(self, pos: QPointF) -> QPointF:
        pane = self._pane_at(pos)
        return (pos - pane.center()) / self._effective_zoom() + self._center

    def _divider_x(self) -> float:
        rect = self.image_rect(self.panes()[0])
        return rect.left() + self._wipe * rect.width()

    # -- painting ----------------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.CANVAS)
        if self._source is None:
            painter.setPen(theme.DIM_TEXT)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._empty_text)
            return
        panes = self.panes()
        (left, left_caption), (color, color_caption) = self._panes_shown()
        assert left is not None  # the source, or the image in its place
        if self._mode == "side_by_side":
            self._draw_pane(painter, panes[0], left, left_caption)
            self._draw_pane(painter, panes[1], color, color_caption)
        elif self._mode == "color_only":
            if self._override is not None:
                color, color_caption = left, left_caption
            self._draw_pane(painter, panes[0], color, color_caption)
        else:
            self._draw_wipe(painter, panes[0], left, color, f"{left_caption}  |  {color_caption}")

    @property
    def captions(self) -> tuple[str, str]:
        """The captions of the two side-by-side panes: the source's (or what takes its place) and the colorized
        frame's (or its stand-in's)."""
        (_, left), (_, color) = self._panes_shown()
        return left, color

    def _panes_shown(self) -> tuple[tuple[QImage | None, str], tuple[QImage | None, str]]:
        left, left_caption = self._source, "Source"
        color, color_caption = self._color, "Colorized"
        stand_in = color is None and self._stand_in is not None
        if stand_in:
            color, color_caption = self._stand_in  # type: ignore[misc]
        if self._override is not None:
            left, left_caption, override_color_caption = self._override
            if not stand_in:  # the stand-in keeps its own caption: it is not the colorized frame
                color_caption = override_color_caption
        return (left, left_caption), (color, color_caption)

    def _draw_pane(self, painter: QPainter, pane: QRectF, image: QImage | None, caption: str) -> None:
        painter.save()
        painter.setClipRect(pane)
        target = self.image_rect(pane)
        if image is None:
            self._draw_placeholder(painter, target)
        else:
            self._draw_image(painter, target, image)
        painter.restore()
        self._draw_caption(painter, pane, caption)

    def _draw_wipe(
        self, painter: QPainter, pane: QRectF, source: QImage, color: QImage | None, caption: str
    ) -> None:
        target = self.image_rect(pane)
        x = self._divider_x()
        painter.save()
        painter.setClipRect(QRectF(pane.left(), pane.top(), max(0.0, x - pane.left()), pane.height()))
        self._draw_image(painter, target, source)
        painter.setClipRect(QRectF(x, pane.top(), max(0.0, pane.right() - x), pane.height()))
        if color is None:
            self._draw_placeholder(
                painter, target, target.intersected(QRectF(x, target.top(), target.right() - x, target.height()))
            )
        else:
            self._draw_image(painter, target, color)
        painter.restore()
        painter.setPen(QPen(theme.BRIGHT, 2))
        painter.drawLine(QPointF(x, pane.top()), QPointF(x, pane.bottom()))
        painter.setBrush(theme.BRIGHT)
        painter.drawEllipse(QPointF(x, pane.center().y()), 5, 5)
        self._draw_caption(painter, pane, caption)

    def _draw_image(self, painter: QPainter, target: QRectF, image: QImage) -> None:
        """Draw ``image`` into ``target``: smoothly scaled once per frame and size when shrunk, sharp pixels when
        enlarged more than twice (so single pixels can be inspected)."""
        size = QSize(round(target.width()), round(target.height()))
        if size.width() >= image.width() or size.isEmpty():
            # Enlarged: smooth up to twice the size (a small film fitted to the window), sharp pixels beyond.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, size.width() < 2 * image.width())
            painter.drawImage(target, image)
            return
        key = (image.cacheKey(), size.width(), size.height())
        scaled = self._scaled.get(key)
        if scaled is None:
            shown = (self._source, self._color, *(extra[0] for extra in (self._stand_in, self._override) if extra))
            live = {image.cacheKey() for image in shown if image is not None}
            self._scaled = {k: v for k, v in self._scaled.items() if k[0] in live}
            scaled = image.scaled(
                size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            self._scaled[key] = scaled
        painter.drawImage(target.topLeft(), scaled)

    def _draw_placeholder(self, painter: QPainter, target: QRectF, text_area: QRectF | None = None) -> None:
        painter.fillRect(target, QColor(38, 38, 38))
        painter.fillRect(target, QBrush(QColor(58, 58, 58), Qt.BrushStyle.BDiagPattern))
        painter.setPen(theme.TEXT)
        note = "Not colorized yet" if self._index >= 0 else ""
        painter.drawText(text_area if text_area is not None else target, Qt.AlignmentFlag.AlignCenter, note)

    def _draw_caption(self, painter: QPainter, pane: QRectF, caption: str) -> None:
        painter.setPen(theme.DIM_TEXT)
        strip = QRectF(pane.left(), 0, pane.width(), _CAPTION_HEIGHT)
        painter.drawText(strip, Qt.AlignmentFlag.AlignCenter, caption)

    # -- interaction -------------------------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        steps = event.angleDelta().y() / 120
        if steps and self._source is not None:
            self.set_zoom(self._effective_zoom() * _ZOOM_STEP**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        pos = event.position()
        if self._mode == "wipe" and self._source is not None and abs(pos.x() - self._divider_x()) <= _DIVIDER_GRAB:
            self._dragging_divider = True
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag_start = pos
            self._drag_center = QPointF(self._center)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        pos = event.position()
        if self._dragging_divider:
            rect = self.image_rect(self.panes()[0])
            if rect.width() > 0:
                self.set_wipe_position((pos.x() - rect.left()) / rect.width())
        elif self._drag_start is not None:
            zoom = self._effective_zoom()
            self._fit, self._zoom = False, zoom
            self._center = self._drag_center - (pos - self._drag_start) / zoom
            self.update()
        near = self._mode == "wipe" and self._source is not None and abs(pos.x() - self._divider_x()) <= _DIVIDER_GRAB
        self.setCursor(Qt.CursorShape.SplitHCursor if near or self._dragging_divider else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._drag_start = None
        self._dragging_divider = False

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self.fit_to_window()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self._fit:
            self.sig_zoom_changed.emit(self._effective_zoom())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        files = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if files:
            self.sig_files_dropped.emit(files)
        elif mime.hasImage():
            self.sig_image_dropped.emit(QImage(mime.imageData()))
        event.acceptProposedAction()
