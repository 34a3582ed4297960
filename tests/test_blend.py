"""Shots and transitions in the session: memory reset at cuts, blended exemplars, borrowing, dissolves, cache keys.

The weight-free ``propagate`` engine runs on real colour footage, its own frames as keyframes; ColorMNet and Deep
Exemplar run with random weights for the mechanics (exact keyframes, steps, memory reset at cuts).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colormnet import color
from colormnet.errors import ExemplarError
from colormnet.metrics import psnr
from colormnet.plan import ShotSpan
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader

CLIPS = Path(__file__).parent / "data" / "clips"
PROPAGATE = SessionConfig(engine="propagate", process_size=120)


def read_clip(name: str, start: int, stop: int, size: tuple[int, int] = (160, 120)) -> list[np.ndarray]:
    with VideoReader(CLIPS / name) as reader:
        return [cv2.resize(reader.read(i), size, interpolation=cv2.INTER_AREA) for i in range(start, stop)]


def write_sequence(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).save(folder / f"{i:05d}.png")
    return folder


def keyframe(frames: list[np.ndarray], index: int) -> Exemplar:
    return Exemplar(index, frames[index].astype(np.float32) / 255.0, kind="keyframe")


def render(video: Path, exemplars: list[Exemplar], *, shots=None, transition="blend", weights=None,
           config: SessionConfig = PROPAGATE, frames=None) -> dict[int, np.ndarray]:
    config = SessionConfig(**{**config.__dict__, "transition": transition})
    with Session(video, weights=weights, config=config) as session:
        session.set_exemplars(exemplars)
        session.set_shots(shots)
        return {r.index: r.to_uint8() for r in session.colorize(frames)}


def ab_of(rgb8: np.ndarray) -> np.ndarray:
    return color.rgb_to_lab(rgb8.astype(np.float32) / 255.0)[..., 1:]


def share(first: np.ndarray, second: np.ndarray, fused: np.ndarray) -> float:
    """Where ``fused`` chroma lies between two renders, as the median over the pixels where they differ (0: first)."""
    d = second - first
    mask = np.abs(d) > 2
    return float(np.median((fused - first)[mask] / d[mask]))


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    frames = read_clip("realshort.mp4", 0, 24)
    return write_sequence(tmp_path_factory.mktemp("shot") / "frames", frames), frames


@pytest.fixture(scope="module")
def montage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """Two shots of different set-ups and the first set-up again: realshort 0-11, movie 0-11, realshort 12-23."""
    frames = read_clip("realshort.mp4", 0, 12) + read_clip("movie.mp4", 0, 12) + read_clip("realshort.mp4", 12, 24)
    return write_sequence(tmp_path_factory.mktemp("montage") / "frames", frames), frames


@pytest.fixture(scope="module")
def de_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from colormnet.engines.deepexemplar.weights import save_random_weights

    return save_random_weights(tmp_path_factory.mktemp("deepexemplar") / "weights", seed=0)


MONTAGE_SHOTS = [ShotSpan(0, 12), ShotSpan(12, 24), ShotSpan(24, 36)]


def test_blend_keeps_both_keyframes_exact_and_fuses_the_two_passes_between(shot) -> None:
    video, frames = shot
    first, last = keyframe(frames, 0), keyframe(frames, 23)
    blend = render(video, [first, last])
    cut = render(video, [first, last], transition="cut")
    forward = render(video, [first], frames=range(0, 23))
    backward = render(video, [Exemplar(23, last.image, kind="keyframe")], frames=range(1, 24))
    for f in (0, 23):  # a keyframe stays exactly what its exemplar gives
        assert np.array_equal(blend[f], cut[f])
    assert all(np.array_equal(cut[f], forward[f]) for f in range(23))  # cut: forward from 0 up to 23
    shares = [share(ab_of(forward[f]), ab_of(backward[f]), ab_of(blend[f])) for f in range(1, 23)]
    # the backward pass's share rises with position (weighted per pixel by each pass's confidence)
    assert all(0.0 <= s <= 1.0 for s in shares) and shares[3] < 0.3 and shares[-4] > 0.7
    assert all(b >= a - 0.05 for a, b in itertools.pairwise(shares))
    assert all(not np.array_equal(blend[f], forward[f]) for f in (6, 12, 18))
    # the colour moves smoothly: no frame-to-frame jump larger than the true clip's own largest one
    steps = [np.abs(ab_of(blend[f + 1]) - ab_of(blend[f])).mean() for f in range(23)]
    true_steps = [np.abs(ab_of(frames[f + 1]) - ab_of(frames[f])).mean() for f in range(23)]
    assert max(steps) <= 1.5 * max(true_steps)


def test_changing_an_exemplar_changes_only_the_segments_that_name_it(shot) -> None:
    video, frames = shot
    with Session(video, config=PROPAGATE) as session:
        session.set_exemplars([keyframe(frames, 3), keyframe(frames, 10), keyframe(frames, 17)])
        keys = [session.segment_key(s) for s in session.segments()]
        assert [(s.start, s.stop) for s in session.segments()] == [(0, 3), (3, 10), (10, 17), (17, 24)]
        before = {r.index: r.to_uint8() for r in session.colorize()}
        changed = Exemplar(17, frames[20].astype(np.float32) / 255.0, kind="reference")
        session.set_exemplars([keyframe(frames, 3), keyframe(frames, 10), changed])
        after_keys = [session.segment_key(s) for s in session.segments()]
        after = {r.index: r.to_uint8() for r in session.colorize()}
    assert after_keys[:2] == keys[:2] and after_keys[2] != keys[2] and after_keys[3] != keys[3]
    assert all(np.array_equal(before[f], after[f]) for f in range(0, 11))
    assert not np.array_equal(before[14], after[14]) and not np.array_equal(before[20], after[20])


def test_memory_resets_at_every_cut(montage) -> None:
    """An exemplar pinned a few frames after a cut governs the frames between the cut and itself."""
    video, frames = montage
    exemplars = [keyframe(frames, 0), keyframe(frames, 15), keyframe(frames, 24)]
    with_shots = render(video, exemplars, shots=MONTAGE_SHOTS)
    without = render(video, exemplars, transition="cut")  # one shot: frames 12-14 run on from frame 0
    swapped = render(video, [Exemplar(0, frames[30].astype(np.float32) / 255.0), *exemplars[1:]], shots=MONTAGE_SHOTS)
    assert all(np.array_equal(with_shots[f], swapped[f]) for f in range(12, 36))  # nothing crosses a cut
    # frames 12-14 come from the exemplar at 15 (backwards), not from the previous shot's memory
    scores = [psnr(with_shots[f], frames[f]) for f in (12, 13, 14)]
    assert min(scores) > max(psnr(without[f], frames[f]) for f in (12, 13, 14)) + 3
    assert min(scores) > 28


def test_a_shot_without_exemplar_borrows_from_the_same_set_up(montage) -> None:
    video, frames = montage
    with Session(video, config=PROPAGATE) as session:
        session.set_exemplars([keyframe(frames, 2), keyframe(frames, 14)])
        session.set_shots(MONTAGE_SHOTS)
        sources = session.shot_sources()
        assert [s.how for s in sources] == ["own", "own", "similar"]
        assert sources[2].borrowed == 0 and sources[2].similarity > 0.75
        borrowed = [s for s in session.segments() if s.borrowed]
        assert [(s.start, s.stop, s.exemplar) for s in borrowed] == [(24, 36, 0)]
        result = {r.index: r for r in session.colorize(range(24, 36))}
        assert {r.kind for r in result.values()} == {"reference"}  # a borrowed exemplar is a reference
        session.set_shots(MONTAGE_SHOTS, links={24: 14})  # linked by hand
        assert session.shot_sources()[2].how == "linked" and session.shot_sources()[2].borrowed == 1


def test_a_shot_like_no_other_borrows_from_the_nearest_in_time(tmp_path: Path) -> None:
    frames = read_clip("realshort.mp4", 0, 8) + read_clip("movie.mp4", 0, 8) + read_clip("cockatoo.mp4", 0, 8)
    video = write_sequence(tmp_path / "frames", frames)
    with Session(video, config=PROPAGATE) as session:
        session.set_exemplars([keyframe(frames, 0), keyframe(frames, 9)])
        session.set_shots([ShotSpan(0, 8), ShotSpan(8, 16), ShotSpan(16, 24)])
        source = session.shot_sources()[2]
    assert source.how == "nearest" and source.borrowed == 1


def test_a_dissolve_cross_fades_the_renders_of_both_shots(tmp_path: Path) -> None:
    a, b = read_clip("realshort.mp4", 0, 20), read_clip("movie.mp4", 0, 20)
    frames = a[:12] + [((1 - (i + 0.5) / 8) * a[12 + i] + (i + 0.5) / 8 * b[i]).astype(np.uint8) for i in range(8)]
    frames += b[8:20]
    video = write_sequence(tmp_path / "frames", frames)  # shot 1: 0-15, shot 2: 16-31, dissolve 12-19
    shots = [ShotSpan(0, 16), ShotSpan(16, 32, transition=(12, 20))]
    exemplars = [keyframe(frames, 0), keyframe(frames, 24)]
    faded = render(video, exemplars, shots=shots)
    hard = render(video, exemplars, shots=[ShotSpan(0, 16), ShotSpan(16, 32)])
    assert sorted(faded) == list(range(32))
    assert all(np.array_equal(faded[f], hard[f]) for f in (*range(12), *range(20, 32)))
    outgoing = render(video, [exemplars[0]], frames=range(12, 20))  # the first shot's pass run on
    incoming = render(video, [exemplars[1]], shots=[ShotSpan(0, 12), ShotSpan(12, 32)], frames=range(12, 20))

    shares = [share(ab_of(outgoing[f]), ab_of(incoming[f]), ab_of(faded[f])) for f in range(12, 20)]
    assert shares[0] < 0.2 and shares[-1] > 0.8 and shares == sorted(shares)


def test_colormnet_blend_mechanics_with_random_weights(shot, random_weights: Path) -> None:
    video, frames = shot
    config = SessionConfig(process_size=112)
    exemplars = [keyframe(frames, 0), keyframe(frames, 7)]
    with Session(video, weights=random_weights, config=config) as session:
        session.set_exemplars(exemplars)
        assert session.count_steps(range(8)) == 7 + 7 + 1  # forward 0-6, backward 7-1, the keyframe 7
        results = {r.index: r for r in session.colorize(range(8))}
    assert sorted(results) == list(range(8)) and results[7].done == results[7].total == 15
    for f in (0, 7):
        lab = color.normalize_lab(color.rgb_to_lab(frames[f]))
        expected = color.compose_rgb(color.luminance(frames[f]), lab[1:])
        np.testing.assert_allclose(results[f].rgb, expected, atol=1e-5)
    cut = render(video, exemplars, transition="cut", weights=random_weights, config=config, frames=range(8))
    assert not np.array_equal(cut[4], results[4].to_uint8())


@pytest.mark.parametrize("engine", ["colormnet", "deepexemplar"])
def test_learned_engines_reset_memory_at_cuts(montage, engine, random_weights: Path, de_weights_dir: Path,
                                             request: pytest.FixtureRequest) -> None:
    video, frames = montage
    if engine == "deepexemplar":
        request.getfixturevalue("small_deepexemplar_canvas")  # what is reset does not depend on the canvas
    weights = random_weights if engine == "colormnet" else de_weights_dir
    config = SessionConfig(engine=engine, process_size=112)
    exemplars = [keyframe(frames, 8), keyframe(frames, 14)]
    wanted = range(10, 16)
    one = render(video, exemplars, shots=MONTAGE_SHOTS, weights=weights, config=config, frames=wanted)
    other = render(video, [Exemplar(8, frames[30].astype(np.float32) / 255.0), exemplars[1]],
                   shots=MONTAGE_SHOTS, weights=weights, config=config, frames=wanted)
    assert all(np.array_equal(one[f], other[f]) for f in (12, 13, 14, 15))
    assert not np.array_equal(one[10], other[10])


def test_memory_holds_every_exemplar_of_the_shot_in_one_pass(shot, random_weights: Path) -> None:
    video, frames = shot
    config = SessionConfig(process_size=112)
    exemplars = [keyframe(frames, 0), keyframe(frames, 6)]
    memory = render(video, exemplars, transition="memory", weights=random_weights, config=config, frames=range(9))
    cut = render(video, exemplars, transition="cut", weights=random_weights, config=config, frames=range(9))
    for f in (0, 6):  # both keyframes stay exact
        assert np.array_equal(memory[f], cut[f])
    assert not np.array_equal(memory[3], cut[3])  # frame 3 already sees the exemplar at 6
    assert not np.array_equal(memory[8], cut[8])  # and frame 8 still sees the one at 0
    with pytest.raises(ExemplarError, match="one exemplar at a time"):
        render(video, exemplars, transition="memory")  # propagate has no such memory
