"""The ColorMNet weights stay within reach: File ▸ Weights… and a Weights section in Settings (path, state,
download with progress and cancel, locate, licence), also after the missing-weights dialog was put off."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

import colormnet.engines.colormnet.weights as weights
from app.widgets.main_window import MainWindow
from app.widgets.weights_section import WeightsSection
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)
from tests.app.test_weights_and_errors import slow_download


def _open_weights(window: MainWindow) -> WeightsSection:
    menu = next(m for m in window.menuBar().findChildren(type(window.recent_menu)) if m.title() == "&File")
    assert window.actions_by_name["weights"] in menu.actions()
    window.actions_by_name["weights"].trigger()
    section = window.commands.settings_dialog.weights
    assert isinstance(section, WeightsSection) and section.isVisible()
    return section


def test_the_weights_menu_item_opens_settings_at_the_weights(
    editor: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    missing = tmp_path / "nowhere" / "colormnet.pth"
    editor.controller.settings.weights_path = missing
    section = _open_weights(editor)
    assert section.path.text() == str(missing)
    assert section.state.text().startswith("Not installed yet")
    assert section.licence.isHidden()
    section.licence_button.click()
    assert section.licence.isVisible() and "licen" in section.licence.text().lower()
    # Locate: the checkpoint chosen is remembered and shown.
    chosen = tmp_path / "mine.pth"
    chosen.write_bytes(b"a checkpoint")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(chosen), ""))
    section.controls.locate_button.click()
    assert editor.controller.settings.weights_path == chosen
    assert section.path.text() == str(chosen) and section.state.text() == "Installed."
    random_ones = weights.save_random_weights(tmp_path / "random.pth")  # propagate runs: the file was never loaded
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(random_ones), ""))
    section.controls.locate_button.click()
    assert section.state.text() == "Random weights: the colours are meaningless (a pipeline check)."
    editor.commands.settings_dialog.reject()


def test_the_weights_section_downloads_with_progress_and_cancel(
    editor: MainWindow, qtbot: object, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setattr(weights, "download_weights", slow_download)
    controls = _open_weights(editor).controls
    assert controls.cancel_button.isHidden()
    controls.download_button.click()
    qtbot.waitUntil(lambda: controls.progress.value() == 250, timeout=10_000)  # type: ignore[attr-defined]
    assert controls.cancel_button.isVisible() and not controls.locate_button.isEnabled()
    with qtbot.waitSignal(editor.controller.download.sig_finished, timeout=10_000):  # type: ignore[attr-defined]
        controls.cancel_button.click()
    assert controls.status.text() == "The download was cancelled." and controls.download_button.isEnabled()
    assert controls.cancel_button.isHidden()
    editor.commands.settings_dialog.reject()
