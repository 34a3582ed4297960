"""The dialog shown when no usable checkpoint is installed: download it, or locate a file on disk.

"Later" only closes it: File ▸ Weights… and the Weights section of the settings offer the same again. While the
weight-free engine stands in, the user may ask not to have it open by itself again (a restorer who works with that
engine on purpose)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from app.controller import Controller
from app.icons import icon
from app.model.engine_settings import FALLBACK_NOTICE
from app.widgets.weights_section import WeightsControls


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
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.dont_offer = QCheckBox("Don't open this by itself while the propagate engine stands in "
                                    "(File ▸ ColorMNet Weights… offers it)", self)
        self.dont_offer.setChecked(not controller.settings.offer_weights)
        self.dont_offer.toggled.connect(self._on_dont_offer_toggled)
        self.set_reason(reason)
        self.controls = WeightsControls(controller, with_cancel=False, parent=self)
        self.controls.sig_busy.connect(self._on_controls_busy)
        self.progress = self.controls.progress
        self.status = self.controls.status
        self.download_button = self.controls.download_button
        self.locate_button = self.controls.locate_button
        self.close_button = QPushButton(icon("cancel"), "Later", self)
        self.close_button.clicked.connect(self._on_close_clicked)
        self.controls.buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.reason)
        layout.addWidget(self.controls)
        layout.addWidget(self.dont_offer)
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
        self.dont_offer.setVisible(self._controller.engine.fallback_active)
        self.reason.setText(f"<i>{html.escape(reason)}</i>")

    def locate(self, path: Path) -> None:
        """Use the checkpoint at ``path`` (the model is reloaded in the background)."""
        self.controls.locate(path)

    def _on_dont_offer_toggled(self, checked: bool) -> None:
        self._controller.settings.offer_weights = not checked

    def _on_controls_busy(self, busy: bool) -> None:
        self.close_button.setText("Cancel" if busy else "Later")

    def _on_close_clicked(self) -> None:
        if self.controls.downloading:
            self.controls.cancel_download()
        else:
            self.close()

    def _on_engine_model_state(self, state: str) -> None:
        # the fallback engine being ready is not enough
        if state == "ready" and not self._controller.engine.on_fallback:
            self.status.setText("The model is ready.")
            self.close()
        elif state == "ready" and self.status.text().startswith("Loading"):
            self.status.setText("That checkpoint cannot be used; see the reason above.")
