"""Where the main window opens: at its default size, cut down to the screen it opens on, or where it was last, brought
back onto the screen when that place no longer fits (a laptop undocked from the monitor the window was last on)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize
from PySide6.QtWidgets import QStyle, QWidget

DEFAULT_SIZE = QSize(1400, 860)
_FRAME_BORDER = 4  # px the window manager may draw around a window (unknown until it is shown), besides a title bar


def fit_rect(rect: QRect, available: QRect) -> QRect:
    """``rect`` no larger than ``available`` and moved inside it, as little as it takes."""
    size = rect.size().boundedTo(available.size())
    left = min(max(rect.left(), available.left()), available.left() + available.width() - size.width())
    top = min(max(rect.top(), available.top()), available.top() + available.height() - size.height())
    return QRect(QPoint(left, top), size)


def place_window(window: QWidget, saved: QByteArray | None) -> None:
    """Give ``window`` the ``saved`` geometry of an earlier run, or the default size on a first start, either kept
    within the available geometry (less panels and docks) of the screen it opens on.

    Call before the window is shown: the window manager has not framed it yet, so room is left for a frame.
    """
    first = saved is None or not window.restoreGeometry(saved)
    if first:
        window.resize(DEFAULT_SIZE)
    if window.isMaximized() or window.isFullScreen():  # the screen's own size: nothing spills
        return
    available = window.screen().availableGeometry()
    title_bar = window.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight)
    frame = window.geometry().adjusted(-_FRAME_BORDER, -title_bar, _FRAME_BORDER, _FRAME_BORDER)
    if first:  # the middle of the screen, where a window manager would put it
        frame.moveCenter(available.center())
    fitted = fit_rect(frame, available)
    if fitted.size() == frame.size() and (first or fitted == frame):
        return  # fits as it is (on a first start the window manager places it)
    window.resize(fitted.size() - (frame.size() - window.size()))
    window.move(fitted.topLeft())  # move() places the frame
