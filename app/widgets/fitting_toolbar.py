"""The main toolbar: a label beside each icon that has one where the window has room for them, fewer where it has less.

A toolbar too long for its window hides its last buttons behind the overflow chevron; on a laptop's screen the
labels alone would push the view modes and Settings there. Where the labels do not all fit, they go one by one,
least needed first (:data:`~app.widgets.actions.LABELS_GIVEN_UP`), until every button is in sight (each keeps its
tooltip), and they come back as the window widens.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionEvent, QResizeEvent
from PySide6.QtWidgets import QToolBar, QWidget

from app.widgets.actions import LABELS_GIVEN_UP

_SHOWN = QAction.Priority.NormalPriority
_GIVEN_UP = QAction.Priority.LowPriority  # a toolbar that shows text beside icons leaves it out for these


class FittingToolBar(QToolBar):
    """A toolbar that gives up its buttons' labels, one by one, where they would not all fit.

    Args:
        title: The toolbar's title (its entry in the window's context menu).
        parent: The main window.
    """

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName("main_toolbar")  # the key of its place in the saved window state
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._lengths: list[int] = []  # the toolbar's length with the first k labels given up, for k = 0, 1, ...
        self.orientationChanged.connect(lambda orientation: self._lengths.clear())  # lengths along the other side

    def labelled(self) -> list[list[QAction]]:
        """The toolbar's actions with a label, in groups, in the order their labels are given up."""
        by_name = {action.objectName(): action for action in self.actions()}
        groups = ([by_name[name] for name in group if name in by_name] for group in LABELS_GIVEN_UP)
        return [group for group in groups if group]

    def fit(self) -> None:
        """Show as many labels as there is room for, giving up the least needed first."""
        if not self._lengths:
            self._lengths = self._measure()
        horizontal = self.orientation() == Qt.Orientation.Horizontal
        room = self.width() if horizontal else self.height()
        if self.isFloating():  # a floating toolbar is as long as it needs to be
            room = self._lengths[0]
        given_up = next((k for k, length in enumerate(self._lengths) if length <= room), len(self._lengths) - 1)
        for k, group in enumerate(self.labelled()):
            for action in group:
                priority = _GIVEN_UP if k < given_up else _SHOWN
                if action.priority() != priority:
                    action.setPriority(priority)

    def _measure(self) -> list[int]:
        """The toolbar's length with no label given up, then with each group given up in turn (all are after)."""
        groups = self.labelled()
        for action in (action for group in groups for action in group):
            action.setPriority(_SHOWN)
        lengths = [self._length()]
        for group in groups:
            for action in group:
                action.setPriority(_GIVEN_UP)
            lengths.append(self._length())
        return lengths

    def _length(self) -> int:
        hint = self.sizeHint()
        return hint.width() if self.orientation() == Qt.Orientation.Horizontal else hint.height()

    def actionEvent(self, event: QActionEvent) -> None:  # noqa: N802 (Qt override)
        super().actionEvent(event)
        if event.type() != event.Type.ActionChanged:  # an action came or went: measure again
            self._lengths = []

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.fit()
