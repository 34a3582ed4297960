"""A project file is untrusted input: it cannot steer the frame cache, leak files on save, or escape the loader.

A crafted ``.cmnproj`` once moved the frame cache into any folder (an absolute or ``../`` project id), whose scan and
clean-up then deleted the user's files there; exemplar paths outside the project were copied into its folder on the
next save. These tests build such files and check that nothing outside the app's own folders is touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.controller import Controller
from app.engine_settings import EngineSettings
from app.paths import AppPaths
from app.project import Project, ProjectError, files_dir_for
from app.settings import AppSettings
from tests.app.conftest import RUN_TIMEOUT_MS

REEL_FRAMES = 6


@pytest.fixture
def propagate_controller(app_settings: AppSettings, app_paths: AppPaths) -> Iterator[Controller]:
    """A controller on the weight-free engine (nothing to load), shut down after the test."""
    app_settings.set_engine_settings(replace(app_settings.engine_settings(), engine="propagate"))
    controller = Controller(app_settings, app_paths)
    yield controller
    controller.shutdown()


def make_victim(folder: Path) -> list[Path]:
    """A restorer's folder: a draft with ".tmp" in its suffix and a scan folder of numbered frames."""
    files = [folder / "drafts" / "thesis.tmp"]
    files += [folder / "reel1" / f"{i:07d}.png" for i in range(1, REEL_FRAMES + 1)]  # as the cache names frames
    for i, file in enumerate(files):
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(bytes([i]) * 4096)
    return files


def project_data(video: Path, **fields: Any) -> dict[str, Any]:
    """The JSON of a project on ``video``, as the app writes it, with ``fields`` changed."""
    data: dict[str, Any] = {
        "format": "colormnet-studio-project",
        "version": 1,
        "id": "0123456789abcdef0123456789abcdef",
        "video": str(video),
        "video_relative": None,
        "exemplars": [],
        "settings": replace(EngineSettings(), engine="propagate", process_size=56).to_dict(),
        "in_point": None,
        "out_point": None,
        "playhead": 0,
    }
    data.update(fields)
    return data


def write_project(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_a_crafted_id_cannot_point_the_frame_cache_at_the_users_files(
    qtbot, propagate_controller: Controller, realshort: Path, tmp_path: Path, form: str
) -> None:
    controller = propagate_controller
    victim = tmp_path / "victim"
    files = make_victim(victim)
    contents = {file: file.read_bytes() for file in files}
    depth = len(controller.paths.cache.relative_to(tmp_path).parts)
    crafted_id = str(victim) if form == "absolute" else "/".join([".."] * depth + ["victim"])
    assert (controller.paths.cache / crafted_id).resolve() == victim.resolve()  # the id does reach the victim
    crafted = write_project(tmp_path / "shared" / "film.cmnproj", project_data(realshort, id=crafted_id))
    errors: list[str] = []
    controller.sig_error.connect(errors.append)

    if controller.open_project(crafted):  # only opened if the id was taken; then wait for the session's scan
        qtbot.waitUntil(lambda: controller.model_state in ("ready", "failed"), timeout=RUN_TIMEOUT_MS)
    if controller.cache is not None:
        controller.cache.set_limit(1)  # the user lowers the cache size: everything indexed is evicted

    assert {file: file.read_bytes() for file in files if file.exists()} == contents  # nothing deleted or changed
    assert errors and "id" in errors[0] and "\n" not in errors[0]
    assert controller.project.video is None  # the empty project stayed open
    assert not (controller.paths.cache.parent / "victim").exists()
