"""A neutral dark-gray theme: no tint anywhere, because colour in the frames is judged against neutral gray."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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

_STYLE = """
QToolTip { color: #e0e0e0; background-color: #3a3a3a; border: 1px solid #5a5a5a; }
QToolBar { border: none; spacing: 2px; }
QStatusBar QLabel { padding: 0 6px; }
QDockWidget::title { padding: 4px; background: #383838; }
QProgressBar { border: 1px solid #555; border-radius: 2px; text-align: center; background: #202020; }
QProgressBar::chunk { background: #8a8a8a; }
QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }
"""


def apply_dark_theme(app: QApplication) -> None:
    """Give ``app`` the Fusion style with a neutral dark-gray palette."""
    app.setStyle("Fusion")
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
