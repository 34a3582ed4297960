"""The Help menu's dialogs: the log file and About (versions and the weights' licence)."""

from __future__ import annotations

import html
import platform
import sys
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from colormnet import __version__

_LOG_TAIL_BYTES = 200_000

CHECKPOINT_NOTE = (
    "The ColorMNet checkpoint is not part of this program: it is downloaded separately (the app offers it, or "
    "<code>colormnet weights download</code>) and is licensed by its authors under CC BY-NC-SA 4.0, "
    "for non-commercial use only."
)


def third_party_note() -> str:
    """Where the licences of the bundled libraries are: the ``licenses`` folder of a frozen bundle, else pip's."""
    if getattr(sys, "frozen", False):
        folder = Path(sys.executable).resolve().parent / "licenses"
        return f"The licences of the libraries bundled with it (Qt, PySide6, FFmpeg, PyTorch, ...) are in {folder}."
    return "The libraries it runs on are installed separately, each under its own licence."


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(engine_loaded: bool) -> dict[str, str]:
    """Versions of the program and the libraries it runs on."""
    found = {
        "ColorMNet Studio": __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": pyside_version,
        "NumPy": _version("numpy"),
        "PyAV": _version("av"),
        "PyTorch": _version("torch"),
    }
    if engine_loaded and "torch" in sys.modules:
        import torch

        found["CUDA"] = str(torch.version.cuda) if torch.cuda.is_available() else "not available"
    return found


class AboutDialog(QDialog):
    """Versions, the device in use and the licence of the weights."""

    def __init__(
        self, *, engine_loaded: bool, device: str, weights_random: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About ColorMNet Studio")
        self.setWindowIcon(icon("about"))
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in versions(engine_loaded).items()
        )
        if engine_loaded:
            from colormnet.engines.colormnet.weights import WEIGHTS_LICENCE

            licence = WEIGHTS_LICENCE
        else:
            licence = "The colorization engine is still loading; the weights' licence is shown once it has loaded."
        device_text = device or "not loaded yet"
        if weights_random:
            device_text += " (random weights: the colours are meaningless)"
        self.text = QLabel(
            "<h3>ColorMNet Studio</h3>"
            "<p>Exemplar-based colorization of black-and-white film with ColorMNet "
            "(Yang et al., ECCV 2024).</p>"
            f"<table>{rows}<tr><td>Device</td><td>{html.escape(device_text)}</td></tr></table>"
            f"<p><b>Weights licence.</b> {html.escape(licence)}</p>"
            f"<p>{CHECKPOINT_NOTE}</p>"
            f"<p>ColorMNet Studio itself is MIT licensed. {html.escape(third_party_note())}</p>",
            self,
        )
        self.text.setWordWrap(True)
        self.text.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


class LogDialog(QDialog):
    """Shows the end of the log file and where it is."""

    def __init__(self, log_file: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log file")
        self.setWindowIcon(icon("log"))
        self.resize(820, 520)
        self._log_file = log_file
        self.path = QLabel(f"Log file: {log_file}", self)
        self.path.setTextInteractionFlags(
            self.path.textInteractionFlags() | self.path.textInteractionFlags().TextSelectableByMouse
        )
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setFont(QFont("monospace"))
        self.view.setPlainText(self._tail())
        self.view.moveCursor(self.view.textCursor().MoveOperation.End)
        folder = QPushButton(icon("open_project"), "Open folder", self)
        folder.clicked.connect(self._on_folder_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(folder, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.path)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)

    def _tail(self) -> str:
        try:
            with self._log_file.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - _LOG_TAIL_BYTES))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return "(the log file is empty)"

    def _on_folder_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._log_file.parent)))
