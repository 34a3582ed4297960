"""A neutral dark-gray theme: no tint anywhere, because colour in the frames is judged against neutral gray.

Fusion draws the keyboard focus ring, the toolbar's overflow chevron, a dock's float and close buttons and a checked
tool button's face in shades meant for light themes, which vanish on these grays; :class:`StudioStyle` draws them in
lighter grays instead (the focus ring's accent is a light neutral, not a hue, for the same reason as above).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleOption,
    QStyleOptionComplex,
    QStyleOptionToolButton,
    QWidget,
)

from app.icons import icon

#: Gray levels used by the palette and by the painted widgets (viewer, timeline).
WINDOW = QColor(45, 45, 45)
BASE = QColor(32, 32, 32)
ALTERNATE = QColor(52, 52, 52)
CANVAS = QColor(24, 24, 24)
TEXT = QColor(214, 214, 214)
DIM_TEXT = QColor(130, 130, 130)
HIGHLIGHT = QColor(96, 96, 96)
MID = QColor(70, 70, 70)
BRIGHT = QColor(235, 235, 235)
FOCUS = QColor(200, 200, 200)  # the keyboard focus ring: found at a glance on every gray above
CHECKED = QColor(78, 78, 78)  # a checked tool button's face (Before/Now, Follow, the view modes), its edge CHECKED_EDGE
CHECKED_EDGE = QColor(125, 125, 125)

_STYLE = """
QToolTip { color: #e0e0e0; background-color: #3a3a3a; border: 1px solid #5a5a5a; }
QToolBar { border: none; spacing: 2px; }
QStatusBar QLabel { padding: 0 6px; }
QDockWidget::title { padding: 4px; background: #383838; }
QProgressBar { border: 1px solid #555; border-radius: 2px; text-align: center; background: #202020; }
QProgressBar::chunk { background: #8a8a8a; }
QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }
"""


_LIGHT_ICONS = {
    QStyle.StandardPixmap.SP_ToolBarHorizontalExtensionButton: "toolbar_overflow",
    QStyle.StandardPixmap.SP_ToolBarVerticalExtensionButton: "toolbar_overflow_vertical",
    QStyle.StandardPixmap.SP_TitleBarNormalButton: "dock_float",  # a dock's title bar: float / dock again
    QStyle.StandardPixmap.SP_TitleBarCloseButton: "dock_close",
    QStyle.StandardPixmap.SP_DockWidgetCloseButton: "dock_close",
}


class StudioStyle(QProxyStyle):
    """Fusion with a focus ring, a toolbar overflow chevron and dock title-bar buttons that stand out on the dark
    grays."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def standardIcon(  # noqa: N802 (Qt override)
        self, standard_icon: QStyle.StandardPixmap, option: QStyleOption | None = None, widget: QWidget | None = None
    ) -> QIcon:
        name = _LIGHT_ICONS.get(standard_icon)
        return icon(name) if name is not None else super().standardIcon(standard_icon, option, widget)

    def drawPrimitive(  # noqa: N802 (Qt override)
        self, element: QStyle.PrimitiveElement, option: QStyleOption, painter: QPainter, widget: QWidget | None = None
    ) -> None:
        if element == QStyle.PrimitiveElement.PE_FrameFocusRect:  # check boxes, radio buttons, list rows
            if _shows_focus(option):
                _draw_focus_ring(painter, option.rect)
            return
        if element == QStyle.PrimitiveElement.PE_PanelButtonTool and _checked_not_pressed(option):
            _draw_checked_face(painter, option.rect)  # Fusion's sunken face is a shade off the window's gray
            return
        super().drawPrimitive(element, option, painter, widget)
        typing = _RINGED_PRIMITIVES.get(element)
        if typing is not None and _shows_focus(option, typing):
            _draw_focus_ring(painter, option.rect)

    def drawComplexControl(  # noqa: N802 (Qt override)
        self,
        control: QStyle.ComplexControl,
        option: QStyleOptionComplex,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if control == QStyle.ComplexControl.CC_ToolButton and _shows_focus(option):
            unfocused = QStyleOptionToolButton(option)  # type: ignore[call-overload]
            unfocused.state = option.state & ~QStyle.StateFlag.State_HasFocus  # ring round the button, not its icon
            super().drawComplexControl(control, unfocused, painter, widget)
            _draw_focus_ring(painter, option.rect)
            return
        super().drawComplexControl(control, option, painter, widget)
        typing = _RINGED_CONTROLS.get(control)
        if typing is not None and _shows_focus(option, typing or getattr(option, "editable", False)):
            _draw_focus_ring(painter, option.rect)


# The widgets Fusion draws a focus outline on (instead of calling PE_FrameFocusRect), and whether they take typing.
_RINGED_PRIMITIVES = {
    QStyle.PrimitiveElement.PE_PanelButtonCommand: False,  # push buttons
    QStyle.PrimitiveElement.PE_FrameLineEdit: True,
}
_RINGED_CONTROLS = {
    QStyle.ComplexControl.CC_ComboBox: False,  # an editable one takes typing
    QStyle.ComplexControl.CC_SpinBox: True,
}


def _shows_focus(option: QStyleOption, typing: bool = False) -> bool:
    """Whether a widget drawn with ``option`` shows the focus ring: as in Fusion, a field that takes typing shows it
    whenever it has the focus, anything else only once the focus has moved by keyboard (not after a click)."""
    state = option.state
    return bool(state & QStyle.StateFlag.State_HasFocus) and (
        typing or bool(state & QStyle.StateFlag.State_KeyboardFocusChange)
    )


def _checked_not_pressed(option: QStyleOption) -> bool:
    state = option.state
    return bool(state & QStyle.StateFlag.State_On) and not state & QStyle.StateFlag.State_Sunken


def _draw_checked_face(painter: QPainter, rect: QRect) -> None:
    """A checked tool button's face: lighter than the window's gray, with a light edge, so that a toggle's state
    reads at a glance."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(CHECKED_EDGE, 1))
    painter.setBrush(CHECKED)
    painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1), 2.0, 2.0)
    painter.restore()


def _draw_focus_ring(painter: QPainter, rect: QRect) -> None:
    """A 2-pixel ring in :data:`FOCUS` just inside ``rect``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(FOCUS, 2))
    painter.drawRect(rect.adjusted(1, 1, -1, -1))
    painter.restore()


def apply_dark_theme(app: QApplication) -> None:
    """Give ``app`` the Fusion style (see :class:`StudioStyle`) with a neutral dark-gray palette."""
    app.setStyle(StudioStyle())
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALTERNATE,
        QPalette.ColorRole.ToolTipBase: ALTERNATE,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: DIM_TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: WINDOW,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: BRIGHT,
        QPalette.ColorRole.Highlight: HIGHLIGHT,
        QPalette.ColorRole.HighlightedText: BRIGHT,
        QPalette.ColorRole.Link: QColor(200, 200, 200),
        QPalette.ColorRole.Mid: MID,
        QPalette.ColorRole.Dark: BASE,
        QPalette.ColorRole.Light: QColor(80, 80, 80),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, DIM_TEXT)
    app.setPalette(palette)
    app.setStyleSheet(_STYLE)
