"""The project's shot list as the app edits, shows and stores it (Qt-free).

The library finds the shots (:func:`colormnet.shots.shots_for_video`); the restorer then adds a cut at a frame or
removes the one that opens a shot. Each shot is shown with where its colours come from: its own exemplars, an
exemplar it borrows from another shot (which, and why), or nothing. The restorer may link a shot without an exemplar
to another shot's exemplar by hand (:func:`link_choices`); the links are a shot's first frame -> the frame of that
exemplar. A project file stores the list and the links; it is untrusted input, so :func:`stored_shots` and
:func:`stored_links` check every value before a :class:`~colormnet.shots.Shot` or a link is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.model.project_file import MAX_FRAME, ProjectError
from colormnet.shots import BOUNDARY_KINDS, Shot, ShotListError, shot_index, validate_shots

MAX_SHOTS = 100_000
"""Most shots a project may store (a feature film has a few thousand)."""


@dataclass(frozen=True)
class ShotState:
    """A shot on the timeline and where its colours come from.

    Attributes:
        start, stop: Its frames ``[start, stop)``.
        boundary: What opens it: start, cut, dissolve or fade.
        transition: The frames of the dissolve or fade that opens it, or None.
        own: Frames of its own exemplars.
        borrowed: Frame of the exemplar it borrows (None when it has its own or there is none).
        how: own, linked, similar, nearest or none.
    """

    start: int
    stop: int
    boundary: str
    transition: tuple[int, int] | None
    own: tuple[int, ...]
    borrowed: int | None
    how: str

    def describe(self, number: int) -> str:
        """One line about the shot for a tooltip or label (``number`` counts from 1)."""
        head = f"Shot {number}, frames {self.start}–{self.stop - 1}"
        if self.own:
            frames = ", ".join(str(f) for f in self.own)
            return f"{head}: own exemplar{'s' if len(self.own) > 1 else ''} at {frames}"
        if self.borrowed is not None:
            why = {"linked": "linked by hand", "similar": "the most similar set-up", "nearest": "the nearest in time"}
            return f"{head}: borrows the exemplar at frame {self.borrowed} ({why.get(self.how, self.how)})"
        return f"{head}: no exemplar"


def shot_states(
    shots: Sequence[Shot], exemplar_frames: Iterable[int], borrowed: dict[int, tuple[int, str]]
) -> list[ShotState]:
    """The state of every shot.

    Args:
        shots: The shot list.
        exemplar_frames: Frames of the project's exemplars.
        borrowed: A shot's first frame -> (the frame of the exemplar it borrows, how it was chosen), as the session
            said; shots with their own exemplars or with nothing to borrow are absent.
    """
    frames = sorted(exemplar_frames)
    states = []
    for shot in shots:
        own = tuple(f for f in frames if shot.start <= f < shot.stop)
        donor, how = borrowed.get(shot.start, (None, "none")) if not own else (None, "own")
        states.append(ShotState(shot.start, shot.stop, shot.boundary, shot.transition, own, donor, how))
    return states


def add_cut(shots: Sequence[Shot], frame: int) -> list[Shot]:
    """``shots`` with a hard cut before ``frame`` (the shot holding it splits in two).

    Raises:
        ShotListError: ``frame`` already opens a shot, or lies outside the shots.
    """
    k = shot_index(shots, frame)
    shot = shots[k]
    if frame == shot.start:
        raise ShotListError(f"Frame {frame} already opens a shot; move the playhead inside a shot to cut it.")
    transition = shot.transition
    if transition is not None:  # keep only the part of the transition before the new cut
        low, high = transition[0], min(transition[1], frame)
        transition = (low, high) if high - low > 1 and low <= shot.start < high else None
    head = replace(shot, stop=frame, transition=transition)
    return [*shots[:k], head, Shot(frame, shot.stop, "cut"), *shots[k + 1 :]]


def remove_cut(shots: Sequence[Shot], frame: int) -> tuple[list[Shot], int]:
    """``shots`` without the boundary that opens the shot holding ``frame`` (it joins the shot before).

    Returns:
        The new list and the frame of the removed boundary.

    Raises:
        ShotListError: ``frame`` is in the first shot (no cut opens it), or outside the shots.
    """
    k = shot_index(shots, frame)
    if k == 0:
        raise ShotListError(f"Frame {frame} is in the first shot; no cut opens it. Move the playhead past a cut.")
    merged = replace(shots[k - 1], stop=shots[k].stop)
    return [*shots[: k - 1], merged, *shots[k + 1 :]], shots[k].start


def next_without_exemplar(states: Sequence[ShotState], frame: int) -> ShotState | None:
    """The first shot after the one holding ``frame`` with no exemplar of its own (wrapping round); None if none."""
    if not states:
        return None
    starts = [s.start for s in states]
    here = max(0, sum(1 for s in starts if s <= frame) - 1)
    for step in range(1, len(states) + 1):
        state = states[(here + step) % len(states)]
        if not state.own:
            return state
    return None


def shots_to_data(shots: Sequence[Shot]) -> list[dict[str, Any]]:
    """The shot list as JSON-ready values (what a project file stores)."""
    return [
        {"start": s.start, "stop": s.stop, "boundary": s.boundary,
         "transition": list(s.transition) if s.transition is not None else None}
        for s in shots
    ]


def stored_shots(value: Any) -> list[Shot] | None:
    """The shot list a project file stores (None when it stores none), every value checked.

    Raises:
        ProjectError: It is not a list of shots with whole frame numbers, known boundaries and transitions holding
            their shot's first frame, following each other from frame 0 without gap or overlap.
    """
    if value is None:
        return None
    damaged = "The project file is damaged: its shot list is not one ColorMNet Studio writes."
    if not isinstance(value, list) or not value or len(value) > MAX_SHOTS:
        raise ProjectError(damaged)
    shots = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"start", "stop", "boundary", "transition"}:
            raise ProjectError(damaged)
        start, stop, boundary = item.get("start"), item.get("stop"), item.get("boundary")
        transition = item.get("transition")
        if not (_frame(start) and _frame(stop)) or not isinstance(boundary, str) or boundary not in BOUNDARY_KINDS:
            raise ProjectError(damaged)
        if transition is not None and not (
            isinstance(transition, list) and len(transition) == 2 and all(_frame(t) for t in transition)
        ):
            raise ProjectError(damaged)
        try:
            shots.append(Shot(start, stop, boundary, tuple(transition) if transition is not None else None))  # type: ignore[arg-type]
        except ShotListError as exc:
            raise ProjectError(damaged) from exc
    try:
        return validate_shots(shots)
    except ShotListError as exc:
        raise ProjectError(damaged) from exc


def _frame(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_FRAME + 1


def link_choices(shots: Sequence[Shot], exemplar_frames: Iterable[int], frame: int) -> list[int]:
    """The exemplar frames the shot holding ``frame`` may take its colours from: those of other shots, ascending.

    Empty when no shot holds ``frame``, or when that shot has an exemplar of its own (it needs no link).
    """
    shot = next((s for s in shots if s.start <= frame < s.stop), None)
    if shot is None:
        return []
    frames = sorted(exemplar_frames)
    if any(shot.start <= f < shot.stop for f in frames):
        return []
    return [f for f in frames if not shot.start <= f < shot.stop]


def prune_links(shots: Sequence[Shot], links: dict[int, int]) -> dict[int, int]:
    """The links whose shot still exists (its first frame opens a shot) and points outside it."""
    spans = {s.start: s.stop for s in shots}
    return {start: target for start, target in links.items()
            if start in spans and not start <= target < spans[start]}


def links_after_move(shots: Sequence[Shot] | None, links: dict[int, int], frame: int,
                     new_frame: int | None) -> dict[int, int]:
    """The links once the exemplar at ``frame`` moved to ``new_frame`` (None: removed): a link names an exemplar,
    so those to it follow it, or go with it; one whose shot now holds the exemplar itself goes (see
    :func:`prune_links`)."""
    moved = {start: target for start, target in links.items() if target != frame}
    if new_frame is not None:
        moved |= {start: new_frame for start, target in links.items() if target == frame}
    return prune_links(shots, moved) if shots is not None else moved


def links_to_data(links: dict[int, int]) -> list[list[int]]:
    """The links as JSON-ready values: ``[[shot's first frame, exemplar frame], ...]`` in shot order."""
    return [[start, target] for start, target in sorted(links.items())]


def stored_links(value: Any, shots: Sequence[Shot] | None, exemplar_frames: Iterable[int]) -> dict[int, int]:
    """The links a project file stores, every value checked; those of shots no longer in ``shots``, and those to a
    frame with none of ``exemplar_frames`` (left by an exemplar moved before links followed it), are dropped.

    Raises:
        ProjectError: Not a list of ``[first frame, exemplar frame]`` pairs of whole frame numbers, one per shot.
    """
    if value is None:
        return {}
    damaged = "The project file is damaged: its shot links are not ones ColorMNet Studio writes."
    if not isinstance(value, list) or len(value) > MAX_SHOTS:
        raise ProjectError(damaged)
    links: dict[int, int] = {}
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(_frame(v) for v in item)) or item[0] in links:
            raise ProjectError(damaged)
        links[item[0]] = item[1]
    targets = set(exemplar_frames)
    links = {start: target for start, target in links.items() if target in targets}
    return prune_links(shots, links) if shots is not None else links
