"""The dialog shown when no usable checkpoint is installed: download it, or locate a file on disk."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.controller import Controller
from app.icons import icon
from app.model.engine_settings import FALLBACK_NOTICE

_MIB = 1024 * 1024


class WeightsDialog(QDialog):
    """Explains that the weights are missing and offers Download (with progress and cancel) or Locate file.

    The dialog is not modal: the rest of the window stays usable (open, scrub, pin exemplars) meanwhile.

    Args:
        controller: The application controller (it runs the download and reloads the model).
        reason: The one-sentence reason from the library.
        parent: Parent widget.
    """

    def __init__(self, controller: Controller, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ColorMNet weights needed")
        self.setWindowIcon(icon("download"))
        self.setModal(False)
        self.setMinimumWidth(520)
        self._controller = controller
        self._downloading = False
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.set_reason(reason)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.download_button = QPushButton(icon("download"), "Download", self)
        self.download_button.setToolTip("Fetch the official checkpoint (about 500 MB) into your user data folder")
        self.locate_button = QPushButton(icon("locate"), "Locate file…", self)
        self.locate_button.setToolTip("Use a checkpoint you already have")
        self.close_button = QPushButton(icon("cancel"), "Later", self)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.locate_button.clicked.connect(self._on_locate_clicked)
        self.close_button.clicked.connect(self._on_close_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.locate_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.reason)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        controller.download.sig_progress.connect(self._on_download_progress)
        controller.download.sig_finished.connect(self._on_download_finished)
        controller.engine.sig_model_state.connect(self._on_engine_model_state)
        self.adjustSize()

    def set_reason(self, reason: str) -> None:
        """Show why the weights are needed again (a later failure), and whether the fallback engine stands in."""
        from colormnet.engines.colormnet.weights import WEIGHTS_LICENCE

        if self._controller.engine.fallback_active:
            lead = f"<b>{html.escape(FALLBACK_NOTICE)}</b> Colorizing and exporting work meanwhile."
        else:
            lead = (
                "Colorizing needs the trained ColorMNet weights, which are not installed. You can keep working "
                "meanwhile: open videos, scrub and pin exemplars."
            )
        self.explanation.setText(f"{lead}<br><br><small>{html.escape(WEIGHTS_LICENCE)}</small>")
        self.reason.setText(f"<i>{html.escape(reason)}</i>")

    def locate(self, path: Path) -> None:
        """Use the checkpoint at ``path`` (the model is reloaded in the background)."""
        self.status.setText(f"Loading {path.name}…")
        self._controller.engine.set_weights_path(path)

    def _on_download_clicked(self) -> None:
        self._downloading = True
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.download_button.setEnabled(False)
        self.locate_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.status.setText("Connecting…")
        self._controller.download.start()

    def _on_locate_clicked(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Locate the ColorMNet weights", "", "Checkpoints (*.pth *.pt);;All files (*)"
        )
        if chosen:
            self.locate(Path(chosen))

    def _on_close_clicked(self) -> None:
        if self._downloading:
            self._controller.download.cancel()
            self.status.setText("Cancelling…")
        else:
            self.close()

    def _on_download_progress(self, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.status.setText(f"Downloaded {done / _MIB:.0f} of {total / _MIB:.0f} MB")
        else:
            self.status.setText(f"Downloaded {done / _MIB:.0f} MB")

    def _on_download_finished(self, ok: bool, message: str) -> None:
        self._downloading = False
        self.progress.setVisible(False)
        self.download_button.setEnabled(True)
        self.locate_button.setEnabled(True)
        self.close_button.setText("Later")
        self.status.setText(f"Saved to {message}; loading the model…" if ok else message)

    def _on_engine_model_state(self, state: str) -> None:
        # the fallback engine being ready is not enough
        if state == "ready" and not self._controller.engine.on_fallback:
            self.status.setText("The model is ready.")
            self.close()
        elif state == "ready" and self.status.text().startswith("Loading"):
            self.status.setText("That checkpoint cannot be used; see the reason above.")
