"""Shot lists: the model's checks, and JSON, CSV and EDL files written and read back, hostile ones included."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import pytest

from colormnet.shots import (
    Boundary,
    Shot,
    ShotListError,
    shot_index,
    shots_from_boundaries,
    timecode,
    validate_shots,
)
from colormnet.shots.formats import MAX_FILE_BYTES, load_shot_list, save_shot_list, to_edl
from colormnet.shots.model import parse_timecode

SHOTS = [
    Shot(0, 57, "start"),
    Shot(57, 120, "cut"),
    Shot(120, 126, "cut"),
    Shot(126, 300, "dissolve", (121, 132)),
    Shot(300, 301, "cut"),
    Shot(301, 400, "fade", (301, 335)),
]


def test_the_example_list_is_valid() -> None:
    assert validate_shots(SHOTS, 400) == SHOTS
    assert [shot_index(SHOTS, f) for f in (0, 56, 57, 125, 126, 399)] == [0, 0, 1, 2, 3, 5]
    for outside in (-1, 400):
        with pytest.raises(ShotListError, match="outside"):
            shot_index(SHOTS, outside)


def test_shots_from_boundaries_cover_the_video_and_clip_transitions() -> None:
    shots = shots_from_boundaries(
        [Boundary(50, "cut"), Boundary(0, "cut"), Boundary(80, "dissolve", (70, 95)), Boundary(50, "fade"),
         Boundary(90, "cut"), Boundary(500, "cut")], 100)
    assert shots == [Shot(0, 50, "start"), Shot(50, 80, "cut"), Shot(80, 90, "dissolve", (70, 90)),
                     Shot(90, 100, "cut")]
    assert shots_from_boundaries([], 7) == [Shot(0, 7, "start")]


@pytest.mark.parametrize(("shots", "count", "message"), [
    ([], None, "empty"),
    ([Shot(0, 10, "start"), Shot(12, 20, "cut")], None, "gap"),
    ([Shot(0, 10, "start"), Shot(8, 20, "cut")], None, "overlap"),
    ([Shot(1, 10, "start")], None, "gap"),
    ([Shot(0, 10, "cut")], None, "only the first"),
    ([Shot(0, 10, "start"), Shot(10, 20, "start")], None, "only the first"),
    ([Shot(0, 10, "start")], 11, "another video"),
])
def test_invalid_lists_are_refused(shots: list[Shot], count: int | None, message: str) -> None:
    with pytest.raises(ShotListError, match=message):
        validate_shots(shots, count)


@pytest.mark.parametrize(("args", "message"), [
    ((5, 5, "cut"), "at least one frame"),
    ((-1, 5, "cut"), "at least one frame"),
    ((0, 5, "wipe"), "boundary is one of"),
    ((10, 20, "cut", (8, 12)), "does not hold"),
    ((10, 20, "dissolve", (11, 14)), "does not hold"),
])
def test_invalid_shots_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(ShotListError, match=message):
        Shot(*args)


def test_timecodes() -> None:
    assert timecode(0, 25) == "00:00:00:00"
    assert timecode(25 * 3661 + 7, Fraction(25)) == "01:01:01:07"
    assert timecode(30, Fraction(30000, 1001)) == "00:00:01:00"  # non-drop-frame at 30
    assert parse_timecode("01:01:01:07", 25) == 25 * 3661 + 7
    for bad in ("1:2:3", "00:00:00:25", "00:61:00:00", "aa:bb:cc:dd", "00:00:00:-1"):
        with pytest.raises(ShotListError):
            parse_timecode(bad, 25)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".edl"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = save_shot_list(tmp_path / f"shots{suffix}", SHOTS, Fraction(24000, 1001))
    assert load_shot_list(path, fps=Fraction(24000, 1001), frame_count=400) == SHOTS
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_file_contents(tmp_path: Path) -> None:
    data = json.loads(save_shot_list(tmp_path / "s.json", SHOTS, 25).read_text())
    assert data["shots"][3] == {"start": 126, "stop": 300, "boundary": "dissolve", "start_timecode": "00:00:05:01",
                                "transition": [121, 132]}
    csv_lines = save_shot_list(tmp_path / "s.csv", SHOTS, 25).read_text().splitlines()
    # the link column is always there, empty (automatic), for a restorer to fill in by hand
    assert csv_lines[0] == "start,stop,boundary,start_timecode,transition_start,transition_stop,colours_from"
    assert csv_lines[1] == "0,57,start,00:00:00:00,,,"
    assert csv_lines[4] == "126,300,dissolve,00:00:05:01,121,132,"
    edl = to_edl(SHOTS, 25, "my film").splitlines()
    assert edl[:2] == ["TITLE: my film", "FCM: NON-DROP FRAME"]
    assert edl[3].split() == ["001", "AX", "V", "C", "00:00:00:00", "00:00:02:07", "00:00:00:00", "00:00:02:07"]
    assert edl[9].split()[:5] == ["004", "AX", "V", "D", "011"]


def test_plain_edl_from_an_editor(tmp_path: Path) -> None:
    edl = tmp_path / "nle.edl"
    edl.write_text("TITLE: cut\nFCM: NON-DROP FRAME\n\n"
                   "001  AX V C        00:00:00:00 00:00:02:00 00:00:00:00 00:00:02:00\n"
                   "* FROM CLIP NAME: film.mov\n"
                   "002  AX A C        00:00:00:00 00:00:02:00 00:00:00:00 00:00:02:00\n"
                   "003  AX V D 010    00:00:02:00 00:00:04:00 00:00:02:00 00:00:04:00\n")
    assert load_shot_list(edl, fps=25) == [Shot(0, 50, "start"), Shot(50, 100, "dissolve", (45, 55))]


@pytest.mark.parametrize(("name", "content"), [
    ("a.csv", b"start,stop\n0,57\n57,120\n120,400\n"),
    ("a.csv", b"\xef\xbb\xbf start , stop ,note\r\n0,57,day\r\n57,120,night\r\n120,400,\r\n"),  # a spreadsheet's
    ("a.json", b'{"shots": [{"start": 0, "stop": 57}, {"start": 57, "stop": 120}, {"start": 120, "stop": 400}]}'),
    ("a.json", b'[{"start": 0, "stop": 57}, {"start": 57, "stop": 120}, {"start": 120, "stop": 400}]'),  # the list
    ("a.json", b"[[0, 57], [57, 120], [120, 400]]"),  # [start, stop] pairs
])
def test_a_list_without_boundaries_opens_every_later_shot_at_a_cut(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert load_shot_list(path, frame_count=400) == [Shot(0, 57, "start"), Shot(57, 120, "cut"), Shot(120, 400, "cut")]


def test_boundaries_given_for_some_shots_only(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"shots": [{"start": 0, "stop": 57},
                                          {"start": 57, "stop": 120, "boundary": "dissolve", "transition": [55, 60]},
                                          {"start": 120, "stop": 400}]}))
    assert load_shot_list(path) == [Shot(0, 57, "start"), Shot(57, 120, "dissolve", (55, 60)), Shot(120, 400, "cut")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.json", b"{", "not valid JSON"),
    ("a.json", b'"shots"', 'a list "shots"'),
    ("a.json", b"[1, 2]", r"shot 1 must be an object with start and stop, or \[start, stop\]"),
    ("a.json", b"[[0, 5, 9]]", "must be an object"),
    ("a.json", b'{"shots": [7]}', "must be an object"),
    ("a.json", b'{"shots": [{"start": 0, "boundary": "start"}]}', "has no stop"),
    ("a.json", b'{"shots": [{"stop": 5}]}', "has no start"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 5, "boundary": null}]}', "must be text"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 5}, {"start": 5, "stop": 9, "boundary": "wipe"}]}',
     "Unknown boundary"),
    ("a.json", b'{"shots": [{"start": true, "stop": 5, "boundary": "start"}]}', "frame number"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 1e99, "boundary": "start"}]}', "frame number"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 5, "boundary": {"x": 1}}]}', "must be text"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 5, "boundary": "start", "transition": [1]}]}', "transition"),
    ("a.json", b'{"shots": [{"start": 0, "stop": 5, "boundary": "start"}, '
               b'{"start": 4, "stop": 9, "boundary": "cut"}]}', "overlap"),
    ("a.json", b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ("a.json", b"\xff\xfe\x00junk", "not UTF-8"),
    ("a.json", b'{"shots": []}', "empty"),
    ("a.csv", b"first,last\n0,5\n", "header row"),
    ("a.csv", b"", "header row"),
    ("a.csv", b"start,stop,boundary\n0,5,start\n5,x,cut\n", "frame number"),
    ("a.csv", b"start,stop,boundary\n0,5,start\n5,9,wipe\n", "Unknown boundary"),
    ("a.csv", b"start,stop,boundary\n0,5,start\n5,9\n", "row 3"),
    ("a.csv", b"start,boundary\n0,start\n", "header row"),
    ("a.csv", b"start,stop\n0,5\n5,x\n", "frame number"),
    ("a.csv", b"start,stop\n0,5\n7,9\n", "gap"),
    ("a.csv", b"start,stop,transition_start,transition_stop\n0,5,,\n5,9,4,6\n", "dissolve or a fade"),
    ("a.edl", b"TITLE: x\nrm -rf /\n", "not a CMX3600 event"),
    ("a.edl", b"001  AX V C 00:00:00:00 00:00:99:00 00:00:00:00 00:00:99:00\n", "out of range"),
    ("a.txt", b"", "a .json, .csv or .edl"),
])
def test_malformed_files_give_one_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ShotListError, match=message) as info:
        load_shot_list(path, fps=25)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_missing_huge_and_folder_files(tmp_path: Path) -> None:
    with pytest.raises(ShotListError, match="does not exist"):
        load_shot_list(tmp_path / "none.json")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ShotListError, match="folder"):
        load_shot_list(tmp_path / "dir.csv")
    os.mkfifo(tmp_path / "pipe.json")  # reading it would block forever
    with pytest.raises(ShotListError, match="device"):
        load_shot_list(tmp_path / "pipe.json")
    (tmp_path / "zero.json").symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(ShotListError, match="device"):
        load_shot_list(tmp_path / "zero.json")
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ShotListError, match="larger than"):
        load_shot_list(huge)
    edl = save_shot_list(tmp_path / "x.edl", SHOTS, 25)
    with pytest.raises(ShotListError, match="frame rate"):
        load_shot_list(edl)
    with pytest.raises(ShotListError, match="another video"):
        load_shot_list(edl, fps=25, frame_count=500)


@pytest.mark.parametrize("content", [
    b"Start;Stop\n0;57\n57;120\n120;400\n",  # a spreadsheet in a locale whose decimal mark is a comma
    b"START\tSTOP\n0\t57\n57\t120\n120\t400\n",
])
def test_a_spreadsheets_csv_is_read_whatever_its_separator_and_case(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cuts.csv"
    path.write_bytes(content)
    assert load_shot_list(path, frame_count=400) == [Shot(0, 57, "start"), Shot(57, 120, "cut"), Shot(120, 400, "cut")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("cuts.csv", b"start,stop\n0,39\n39,abc\n", "cuts.csv: row 3: stop must be a frame number, not 'abc'."),
    ("cuts.csv", b"first,last\n0,5\n", "cuts.csv: The shot list CSV needs a header row"),
    ("cuts.json", b'{"shots": [7]}', "cuts.json: shot 1 must be an object"),
    ("cuts.edl", b"TITLE: x\nrm -rf /\n", "cuts.edl: Line 2 of the EDL"),
])
def test_a_fault_in_a_shot_list_names_the_file_and_the_row_once(tmp_path: Path, name: str, content: bytes,
                                                                 message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ShotListError) as info:
        load_shot_list(path, fps=25)
    assert str(info.value).startswith(message)
    assert str(info.value).count("row 3") <= 1
