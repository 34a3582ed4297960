"""Settings persisted with QSettings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings

from app.model.engine_settings import EngineSettings
from app.settings import MAX_RECENT, AppSettings


def make(tmp_path: Path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))


def test_values_survive_a_restart(tmp_path: Path) -> None:
    settings = make(tmp_path)
    engine = replace(EngineSettings(), device="cpu", precision="bf16", process_size=336, mem_every=3)
    settings.set_engine_settings(engine)
    settings.weights_path = tmp_path / "w.pth"
    settings.follow_playhead = False
    settings.view_mode = "wipe"
    settings.cache_limit_bytes = 123456789
    settings.sync()
    again = make(tmp_path)
    assert again.engine_settings() == engine
    assert again.weights_path == tmp_path / "w.pth"
    assert again.follow_playhead is False
    assert again.view_mode == "wipe"
    assert again.cache_limit_bytes == 123456789


def test_defaults_and_recent_files(tmp_path: Path) -> None:
    settings = make(tmp_path)
    assert settings.engine_settings() == EngineSettings()
    assert settings.weights_path is None and settings.follow_playhead and settings.view_mode == "side_by_side"
    for index in range(MAX_RECENT + 3):
        settings.add_recent(tmp_path / f"film{index}.mp4")
    settings.add_recent(tmp_path / "film5.mp4")
    recent = settings.recent_files()
    assert len(recent) == MAX_RECENT
    assert recent[0].name == "film5.mp4" and recent[1].name == f"film{MAX_RECENT + 2}.mp4"
    assert len(set(recent)) == len(recent)
    settings.clear_recent()
    assert settings.recent_files() == []
