"""Help > About and ``--version``: one version, and where the checkpoint and the bundled licences come from."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.main import app_icon_path, parse_args
from app.widgets.help_dialogs import AboutDialog
from colormnet import __version__


def test_version_flag_prints_the_library_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"colormnet-studio {__version__}"


@pytest.mark.parametrize("frozen", [False, True])
def test_about_shows_the_version_and_the_checkpoint_licence(
    qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, frozen: bool
) -> None:
    if frozen:  # as in the PyInstaller bundle: the licences lie beside the executable
        monkeypatch.setattr(sys, "frozen", True, raising=False)
        monkeypatch.setattr(sys, "executable", str(tmp_path / "colormnet-studio"))
    dialog = AboutDialog(engine_loaded=False, device="", weights_random=False)
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert f"<td>ColorMNet Studio</td><td>{__version__}</td>" in text
    assert "CC BY-NC-SA 4.0" in text and "downloaded separately" in text
    assert (str(tmp_path / "licenses") in text) == frozen


def test_the_icon_is_package_data() -> None:
    icon = app_icon_path()
    assert icon.is_file() and icon.read_text(encoding="utf-8").lstrip().startswith("<svg")
