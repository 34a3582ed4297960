"""A project file is untrusted input: it cannot steer the frame cache, leak files on save, or escape the loader.

A crafted ``.cmnproj`` once moved the frame cache into any folder (an absolute or ``../`` project id), whose scan and
clean-up then deleted the user's files there; exemplar paths outside the project were copied into its folder on the
next save. These tests build such files and check that nothing outside the app's own folders is touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.controller import Controller
from app.model.engine_settings import EngineSettings
from app.model.paths import AppPaths
from app.model.project import Project, ProjectError, files_dir_for
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

    if controller.files.open_project(crafted):  # only opened if the id was taken; then wait for the session's scan
        qtbot.waitUntil(lambda: controller.engine.model_state in ("ready", "failed"), timeout=RUN_TIMEOUT_MS)
    if controller.cache is not None:
        controller.cache.set_limit(1)  # the user lowers the cache size: everything indexed is evicted

    assert {file: file.read_bytes() for file in files if file.exists()} == contents  # nothing deleted or changed
    assert errors and "id" in errors[0] and "\n" not in errors[0]
    assert controller.project.video is None  # the empty project stayed open
    assert not (controller.paths.cache.parent / "victim").exists()


@pytest.fixture
def shared_project(tmp_path: Path, project: Project) -> Path:
    """A project saved by the app in a shared folder, with its exemplars (frames 0 and 18) in its own files folder."""
    project.save(tmp_path / "shared" / "film.cmnproj")
    return tmp_path / "shared" / "film.cmnproj"


def add_stored_exemplars(path: Path, *entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Edit the project file at ``path`` as an attacker would: more exemplar entries, other fields."""
    data = json.loads(path.read_text())
    data["exemplars"] += list(entries)
    data.update(fields)
    path.write_text(json.dumps(data))
    return data


def outside_files(tmp_path: Path, colour_frames: dict[int, Path]) -> dict[str, Path]:
    """Files outside the project that a crafted project names: a secret key, a real image, a device."""
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n")
    image = tmp_path / "photo.png"
    image.write_bytes(colour_frames[4].read_bytes())
    return {"absolute": secret, "dotdot": image, "device": Path("/dev/zero")}


def test_exemplars_outside_the_project_are_left_out_and_never_copied(
    tmp_path: Path, shared_project: Path, colour_frames: dict[int, Path]
) -> None:
    outside = outside_files(tmp_path, colour_frames)
    files = files_dir_for(shared_project)
    (files / "exemplars" / "linked.png").symlink_to(outside["absolute"])  # a link in its own folder, pointing out
    os.mkfifo(files / "exemplars" / "pipe.png")  # copying a pipe would wait for ever
    stored = [str(outside["absolute"]), "../photo.png", "/dev/zero", "exemplars/linked.png", "exemplars/pipe.png"]
    add_stored_exemplars(
        shared_project,
        *({"frame": 10 + i, "image": name, "kind": "auto", "name": name} for i, name in enumerate(stored)),
        {
            "frame": 30,
            "image": "exemplars/" + next((files / "exemplars").glob("exemplar_*")).name,
            "kind": "auto",
            "references": ["../../home/.ssh/id_rsa", "/dev/zero"],
        },
    )

    project = Project.load(shared_project)
    assert project.left_out == [*stored, "../../home/.ssh/id_rsa", "/dev/zero"]
    assert [e.frame for e in project.exemplars] == [0, 18, 30] and project.exemplars[2].references == []
    assert all(e.image.resolve().is_relative_to(files.resolve()) for e in project.exemplars)
    target = tmp_path / "elsewhere" / "copy.cmnproj"
    project.save(target)  # an ordinary save to another folder copies the project's images, and only those

    copied = list(files_dir_for(target).rglob("*"))
    assert sorted(p.name for p in copied if p.is_file()) == sorted({e.image.name for e in project.exemplars})
    assert all(b"PRIVATE KEY" not in p.read_bytes() for p in copied if p.is_file())
    assert outside["absolute"].exists() and outside["dotdot"].exists()
    saved = json.loads(target.read_text())
    assert all(not Path(x["image"]).is_absolute() and ".." not in x["image"] for x in saved["exemplars"])


def test_a_files_folder_that_is_a_link_elsewhere_is_outside(
    tmp_path: Path, shared_project: Path, colour_frames: dict[int, Path]
) -> None:
    """A shared project can carry a symlink as its files folder (tar, git): it must not reach the user's files."""
    private = tmp_path / "home" / "Pictures"
    (private / "exemplars").mkdir(parents=True)
    (private / "exemplars" / "holiday.png").write_bytes(colour_frames[30].read_bytes())
    files = files_dir_for(shared_project)
    for file in (files / "exemplars").iterdir():
        file.unlink()
    (files / "exemplars").rmdir()
    files.rmdir()
    files.symlink_to(private, target_is_directory=True)
    data = json.loads(shared_project.read_text())
    data["exemplars"] = [{"frame": 2, "image": "exemplars/holiday.png", "kind": "auto"}]
    shared_project.write_text(json.dumps(data))

    project = Project.load(shared_project)
    assert project.exemplars == [] and project.left_out == ["exemplars/holiday.png"]
    (private / "exemplars" / "exemplar_0123456789.png").write_bytes(b"named as the app names its copies")
    project.save(shared_project)  # in place: pruning unused copies must not go through the link
    assert len(list((private / "exemplars").iterdir())) == 2
    project.save(tmp_path / "elsewhere" / "copy.cmnproj")
    assert not any(p.is_file() for p in files_dir_for(tmp_path / "elsewhere" / "copy.cmnproj").rglob("*"))


def test_files_dir_and_project_path_are_not_taken_from_an_opened_project(tmp_path: Path, shared_project: Path) -> None:
    victim = tmp_path / "victim"
    kept = victim / "exemplars" / "exemplar_0123456789.png"  # named as the app names its copies
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"the user's file")
    add_stored_exemplars(shared_project, files_dir=str(victim), project_path=str(tmp_path / "other.cmnproj"))

    project = Project.load(shared_project)
    assert project.files_dir == files_dir_for(shared_project.resolve())
    assert project.path == shared_project.resolve()
    project.remove_exemplar(0)
    project.save(shared_project)  # pruning unused copies happens in the project's own folder only
    assert kept.read_bytes() == b"the user's file"
    assert not (tmp_path / "other.cmnproj").exists()


def test_a_save_copies_nothing_when_an_exemplar_is_not_an_image(tmp_path: Path, shared_project: Path) -> None:
    project = Project.load(shared_project)
    project.exemplars[0].image.write_text("not an image any more")
    target = tmp_path / "elsewhere" / "copy.cmnproj"
    with pytest.raises(ProjectError, match="cannot be used") as caught:
        project.save(target)
    assert "\n" not in str(caught.value)
    assert not files_dir_for(target).exists() and not target.exists()


def test_the_user_is_told_once_which_outside_files_were_left_out(
    qtbot, propagate_controller: Controller, tmp_path: Path, shared_project: Path, colour_frames: dict[int, Path]
) -> None:
    controller = propagate_controller
    outside = outside_files(tmp_path, colour_frames)
    add_stored_exemplars(
        shared_project,
        {"frame": 5, "image": str(outside["absolute"]), "kind": "auto"},
        {"frame": 6, "image": "../photo.png", "kind": "auto"},
    )
    errors: list[str] = []
    controller.sig_error.connect(errors.append)

    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert controller.files.open_project(shared_project)

    assert len(errors) == 1, errors
    assert str(outside["absolute"]) in errors[0] and "../photo.png" in errors[0] and "left out" in errors[0]
    assert "\n" not in errors[0]
    assert [e.frame for e in controller.project.exemplars] == [0, 18]
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    controller.set_current_frame(3)
    assert len(errors) == 1  # once only


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"pid": 1e999}', b"\xff\xfe not utf-8"])
def test_a_damaged_autosave_is_one_message_at_start(
    qtbot, propagate_controller: Controller, answers, content: bytes
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from app.widgets.main_window import MainWindow

    controller = propagate_controller
    controller.paths.autosave.mkdir(parents=True)
    snapshot = controller.paths.autosave / "0123456789abcdef0123456789abcdef.cmnproj"
    snapshot.write_bytes(content)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    answers.queue.append(QMessageBox.StandardButton.Yes)

    assert not window.commands.offer_restore()

    box = window.last_message
    assert box is not None and "cannot be restored" in box.text() and "\n" not in box.text()
    assert controller.project.video is None and not snapshot.exists()


def test_only_a_projects_own_scratch_folder_is_ever_deleted_as_its_files(tmp_path: Path) -> None:
    from app.project_files import own_scratch_folder

    scratch = tmp_path / "untitled"
    own = Project.scratch(scratch)
    assert own_scratch_folder(own, scratch) == own.files_dir.resolve()
    elsewhere = tmp_path / "films"
    (scratch / "link").symlink_to(elsewhere, target_is_directory=True)
    for named in (scratch, scratch / "link", scratch / "a" / "b", elsewhere):  # as a restored autosave may name it
        assert own_scratch_folder(Project(files_dir=named), scratch) is None, named
    saved = Project.scratch(scratch)
    saved.path = tmp_path / "film.cmnproj"
    assert own_scratch_folder(saved, scratch) is None  # a saved project's files are the user's
