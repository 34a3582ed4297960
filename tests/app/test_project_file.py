"""Hostile and damaged project files: each is refused with one sentence through ProjectError, never a traceback.

The corpus covers what a crafted or damaged ``.cmnproj`` can hold: runaway nesting, numbers beyond a float, NaN,
wrong types, negative and huge frames, bytes that are not UTF-8, a file far too large to be a project, things that
are not files. Property tests then throw whole families of values at every field of an otherwise good project.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.model import autosave
from app.model.project import Project, ProjectError
from app.model.project_file import MAX_PROJECT_BYTES, PROJECT_ID

GOOD_ID = "0123456789abcdef0123456789abcdef"


def good_data(**fields: Any) -> dict[str, Any]:
    """A project as the app writes it (no exemplars, no video), with ``fields`` changed."""
    data: dict[str, Any] = {
        "format": "colormnet-studio-project",
        "version": 1,
        "id": GOOD_ID,
        "video": None,
        "video_relative": None,
        "exemplars": [],
        "settings": {"engine": "propagate", "process_size": 224},
        "in_point": 3,
        "out_point": 9,
        "playhead": 4,
    }
    data.update(fields)
    return data


def text_with(field: str, raw: str) -> bytes:
    """A good project whose ``field`` holds the JSON text ``raw`` (which json.dumps could not write)."""
    marker = "@@RAW@@"
    return json.dumps(good_data(**{field: marker})).replace(f'"{marker}"', raw).encode()


def exemplar(frame: object, image: object = "exemplars/exemplar_a.png", **extra: Any) -> dict[str, Any]:
    return {"frame": frame, "image": image, "kind": "auto", "name": "a", "references": [], **extra}


HOSTILE: dict[str, bytes] = {
    "nested-100000-deep": b'{"format": "colormnet-studio-project", "version": 1, "settings": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "nested-objects-deep": b'{"x": ' * 100_000 + b"1" + b"}" * 100_000,
    "1e999-version": text_with("version", "1e999"),
    "1e999-playhead": text_with("playhead", "1e999"),
    "1e999-in-point": text_with("in_point", "-1e999"),
    "1e999-setting": text_with("settings", '{"process_size": 1e999}'),
    "1e999-frame": text_with("exemplars", '[{"frame": 1e999, "image": "exemplars/a.png"}]'),
    "nan-setting": text_with("settings", '{"top_k": NaN}'),
    "infinity-playhead": text_with("playhead", "Infinity"),
    "5000-digit-frame": text_with("playhead", "9" * 5000),
    "huge-frame": json.dumps(good_data(exemplars=[exemplar(10**30)])).encode(),
    "huge-playhead": json.dumps(good_data(playhead=2**63)).encode(),
    "huge-setting": json.dumps(good_data(settings={"process_size": 10**12})).encode(),
    "huge-setting-as-text": json.dumps(good_data(settings={"mem_every": "9" * 40})).encode(),
    "zero-setting": json.dumps(good_data(settings={"mem_every": 0})).encode(),
    "negative-frame": json.dumps(good_data(exemplars=[exemplar(-1)])).encode(),
    "negative-out-point": json.dumps(good_data(out_point=-5)).encode(),
    "float-frame": json.dumps(good_data(exemplars=[exemplar(2.5)])).encode(),
    "string-frame": json.dumps(good_data(exemplars=[exemplar("3")])).encode(),
    "bool-playhead": json.dumps(good_data(playhead=True)).encode(),
    "list-playhead": json.dumps(good_data(playhead=[1])).encode(),
    "two-exemplars-one-frame": json.dumps(good_data(exemplars=[exemplar(2), exemplar(2)])).encode(),
    "exemplars-as-object": json.dumps(good_data(exemplars={"frame": 1})).encode(),
    "exemplars-as-text": json.dumps(good_data(exemplars="exemplars/a.png")).encode(),
    "exemplar-as-number": json.dumps(good_data(exemplars=[7])).encode(),
    "image-as-number": json.dumps(good_data(exemplars=[exemplar(1, image=5)])).encode(),
    "image-with-nul": json.dumps(good_data(exemplars=[exemplar(1, image="exemplars/a\0.png")])).encode(),
    "references-as-text": json.dumps(good_data(exemplars=[exemplar(1, references="x.png")])).encode(),
    "unknown-kind": json.dumps(good_data(exemplars=[exemplar(1, kind="sepia")])).encode(),
    "kind-as-list": json.dumps(good_data(exemplars=[exemplar(1, kind=["auto"])])).encode(),
    "settings-as-text": json.dumps(good_data(settings="fast")).encode(),
    "settings-as-list": json.dumps(good_data(settings=[["top_k", 3]])).encode(),
    "video-as-number": json.dumps(good_data(video=12)).encode(),
    "video-with-nul": json.dumps(good_data(video="/tmp/a\0.mp4")).encode(),
    "version-as-text": json.dumps(good_data(version="1")).encode(),
    "version-as-list": json.dumps(good_data(version=[1])).encode(),
    "newer-version": json.dumps(good_data(version=2)).encode(),
    "id-absolute": json.dumps(good_data(id="/home/user/films")).encode(),
    "id-dotdot": json.dumps(good_data(id="../../films")).encode(),
    "id-dot": json.dumps(good_data(id=".")).encode(),
    "id-as-number": json.dumps(good_data(id=123)).encode(),
    "id-uppercase": json.dumps(good_data(id=GOOD_ID.upper())).encode(),
    "not-utf8": json.dumps(good_data(exemplars=[exemplar(1, name="@@")])).encode().replace(b"@@", b"\xff\xfe\xc3("),
    "utf16": json.dumps(good_data()).encode("utf-16"),
    "top-level-list": b"[1, 2, 3]",
    "top-level-string": b'"colormnet-studio-project"',
    "empty": b"",
    "nul-bytes": b"\0" * 4096,
    "truncated": json.dumps(good_data()).encode()[:-10],
}


def assert_one_sentence(message: str) -> None:
    assert message.strip() and "\n" not in message and "Traceback" not in message, repr(message)
    assert len(message) < 300, message


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_project_file_is_one_sentence(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.cmnproj"
    path.write_bytes(HOSTILE[case])
    with pytest.raises(ProjectError) as caught:
        Project.load(path)
    assert_one_sentence(str(caught.value))


def test_a_2gb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.cmnproj"
    with path.open("wb") as file:
        file.write(json.dumps(good_data()).encode())
        file.truncate(2 * 1024**3)  # sparse: the disk holds a few bytes
    with pytest.raises(ProjectError, match="too large") as caught:
        Project.load(path)
    assert_one_sentence(str(caught.value))
    limit = tmp_path / "limit.cmnproj"
    limit.write_bytes(json.dumps(good_data()).encode().ljust(MAX_PROJECT_BYTES + 1))
    with pytest.raises(ProjectError, match="too large"):
        Project.load(limit)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "missing", "symlink-loop"])
def test_what_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "odd.cmnproj"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer for ever
    elif kind == "device":
        path.symlink_to("/dev/zero")  # reading it would never end
    elif kind == "symlink-loop":
        path.symlink_to(path)
    with pytest.raises(ProjectError) as caught:
        Project.load(path)
    assert_one_sentence(str(caught.value))


def test_projects_the_app_wrote_still_open(tmp_path: Path) -> None:
    for project_id in (uuid.uuid4().hex, None):  # today's ids, and the earliest files without one
        data = good_data(id=project_id) if project_id else {k: v for k, v in good_data().items() if k != "id"}
        path = tmp_path / "old.cmnproj"
        path.write_text(json.dumps(data, indent=2))
        project = Project.load(path)
        assert PROJECT_ID.fullmatch(project.project_id)
        assert project_id is None or project.project_id == project_id
        assert (project.in_point, project.out_point, project.playhead) == (3, 9, 4)
        assert project.settings.engine == "propagate" and project.settings.process_size == 224


# -- property tests --------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["version", "id", "video", "video_relative", "exemplars", "settings", "in_point", "out_point", "playhead"]
HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_bytes(folder: Path, raw: bytes) -> Project | None:
    """Load ``raw`` as a project file; None when it is refused (with one sentence). Anything else fails the test."""
    path = folder / "p.cmnproj"
    path.write_bytes(raw)
    try:
        return Project.load(path)
    except ProjectError as exc:
        assert_one_sentence(str(exc))
        return None


@HYPOTHESIS
@given(field=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_any_value_in_any_field_opens_or_is_one_sentence(tmp_path: Path, field: str, value: Any) -> None:
    project = load_bytes(tmp_path, json.dumps(good_data(**{field: value})).encode())
    if project is not None:
        assert PROJECT_ID.fullmatch(project.project_id)
        for frame in (project.in_point, project.out_point, project.playhead, *(e.frame for e in project.exemplars)):
            assert frame is None or (isinstance(frame, int) and 0 <= frame < 2**31)
        assert all(e.image.resolve().is_relative_to(project.files_dir.resolve()) for e in project.exemplars)


@HYPOTHESIS
@given(item=st.dictionaries(st.sampled_from(["frame", "image", "kind", "name", "references"]), JSON_VALUES))
def test_any_exemplar_entry_opens_or_is_one_sentence(tmp_path: Path, item: dict[str, Any]) -> None:
    project = load_bytes(tmp_path, json.dumps(good_data(exemplars=[item])).encode())
    if project is not None:
        for entry in project.exemplars:
            assert 0 <= entry.frame < 2**31 and entry.kind in ("auto", "keyframe", "reference")
            for image in (entry.image, *entry.references):
                assert image.resolve().is_relative_to(project.files_dir.resolve())


@HYPOTHESIS
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_open_or_are_one_sentence(tmp_path: Path, raw: bytes) -> None:
    load_bytes(tmp_path, raw)


@HYPOTHESIS
@given(project_id=st.text(max_size=40))
def test_only_ids_of_the_apps_form_are_accepted(tmp_path: Path, project_id: str) -> None:
    project = load_bytes(tmp_path, json.dumps(good_data(id=project_id)).encode())
    assert (project is not None) == bool(PROJECT_ID.fullmatch(project_id))


# -- autosaves -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["nested-100000-deep", "1e999-version", "not-utf8", "huge-playhead"])
def test_a_damaged_autosave_never_stops_the_app_from_starting(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "autosave"
    folder.mkdir()
    (folder / f"{GOOD_ID}.cmnproj").write_bytes(HOSTILE[case])
    (folder / "pid.cmnproj").write_bytes(text_with("playhead", "0").replace(b'"playhead"', b'"pid": 1e999, "x"'))
    (folder / "dirs.cmnproj").write_text(json.dumps({"files_dir": ["not", "a", "path"], "pid": 10**30}))
    orphans = autosave.find_orphans(folder)  # what the app does at start
    assert set(orphans) == set(folder.glob("*.cmnproj"))  # unreadable: offered, then refused with one sentence
    assert autosave.referenced_folders(folder) == frozenset()
    for path in orphans:
        with pytest.raises(ProjectError) as caught:
            autosave.restore(path)
        assert_one_sentence(str(caught.value))


def test_every_setting_the_dialog_allows_opens(tmp_path: Path) -> None:
    from app.widgets.settings_dialog import _MEMORY_FIELDS

    for values in ({"process_size": 112}, {"process_size": 2160}):
        values.update(
            {name: (low if values["process_size"] == 112 else high) for name, _, low, high, _ in _MEMORY_FIELDS}
        )
        project = load_bytes(tmp_path, json.dumps(good_data(settings=values)).encode())
        assert project is not None and project.settings.to_dict().items() >= values.items()
