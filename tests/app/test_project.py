"""The project model and its .cmnproj file: exemplar edits, save/open round trip, autosave and recovery."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.model import autosave
from app.model.engine_settings import EngineSettings
from app.model.project import Project, ProjectError, files_dir_for
from colormnet.errors import ExemplarError


def test_exemplar_edits_keep_the_list_sorted_and_refuse_bad_frames(
    project: Project, colour_frames: dict[int, Path]
) -> None:
    project.add_exemplar(4, colour_frames[4], kind="keyframe")
    assert [e.frame for e in project.exemplars] == [0, 4, 18]
    assert all(e.image.parent == project.exemplars_dir for e in project.exemplars)  # copies, not the originals
    with pytest.raises(ExemplarError, match="already has an exemplar"):
        project.add_exemplar(4, colour_frames[30])
    with pytest.raises(ExemplarError, match="outside the video"):
        project.add_exemplar(36, colour_frames[30])
    project.move_exemplar(4, 30)
    assert [e.frame for e in project.exemplars] == [0, 18, 30]
    with pytest.raises(ExemplarError, match="already has an exemplar"):
        project.move_exemplar(30, 18)
    old = project.exemplar_at(30).image  # type: ignore[union-attr]
    project.replace_image(30, colour_frames[30])
    assert project.exemplar_at(30).image != old and project.exemplar_at(30).kind == "keyframe"  # type: ignore[union-attr]
    project.set_kind(30, "auto")
    with pytest.raises(ExemplarError, match="Unknown exemplar kind"):
        project.set_kind(30, "sepia")
    project.remove_exemplar(30)
    with pytest.raises(ExemplarError, match="no exemplar at frame 30"):
        project.remove_exemplar(30)
    assert project.dirty


def test_save_and_open_round_trip(tmp_path: Path, project: Project) -> None:
    project.settings = replace(EngineSettings(), process_size=224, top_k=20, precision="fp32")
    project.set_in_out(5, 20)
    project.playhead = 7
    target = tmp_path / "films" / "office.cmnproj"
    project.save(target)
    assert not project.dirty and project.path == target.resolve()
    files = files_dir_for(target)
    assert files == tmp_path / "films" / "office_files"
    assert sorted(p.name for p in (files / "exemplars").iterdir()) == sorted(e.image.name for e in project.exemplars)
    data = json.loads(target.read_text())
    assert data["format"] == "colormnet-studio-project" and data["version"] == 1
    assert [x["image"].startswith("exemplars/") for x in data["exemplars"]] == [True, True]

    opened = Project.load(target)
    assert opened.project_id == project.project_id
    assert opened.video == project.video
    assert [(e.frame, e.kind, e.image) for e in opened.exemplars] == [
        (e.frame, e.kind, e.image) for e in project.exemplars
    ]
    assert opened.settings == project.settings
    assert (opened.in_point, opened.out_point, opened.playhead) == (5, 20, 7)
    assert not opened.dirty


def test_a_project_moved_with_its_film_finds_the_film(tmp_path: Path, project: Project, realshort: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    film = folder / "film.mp4"
    film.write_bytes(realshort.read_bytes())
    project.video = film
    project.save(folder / "p.cmnproj")
    moved = tmp_path / "b"
    (folder).rename(moved)
    assert Project.load(moved / "p.cmnproj").video == (moved / "film.mp4").resolve()


def test_replaced_images_are_pruned_on_save(tmp_path: Path, project: Project, colour_frames: dict[int, Path]) -> None:
    project.save(tmp_path / "p.cmnproj")
    project.replace_image(0, colour_frames[30])
    project.save(tmp_path / "p.cmnproj")
    assert len(list(project.exemplars_dir.iterdir())) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "cannot be read"),
        ('{"format": "something-else"}', "not a ColorMNet Studio project"),
        ('{"format": "colormnet-studio-project", "version": 99}', "newer ColorMNet Studio"),
        ('{"format": "colormnet-studio-project", "version": 1, "exemplars": [{"frame": "x"}]}', "damaged"),
    ],
)
def test_bad_project_files_are_refused_with_one_sentence(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.cmnproj"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ProjectError, match=message) as caught:
        Project.load(path)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_invalid_settings_fall_back_to_defaults() -> None:
    settings = EngineSettings.from_dict({"process_size": "abc", "device": "tpu", "top_k": "12", "unknown": 1})
    assert settings.process_size == 540 and settings.device == "auto" and settings.top_k == 12


def test_autosave_and_restore_after_a_crash(tmp_path: Path, project: Project) -> None:
    folder = tmp_path / "autosave"
    path = autosave.write_autosave(folder, project)
    data = json.loads(path.read_text())
    data["pid"] = 1  # a snapshot of another running instance is not a crash
    path.write_text(json.dumps(data))
    assert autosave.find_orphans(folder) == []
    data["pid"] = 0  # as if the process that wrote it had died
    path.write_text(json.dumps(data))
    assert autosave.find_orphans(folder) == [path]
    restored = autosave.restore(path)
    assert restored.dirty and restored.project_id == project.project_id
    assert [(e.frame, e.kind, e.image) for e in restored.exemplars] == [
        (e.frame, e.kind, e.image) for e in project.exemplars
    ]
    autosave.discard_autosave(folder, restored)
    assert autosave.find_orphans(folder) == []
