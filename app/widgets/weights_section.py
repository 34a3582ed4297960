"""The ColorMNet checkpoint in the GUI: download (with progress and cancel) and locate, as controls shared by the
missing-weights dialog and the Weights section of the settings, which also shows the checkpoint's path, its state
and its licence.

Dismissing the missing-weights dialog with "Later" closes it only: File ▸ Weights… (and Settings) offer the
download and Locate again at any time. The checkpoint module imports torch, so it is imported when a section or
dialog is built, never when the window modules are.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.controller import Controller
from app.icons import icon
from app.model.engine_settings import CHECKPOINT_ENGINE, FALLBACK_ENGINE

_MIB = 1024 * 1024


class WeightsControls(QWidget):
    """Download and Locate buttons with the download's progress and a status line.

    Args:
        controller: The application controller (it runs the download and reloads the model).
        with_cancel: Show a Cancel button while downloading (the dialog cancels with its own button).
        parent: Parent widget.
    """

    sig_busy = Signal(bool)
    """A download started (True) or ended (False)."""

    def __init__(self, controller: Controller, *, with_cancel: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self.downloading = False
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.download_button = QPushButton(icon("download"), "Download", self)
        self.download_button.setToolTip("Fetch the official checkpoint (about 500 MB) into your user data folder")
        self.locate_button = QPushButton(icon("locate"), "Locate file…", self)
        self.locate_button.setToolTip("Use a checkpoint you already have")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel download", self)
        self.cancel_button.setVisible(False)
        self._with_cancel = with_cancel
        self.download_button.clicked.connect(self.start_download)
        self.locate_button.clicked.connect(self._on_locate_clicked)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.download_button, self.locate_button, self.cancel_button):
            self.buttons.addWidget(button)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(self.buttons)
        controller.download.sig_progress.connect(self._on_download_progress)
        controller.download.sig_finished.connect(self._on_download_finished)

    def start_download(self) -> None:
        """Download the official checkpoint (the model reloads when it is in place)."""
        self._set_busy(True)
        self.progress.setRange(0, 0)
        self.status.setText("Connecting…")
        self._controller.download.start()

    def cancel_download(self) -> None:
        """Stop the download at its next chunk (it resumes next time)."""
        self._controller.download.cancel()
        self.status.setText("Cancelling…")

    def locate(self, path: Path) -> None:
        """Use the checkpoint at ``path`` (the model is reloaded in the background)."""
        self.status.setText(f"Loading {path.name}…")
        self._controller.engine.set_weights_path(path)

    def _set_busy(self, busy: bool) -> None:
        self.downloading = busy
        self.progress.setVisible(busy)
        self.download_button.setEnabled(not busy)
        self.locate_button.setEnabled(not busy)
        self.cancel_button.setVisible(busy and self._with_cancel)
        self.sig_busy.emit(busy)

    def _on_locate_clicked(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Locate the ColorMNet weights", "", "Checkpoints (*.pth *.pt);;All files (*)"
        )
        if chosen:
            self.locate(Path(chosen))

    def _on_download_progress(self, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.status.setText(f"Downloaded {done / _MIB:.0f} of {total / _MIB:.0f} MB")
        else:
            self.status.setText(f"Downloaded {done / _MIB:.0f} MB")

    def _on_download_finished(self, ok: bool, message: str) -> None:
        self._set_busy(False)
        self.status.setText(f"Saved to {message}; loading the model…" if ok else message)


class WeightsSection(QGroupBox):
    """Settings ▸ ColorMNet weights: where the checkpoint is, whether it is in use, download, locate, licence.

    Args:
        controller: The application controller.
        parent: Parent widget.
    """

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__("ColorMNet weights", parent)
        self.setObjectName("weights_section")
        from colormnet.engines.colormnet.weights import WEIGHTS_LICENCE

        self._controller = controller
        self.path = QLineEdit(self)
        self.path.setReadOnly(True)
        self.path.setToolTip("The checkpoint ColorMNet loads (from --weights, Locate or Download, else the default)")
        self.state = QLabel("", self)
        self.state.setWordWrap(True)
        self.controls = WeightsControls(controller, parent=self)
        self.licence = QLabel(f"<small>{html.escape(WEIGHTS_LICENCE)}</small>", self)
        self.licence.setWordWrap(True)
        self.licence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.licence.setVisible(False)
        licence_button = QPushButton("Licence…", self)
        licence_button.setCheckable(True)
        licence_button.setToolTip("The terms the ColorMNet weights come under")
        licence_button.toggled.connect(self.licence.setVisible)
        self.controls.buttons.addWidget(licence_button)
        self.licence_button = licence_button
        layout = QVBoxLayout(self)
        layout.addWidget(self.path)
        layout.addWidget(self.state)
        layout.addWidget(self.controls)
        layout.addWidget(self.licence)
        controller.engine.sig_model_state.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Show the checkpoint's path and state as they are now."""
        from colormnet.engines.colormnet.weights import looks_random, resolve_weights_path

        c = self._controller.engine
        path = resolve_weights_path(c.weights_path())
        self.path.setText(str(path))
        self.path.setCursorPosition(0)
        random = "Random weights: the colours are meaningless (a pipeline check)."
        if c.weights_are_random and c.session_engine == CHECKPOINT_ENGINE:
            state = random
        elif c.on_fallback or c.fallback_active:
            state = f"Not usable: {c.model_problem} The {FALLBACK_ENGINE} engine stands in meanwhile."
        elif not path.is_file():
            state = "Not installed yet: download it, or locate a checkpoint you have."
        elif looks_random(path):  # not loaded yet (another engine runs, or none has): told from the file
            state = random
        elif c.model_state == "ready" and c.session_engine == CHECKPOINT_ENGINE:
            state = "Installed and in use."
        else:
            state = "Installed."
        self.state.setText(state)
