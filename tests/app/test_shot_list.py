"""The shot list the app edits and stores: cuts added and removed, the next shot without an exemplar, and the stored
list and its hand-chosen links read as untrusted input (every hostile value refused with one sentence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.model.project import Project, ProjectError
from app.model.shot_list import (
    add_cut,
    link_choices,
    links_after_move,
    links_to_data,
    next_without_exemplar,
    prune_links,
    remove_cut,
    shot_states,
    shots_to_data,
    stored_links,
    stored_shots,
)
from colormnet.shots import Shot, ShotListError

SHOTS = [Shot(0, 20, "start"), Shot(20, 30, "dissolve", (18, 23)), Shot(30, 40, "cut")]


def test_a_cut_splits_the_shot_under_the_frame_and_keeps_the_rest() -> None:
    assert add_cut(SHOTS, 10) == [Shot(0, 10, "start"), Shot(10, 20, "cut"), *SHOTS[1:]]
    # a cut inside a dissolve's second half keeps the part of the transition before it
    assert add_cut(SHOTS, 22)[1:3] == [Shot(20, 22, "dissolve", (18, 22)), Shot(22, 30, "cut")]
    with pytest.raises(ShotListError, match="already opens a shot"):
        add_cut(SHOTS, 20)
    with pytest.raises(ShotListError, match="outside"):
        add_cut(SHOTS, 40)


def test_removing_a_cut_joins_the_shot_to_the_one_before() -> None:
    assert remove_cut(SHOTS, 25) == ([Shot(0, 30, "start"), Shot(30, 40, "cut")], 20)
    assert remove_cut(SHOTS, 30) == ([*SHOTS[:1], Shot(20, 40, "dissolve", (18, 23))], 30)
    with pytest.raises(ShotListError, match="first shot"):
        remove_cut(SHOTS, 5)


def test_states_and_the_next_shot_without_an_exemplar() -> None:
    states = shot_states(SHOTS, [5, 35], {20: (5, "similar")})
    assert [(s.own, s.borrowed, s.how) for s in states] == [
        ((5,), None, "own"), ((), 5, "similar"), ((35,), None, "own"),
    ]
    assert "borrows the exemplar at frame 5" in states[1].describe(2)
    assert next_without_exemplar(states, 0) == states[1]
    assert next_without_exemplar(states, 35) == states[1]  # wraps round
    assert next_without_exemplar(shot_states(SHOTS, [5, 25, 35], {}), 0) is None


def test_a_stored_list_reads_back() -> None:
    assert stored_shots(json.loads(json.dumps(shots_to_data(SHOTS)))) == SHOTS
    assert stored_shots(None) is None


def _item(**changes: Any) -> list[dict[str, Any]]:
    data = shots_to_data(SHOTS)
    data[1].update(changes)
    return data


HOSTILE = {
    "not a list": {"start": 0},
    "a string": "0-40",
    "empty": [],
    "an item not an object": [0, 40],
    "a float frame": _item(start=20.0),
    "a boolean frame": _item(stop=True),
    "a negative frame": [{"start": -1, "stop": 20, "boundary": "start", "transition": None}],
    "a huge frame": _item(stop=10**30),
    "a frame as text": _item(start="20"),
    "an unknown boundary": _item(boundary="wipe"),
    "a boundary not text": _item(boundary=["cut"]),
    "an unknown key": _item(note="x"),
    "a transition of three": _item(transition=[18, 20, 23]),
    "a transition not holding the start": _item(transition=[21, 25]),
    "a transition on a cut": _item(boundary="cut"),
    "a transition of floats": _item(transition=[18.0, 23.0]),
    "a gap": _item(start=21),
    "an overlap": _item(start=19),
    "an empty shot": _item(stop=20),
    "a second start": _item(boundary="start", transition=None),
    "too many shots": [{"start": 0, "stop": 1, "boundary": "start", "transition": None}]
    + [{"start": k, "stop": k + 1, "boundary": "cut", "transition": None} for k in range(1, 100_001)],
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_stored_list_is_refused_in_one_sentence(value: Any) -> None:
    with pytest.raises(ProjectError, match="shot list") as caught:
        stored_shots(value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["a gap", "a boolean frame", "an unknown boundary"])
def test_a_project_file_with_a_hostile_shot_list_does_not_open(tmp_path: Path, realshort: Path, name: str) -> None:
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.shots = list(SHOTS)
    path = tmp_path / "film.cmnproj"
    project.save(path)
    assert Project.load(path).shots == SHOTS
    data = json.loads(path.read_text())
    data["shots"] = HOSTILE[name]
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="shot list"):
        Project.load(path)


def test_link_choices_are_the_exemplars_of_other_shots() -> None:
    assert link_choices(SHOTS, [35, 5], 25) == [5, 35]  # shot 2 has none of its own
    assert link_choices(SHOTS, [5, 25, 35], 25) == []  # it has one: nothing to choose
    assert link_choices(SHOTS, [5], 99) == []  # no shot there
    assert prune_links(SHOTS, {20: 5, 10: 35, 30: 35}) == {20: 5}  # no shot at 10; 35 is shot 3's own frame


def test_links_follow_a_moved_exemplar_and_go_with_a_removed_one() -> None:
    links = {20: 5, 30: 7}
    assert links_after_move(SHOTS, links, 5, 12) == {20: 12, 30: 7}  # within its shot
    assert links_after_move(SHOTS, links, 5, 35) == {20: 35, 30: 7}  # into a third shot: still the same exemplar
    assert links_after_move(SHOTS, links, 7, 33) == {20: 5}  # into shot 3 itself: its own exemplar now
    assert links_after_move(SHOTS, links, 5, None) == {30: 7}
    assert links_after_move(SHOTS, links, 9, 10) == links  # an exemplar no link names
    assert links_after_move(None, links, 5, 25) == {20: 25, 30: 7}  # shots not found yet: nothing to check against


def test_stored_links_read_back_and_stale_ones_are_dropped(tmp_path: Path, realshort: Path,
                                                           colour_frames: dict[int, Path]) -> None:
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.add_exemplar(5, colour_frames[4])
    project.shots, project.shot_links = list(SHOTS), {20: 5}
    path = tmp_path / "film.cmnproj"
    project.save(path)
    assert json.loads(path.read_text())["shot_links"] == [[20, 5]]
    assert Project.load(path).shot_links == {20: 5}
    assert stored_links(links_to_data({20: 5, 30: 1}), SHOTS, [1, 5]) == {20: 5, 30: 1}
    assert stored_links([[21, 5]], SHOTS, [5]) == {}  # frame 21 opens no shot (the list was edited): dropped
    assert stored_links(None, SHOTS, [5]) == {}
    assert stored_links([[21, 5]], None, [5]) == {21: 5}  # the shots are not found yet: kept until they are
    # a link to a frame without an exemplar (saved before links followed a moved exemplar) would borrow whatever
    # exemplar is later put there: dropped
    assert stored_links([[20, 5], [30, 1]], SHOTS, [5]) == {20: 5}
    project.remove_exemplar(5)
    project.shot_links = {20: 5}
    project.save(path)
    assert Project.load(path).shot_links == {}


HOSTILE_LINKS = {
    "not a list": {"20": 5},
    "a pair of three": [[20, 5, 1]],
    "text": [["20", 5]],
    "a boolean": [[20, True]],
    "negative": [[20, -1]],
    "beyond any video": [[20, 2**40]],
    "a float": [[20, 5.0]],
    "two links for one shot": [[20, 5], [20, 6]],
    "too many": [[k, 0] for k in range(100_001)],
}


@pytest.mark.parametrize("value", HOSTILE_LINKS.values(), ids=HOSTILE_LINKS.keys())
def test_hostile_stored_links_are_refused_in_one_sentence(tmp_path: Path, realshort: Path, value: Any) -> None:
    with pytest.raises(ProjectError, match="shot links") as caught:
        stored_links(value, SHOTS, [5])
    assert "\n" not in str(caught.value)
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.shots = list(SHOTS)
    path = tmp_path / "film.cmnproj"
    project.save(path)
    data = json.loads(path.read_text())
    data["shot_links"] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="shot links"):
        Project.load(path)
