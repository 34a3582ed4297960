"""Planning: shots bound the passes, exemplars of one shot blend, transitions cross-fade, runs stash before fusing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colormnet.plan import Pass, ShotSpan, normalise_shots, plan_runs, plan_segments


def frames_of(segments):
    return [f for s in segments for f in range(s.start, s.stop)]


def test_one_shot_one_exemplar_is_one_segment_forward_then_backward() -> None:
    segs = plan_segments([ShotSpan(0, 30)], [10])
    assert [(s.start, s.stop, s.anchor, s.exemplar) for s in segs] == [(0, 30, 10, 0)]
    runs = plan_runs(segs, set(range(30)))
    assert [(r.pass_.forward, r.frames[0], r.frames[-1]) for r in runs] == [(True, 10, 29), (False, 10, 0)]
    assert not any(r.stash or r.fuse for r in runs)


def test_cut_mode_is_one_segment_per_exemplar() -> None:
    segs = plan_segments([ShotSpan(0, 36)], [5, 20], transition="cut")
    assert [(s.start, s.stop, s.anchor) for s in segs] == [(0, 20, 5), (20, 36, 20)]
    assert sum(len(r.frames) for r in plan_runs(segs, set(range(36)))) == 6 + 15 + 16


def test_blend_fuses_a_forward_and_a_backward_pass_between_two_exemplars() -> None:
    segs = plan_segments([ShotSpan(0, 40)], [5, 25])
    assert [(s.start, s.stop, s.exemplar, s.partner) for s in segs] == [(0, 5, 0, None), (5, 25, 0, 1),
                                                                        (25, 40, 1, None)]
    piece = segs[1].pieces[0]
    assert piece.weight(5) == 0.0 and 0.0 < piece.weight(6) < 0.01 and piece.weight(15) == pytest.approx(0.5)
    weights = [piece.weight(f) for f in range(5, 25)]
    assert weights == sorted(weights) and weights[-1] < 1.0
    runs = plan_runs(segs, set(range(40)))
    backward = next(r for r in runs if r.pass_ == Pass(1, 25, False))
    forward = next(r for r in runs if r.pass_ == Pass(0, 5, True))
    assert runs.index(backward) < runs.index(forward)  # the stash is filled before the fusion reads it
    assert backward.stash == set(range(6, 25)) and set(forward.fuse) == set(range(6, 25))
    assert forward.emit == {5: 1}  # the exemplar's own frame stays exactly what its exemplar gives
    assert backward.frames == list(range(25, 5, -1))


def test_shots_bound_the_passes_and_reset_memory_at_cuts() -> None:
    shots = normalise_shots([ShotSpan(0, 10), ShotSpan(10, 25), ShotSpan(25, 30)], 30)
    segs = plan_segments(shots, [3, 14], donors={2: 0})
    assert [(s.start, s.stop, s.shot) for s in segs] == [(0, 10, 0), (10, 25, 1), (25, 30, 2)]
    runs = plan_runs(segs, set(range(30)))
    for run in runs:
        shot = next(s for s in shots if s.start <= run.pass_.anchor < s.stop)
        assert all(shot.start <= f < shot.stop for f in run.frames), run
    borrowed = [r for r in runs if r.pass_.borrowed]
    assert [(r.pass_.exemplar, r.frames[0], r.frames[-1]) for r in borrowed] == [(0, 25, 29)]


def test_a_shot_without_exemplar_or_donor_has_no_segment() -> None:
    segs = plan_segments(normalise_shots([ShotSpan(0, 10), ShotSpan(10, 20)], 20), [2])
    assert frames_of(segs) == list(range(10))


def test_a_dissolve_cross_fades_the_passes_of_both_shots() -> None:
    shots = normalise_shots([ShotSpan(0, 30), ShotSpan(30, 60, transition=(24, 36))], 60)
    segs = plan_segments(shots, [5, 45])
    assert frames_of(segs) == list(range(60))
    runs = plan_runs(segs, set(range(60)))
    outgoing = next(r for r in runs if r.pass_ == Pass(0, 5, True))
    incoming = next(r for r in runs if r.pass_ == Pass(1, 45, False))
    assert outgoing.frames[-1] == 35 and incoming.frames[-1] == 24  # both passes reach over the dissolve
    assert set(outgoing.fuse) == set(range(24, 36)) == incoming.stash
    weights = [outgoing.fuse[f][1] for f in range(24, 36)]
    assert weights == sorted(weights) and weights[0] > 0 and weights[-1] < 1
    assert weights[6] == pytest.approx(1 - weights[5])  # linear and symmetric about the boundary


def test_an_exemplar_inside_a_dissolve_makes_it_a_cut() -> None:
    shots = normalise_shots([ShotSpan(0, 30), ShotSpan(30, 60, transition=(24, 36))], 60)
    segs = plan_segments(shots, [5, 33])
    assert not any(len(p.passes) == 2 for s in segs for p in s.pieces)


def test_a_borrowed_exemplar_runs_both_ways_over_a_fade() -> None:
    shots = normalise_shots([ShotSpan(0, 30), ShotSpan(30, 60, transition=(26, 34))], 60)
    segs = plan_segments(shots, [5], donors={1: 0})
    runs = plan_runs(segs, set(range(60)))
    borrowed = {(r.pass_.forward, r.frames[0], r.frames[-1]) for r in runs if r.pass_.borrowed}
    assert borrowed == {(False, 30, 26), (True, 30, 59)}


def test_bad_shot_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="tile"):
        normalise_shots([ShotSpan(0, 10), ShotSpan(12, 20)], 20)
    with pytest.raises(ValueError, match="covers frames"):
        normalise_shots([ShotSpan(0, 10)], 20)
    with pytest.raises(ValueError, match="straddle"):
        normalise_shots([ShotSpan(0, 10), ShotSpan(10, 20, transition=(11, 14))], 20)


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 79), max_size=5, unique=True),
    exemplars=st.lists(st.integers(0, 79), min_size=1, max_size=6, unique=True),
    wanted=st.sets(st.integers(0, 79), min_size=1),
    blend=st.booleans(),
)
def test_every_wanted_frame_is_produced_once_within_its_shot(cuts, exemplars, wanted, blend) -> None:
    bounds = [0, *sorted(cuts), 80]
    shots = [ShotSpan(a, b) for a, b in itertools.pairwise(bounds)]
    frames = sorted(exemplars)
    donors = {s: 0 for s, shot in enumerate(shots) if not any(shot.start <= f < shot.stop for f in frames)}
    segs = plan_segments(shots, frames, transition="blend" if blend else "cut", donors=donors)
    assert frames_of(segs) == list(range(80))
    runs = plan_runs(segs, wanted)
    produced = [f for r in runs for f in (*r.emit, *r.fuse)]
    assert sorted(produced) == sorted(wanted)
    stashed = [f for r in runs for f in r.stash]
    assert sorted(stashed) == sorted(f for r in runs for f in r.fuse)
    for run in runs:
        assert run.frames[0] == run.pass_.anchor
        assert set(run.emit) | run.stash | set(run.fuse) <= set(run.frames)
    for f in frames:  # every exemplar's own frame comes from its own pass alone
        if f in wanted:
            assert any(f in r.emit and r.pass_.anchor == f for r in runs)


def test_memory_runs_one_pass_per_shot_holding_every_exemplar_of_it() -> None:
    shots = normalise_shots([ShotSpan(0, 20), ShotSpan(20, 40)], 40)
    segs = plan_segments(shots, [4, 12, 30], transition="memory")
    assert [(s.start, s.stop, s.exemplar) for s in segs] == [(0, 20, 0), (20, 40, 2)]
    runs = plan_runs(segs, set(range(40)))
    assert [(r.pass_.forward, r.pass_.anchor, r.pass_.extras, r.frames[-1]) for r in runs] == [
        (True, 4, (1,), 19), (False, 4, (1,), 0), (True, 30, (), 39), (False, 30, (), 20)]
