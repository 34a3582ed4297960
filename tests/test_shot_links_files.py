"""Links chosen by hand in shot list files (``colours_from``): written, read back, and refused when they are bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colormnet.shots import Shot, ShotListError, check_links, load_shot_file, load_shot_list, save_shot_list

SHOTS = [Shot(0, 50, "start"), Shot(50, 100, "cut"), Shot(100, 150, "cut")]
LINKS = {100: 10}  # the third shot takes its colours from the exemplar at frame 10 (shot 1)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_links_round_trip(tmp_path: Path, suffix: str) -> None:
    path = save_shot_list(tmp_path / f"shots{suffix}", SHOTS, 25, LINKS)
    read = load_shot_file(path, fps=25, frame_count=150)
    assert read.shots == SHOTS and read.links == LINKS
    assert load_shot_list(path, fps=25) == SHOTS


def test_the_field_as_written(tmp_path: Path) -> None:
    data = json.loads(save_shot_list(tmp_path / "s.json", SHOTS, 25, LINKS).read_text())
    assert [s.get("colours_from") for s in data["shots"]] == [None, None, 10]
    assert "colours_from" not in data["shots"][0]
    lines = save_shot_list(tmp_path / "s.csv", SHOTS, 25, LINKS).read_text().splitlines()
    assert lines[0].endswith(",colours_from") and lines[1].endswith(",") and lines[3].endswith(",10")
    plain = save_shot_list(tmp_path / "p.csv", SHOTS, 25)  # no links: the column is there to be filled in, empty
    assert plain.read_text().splitlines()[0].endswith(",colours_from")
    assert load_shot_file(plain, fps=25).links == {}


def test_an_edl_carries_no_links(tmp_path: Path) -> None:
    path = save_shot_list(tmp_path / "s.edl", SHOTS, 25, LINKS)
    assert "colours_from" not in path.read_text()
    assert load_shot_file(path, fps=25).links == {}


def test_a_csv_edited_by_hand_empty_is_automatic(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    path.write_text("start,stop,boundary,colours_from\n0,50,start,\n50,100,cut, 120 \n100,150,cut,\n")
    assert load_shot_file(path).links == {50: 120}


@pytest.mark.parametrize(("field", "message"), [
    ('"abc"', "shot 2: colours_from must be a frame number, not 'abc'"),
    ("-4", r"shot 2: colours_from is out of range \(-4\)"),
    ("true", "colours_from must be a frame number"),
    ("[3]", "colours_from must be a frame number"),
    ("1e99", "colours_from must be a frame number"),
    ("70", r"shot 2 \(frames 50-99\): colours_from 70 is one of its own frames"),
])
def test_a_bad_link_in_json_names_the_shot(tmp_path: Path, field: str, message: str) -> None:
    path = tmp_path / "shot.json"
    path.write_text('{"shots": [{"start": 0, "stop": 50, "boundary": "start"},'
                    f' {{"start": 50, "stop": 100, "boundary": "cut", "colours_from": {field}}}]}}')
    with pytest.raises(ShotListError, match=message):
        load_shot_file(path)


def test_a_bad_link_in_csv_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "shot.csv"
    path.write_text("start,stop,boundary,colours_from\n0,50,start,\n50,100,cut,frame ten\n")
    with pytest.raises(ShotListError, match="row 3: colours_from must be a frame number, not 'frame ten'"):
        load_shot_file(path)


def test_links_held_against_the_exemplars() -> None:
    check_links(SHOTS, LINKS, [10, 60])  # shot 3 has none of its own and frame 10 holds one
    with pytest.raises(ShotListError, match=r"shot 3 \(frames 100-149\): colours_from 10 holds no exemplar "
                                            r"\(exemplars at frames: 60\)"):
        check_links(SHOTS, LINKS, [60])
    with pytest.raises(ShotListError, match=r"shot 3 .* has its own exemplar at frame 120"):
        check_links(SHOTS, LINKS, [10, 120])
    with pytest.raises(ShotListError, match=r"holds no exemplar .*none"):
        check_links(SHOTS, LINKS, [])
    with pytest.raises(ShotListError, match="frame 7, which opens no shot"):
        check_links(SHOTS, {7: 10}, [10])


def test_the_session_keeps_the_links_it_was_given() -> None:
    from colormnet.session import Session

    with Session(Path(__file__).parent / "data" / "clips" / "realshort.mp4") as session:
        count = session.frame_count
        session.set_shots([Shot(0, 10, "start"), Shot(10, count, "cut")], {10: 3})
        assert session.shot_links == {10: 3}
        session.set_shots(None)
        assert session.shot_links == {}
