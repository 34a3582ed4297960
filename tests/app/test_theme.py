"""The dark theme: the toolbar's overflow chevron, a dock's title-bar buttons and the keyboard focus ring stand out
from the grays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStyle,
    QStyleOptionFocusRect,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.icons import icon

_VISIBLE = 150  # the least gray value of a mark that is to be seen at a glance on the theme's grays (at most 52)


@pytest.fixture
def dark_theme(qapp: QApplication) -> Iterator[QApplication]:
    """The app's theme for one test; the style, palette and style sheet of before afterwards."""
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    theme.apply_dark_theme(qapp)
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)


def _brightest(image: QImage, rect: QRect | None = None) -> int:
    area = rect if rect is not None else image.rect()
    return max(image.pixelColor(x, y).value() for x in range(area.left(), area.right() + 1)
               for y in range(area.top(), area.bottom() + 1))


def test_the_toolbar_overflow_chevron_is_light(qtbot: object, dark_theme: QApplication) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    toolbar = window.addToolBar("Main")
    for k in range(20):
        toolbar.addAction(QAction(icon("pin_frame"), f"Action {k}", window))
    window.resize(300, 200)
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    chevron = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert chevron is not None and chevron.isVisible()
    assert _brightest(chevron.grab().toImage()) >= _VISIBLE


def test_a_docks_float_and_close_buttons_are_light(qtbot: object, dark_theme: QApplication) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    dock = QDockWidget("Exemplars", window)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetFloatable | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    dock.setWidget(QWidget())
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    for name in ("qt_dockwidget_floatbutton", "qt_dockwidget_closebutton"):
        button = dock.findChild(QAbstractButton, name)
        assert button is not None and button.isVisible()
        assert _brightest(button.grab().toImage()) >= _VISIBLE, name


def _ring(state: QStyle.StateFlag) -> QImage:
    """PE_FrameFocusRect drawn on the window gray with ``state``."""
    image = QImage(60, 30, QImage.Format.Format_RGB32)
    image.fill(theme.WINDOW)
    option = QStyleOptionFocusRect()
    option.rect = QRect(5, 5, 50, 20)
    option.state = state
    painter = QPainter(image)
    QApplication.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter)
    painter.end()
    return image


def test_the_focus_ring_is_drawn_in_the_focus_gray_after_keyboard_moves_only(dark_theme: QApplication) -> None:
    keyboard = _ring(QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange)
    assert keyboard.pixelColor(5, 15) == theme.FOCUS and keyboard.pixelColor(30, 5) == theme.FOCUS
    assert keyboard.pixelColor(30, 15) == theme.WINDOW  # a ring, not a fill
    assert _brightest(_ring(QStyle.StateFlag.State_HasFocus)) == theme.WINDOW.value()  # none after a click


def test_tabbing_rings_each_widget_it_reaches(qtbot: object, dark_theme: QApplication) -> None:
    """Push buttons, combo boxes, text fields and tool buttons, which Fusion outlines in a gray near the window's."""
    form = QWidget()
    qtbot.addWidget(form)  # type: ignore[attr-defined]
    button = QPushButton("Colorize", form)  # the tab order is the order they are made in
    combo = QComboBox(form)
    combo.addItems(["Keyframe", "Reference"])
    field = QLineEdit("42", form)
    tool = QToolButton(form)
    tool.setDefaultAction(QAction(icon("pin_frame"), "Pin", form))
    tool.setAutoRaise(True)
    reached: list[QWidget] = [button, combo, field, tool]
    layout = QVBoxLayout(form)
    for widget in reached:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout.addWidget(widget)
    form.show()
    qtbot.waitExposed(form)  # type: ignore[attr-defined]
    form.activateWindow()
    reached[-1].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is reached[-1])  # type: ignore[attr-defined]
    for widget in reached:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # type: ignore[attr-defined]
        assert QApplication.focusWidget() is widget
        image = widget.grab().toImage()
        left_edge = [image.pixelColor(1, y) for y in range(2, image.height() - 2)]
        assert left_edge.count(theme.FOCUS) >= len(left_edge) // 2, type(widget).__name__


def test_a_checked_tool_button_reads_at_a_glance(qtbot: object, dark_theme: QApplication) -> None:
    """Before/Now, Follow and the view modes are toggles: checked, the face is a lighter gray with a light edge."""
    window = QMainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    toolbar = window.addToolBar("Main")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    buttons = []
    for checked in (True, False):
        action = QAction(icon("compare_before"), "Before/Now", window)
        action.setCheckable(True)
        action.setChecked(checked)
        toolbar.addAction(action)
        buttons.append(toolbar.widgetForAction(action))
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    checked, unchecked = (button.grab().toImage() for button in buttons)
    face = QRect(2, checked.height() // 2, 2, 1)  # left of the icon: the button's face alone
    assert checked.pixelColor(face.topLeft()).value() >= theme.WINDOW.value() + 25
    assert unchecked.pixelColor(face.topLeft()).value() <= theme.WINDOW.value() + 5
    assert _brightest(checked, QRect(0, checked.height() // 2, 2, 1)) >= 90  # its edge
