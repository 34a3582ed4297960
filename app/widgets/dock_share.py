"""A side dock that keeps its share of the window's width.

A :class:`~PySide6.QtWidgets.QMainWindow` gives all the width a resize adds or takes to its central widget, so a
dock beside it stays as narrow as it started however large the window grows. :class:`DockShare` resizes the dock
with the window instead, in proportion: a dock a fifth as wide as the window stays a fifth as wide, and the central
widget keeps the rest. The share is the one the user chose: the width the dock has when the window first shows (the
saved layout's, once restored), and afterwards whatever width the user drags the dock to. A smaller window
does not squeeze the dock below the width its contents ask for (or below the user's, if they chose a narrower one).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow

_SIDE_AREAS = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)


class DockShare(QObject):
    """Resizes ``dock`` with ``window``, keeping its width a constant share of the window's.

    Args:
        window: The main window.
        dock: One of its dock widgets; followed while it is docked on the left or the right.
    """

    def __init__(self, window: QMainWindow, dock: QDockWidget) -> None:
        super().__init__(window)
        self._window = window
        self._dock = dock
        self._share: float | None = None  # dock width / window width, once known
        self._chosen = 0  # the dock's width when the share was set
        self._window_width = window.width()  # the width the share was last applied at
        self._asked: int | None = None  # the dock width last asked for
        window.installEventFilter(self)
        dock.installEventFilter(self)

    @property
    def share(self) -> float | None:
        """The dock's share of the window's width (None until the window has been resized once)."""
        return self._share

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Show and watched is self._window and self._share is None:
            QTimer.singleShot(0, self._on_window_shown)  # once laid out at the size it shows at
        if event.type() == QEvent.Type.Resize and isinstance(event, QResizeEvent):
            if watched is self._window:
                self._on_window_resized(event.oldSize().width())
            elif watched is self._dock:
                self._on_dock_resized()
        return False

    def _beside(self) -> bool:
        """Whether the dock stands beside the central widget (not floating, hidden, above or below it)."""
        dock = self._dock
        return dock.isVisible() and not dock.isFloating() and self._window.dockWidgetArea(dock) in _SIDE_AREAS

    def _on_window_shown(self) -> None:
        """The share is the dock's as the window first shows it (the saved layout's): on a system that resizes a
        window's children before telling the window, a first resize that squeezes the dock would set it too low."""
        if self._share is None and self._window.width() > 0 and self._beside():
            self._choose(self._dock.width(), self._window.width())
            self._window_width = self._window.width()

    def _on_window_resized(self, old_width: int) -> None:
        width = self._window.width()
        if self._share is None and old_width > 0 and self._beside():
            self._choose(self._dock.width(), old_width)
        self._window_width = width
        if self._share is not None and self._beside():
            least = min(self._chosen, self._dock.sizeHint().width())
            self._asked = max(least, round(self._share * width))
            self._window.resizeDocks([self._dock], [self._asked], Qt.Orientation.Horizontal)

    def _on_dock_resized(self) -> None:
        """The user dragging the dock's edge (or moving the dock with the mouse) sets its share."""
        width = self._dock.width()
        dragged = QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton
        if dragged and width != self._asked and self._window.width() == self._window_width and self._beside():
            self._choose(width, self._window_width)

    def _choose(self, dock_width: int, window_width: int) -> None:
        self._chosen = dock_width
        self._share = dock_width / window_width
