"""The whole per-frame pipeline on a real clip, through the session and the engine, on a small canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colormnet import color
from colormnet.engines import deepexemplar
from colormnet.engines.base import ExemplarInput
from colormnet.engines.deepexemplar import DeepExemplarOptions
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader
from tests.conftest import SMALL_DEEPEXEMPLAR_CANVAS

from .conftest import CLIPS

SMALL = DeepExemplarOptions(canvas=SMALL_DEEPEXEMPLAR_CANVAS)


def _frames(clip: str, *indices: int) -> list[np.ndarray]:
    reader = VideoReader(CLIPS / clip)
    try:
        return [reader.read(i) for i in indices]
    finally:
        reader.close()


def _colorize(weights: Path, exemplars: list[Exemplar], frames: list[int]) -> dict[int, np.ndarray]:
    config = SessionConfig(engine="deepexemplar", device="cpu")
    with Session(CLIPS / "realshort.mp4", weights=weights, config=config) as session:
        session.set_exemplars(exemplars)
        assert session.weights_are_random
        return {r.index: r.rgb for r in session.colorize(frames)}


@pytest.mark.usefixtures("small_deepexemplar_canvas")
def test_session_runs_are_deterministic_full_size_and_segment_independent(de_weights_dir: Path) -> None:
    first, other, late = (f.astype(np.float32) / 255 for f in _frames("realshort.mp4", 0, 30, 3))
    exemplars = [Exemplar(frame=1, image=first, kind="reference"), Exemplar(frame=2, image=other, kind="reference")]
    frames = [0, 1, 2, 3]
    run1 = _colorize(de_weights_dir, exemplars, frames)
    assert sorted(run1) == frames
    assert all(rgb.shape == (240, 320, 3) and np.isfinite(rgb).all() for rgb in run1.values())
    # A second run with the second exemplar changed: segment 0 (frame 1, then frame 0 backwards) is bit-identical.
    changed = _colorize(de_weights_dir, [exemplars[0], Exemplar(frame=2, image=late, kind="reference")], frames)
    assert all(np.array_equal(run1[i], changed[i]) for i in (0, 1))
    assert not np.array_equal(run1[3], changed[3])
    # The output follows the source's full-resolution luminance (up to gamut clipping of the random colours).
    source = color.luminance(_frames("realshort.mp4", 3)[0])
    assert np.corrcoef(color.luminance(run1[3]).ravel(), source.ravel())[0, 1] > 0.9


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return color.luminance(rgb)


def test_engine_keyframe_references_and_input_kinds(de_weights_dir: Path) -> None:
    backend = deepexemplar.load_backend(de_weights_dir, device="cpu", options=SMALL)
    frame0, frame1 = _frames("realshort.mp4", 0, 1)
    gray0 = np.repeat(color.luminance(frame0)[..., None], 3, -1)
    ex = frame0.astype(np.float32) / 255
    keyframe = ExemplarInput(ex, "keyframe")
    engine = backend.new_engine()
    out0 = engine.step(_lightness(gray0), keyframe).ab
    assert np.array_equal(out0, keyframe.lab(240, 320)[1:])  # a keyframe's own frame takes the exemplar's chroma
    assert engine.step(_lightness(frame1)).ab.shape == (2, 240, 320)

    reference = ExemplarInput(ex, "reference")
    single = backend.new_engine().step(_lightness(frame1), reference).ab
    doubled = backend.new_engine(references=[ex]).step(_lightness(frame1), reference).ab
    assert np.array_equal(single, doubled)  # the same reference twice changes nothing
    rgba = np.concatenate([ex, np.ones_like(ex[..., :1])], -1)
    as_rgba = backend.new_engine().step(_lightness(frame1), ExemplarInput(rgba, "reference")).ab
    assert np.array_equal(single, as_rgba)
    mixed = backend.new_engine(references=[_frames("movie.mp4", 10)[0]]).step(_lightness(frame1), reference).ab
    assert mixed.shape == single.shape and not np.array_equal(mixed, single)


@pytest.mark.parametrize("framing", ["official", "fit"])
def test_any_aspect_ratio_gets_every_pixel(de_weights_dir: Path, framing: str) -> None:
    options = DeepExemplarOptions(framing=framing, canvas=SMALL_DEEPEXEMPLAR_CANVAS)  # type: ignore[arg-type]
    backend = deepexemplar.load_backend(de_weights_dir, device="cpu", options=options)
    assert framing in backend.fingerprint
    frame = _frames("shepard_calais_1906_bw.ogv", 40)[0]
    portrait = np.ascontiguousarray(frame.transpose(1, 0, 2))  # 214 x 160
    ex = _frames("movie.mp4", 20)[0].astype(np.float32) / 255
    for picture in (frame, portrait):
        shape = picture.shape[:2]
        result = backend.new_engine().step(_lightness(picture), ExemplarInput(ex, "reference"))
        ab = result.ab
        assert ab.shape == (2, *shape) and np.isfinite(ab).all()
        # Colour reaches the borders too (random weights colour everything).
        assert np.abs(ab[:, :3]).mean() > 1e-3 and np.abs(ab[:, -3:]).mean() > 1e-3
        # The matching's similarity comes back as a confidence over the same pixels.
        confidence = result.confidence
        assert confidence is not None and confidence.shape == shape and confidence.dtype == np.float32
        assert confidence.min() >= 0 and confidence.max() <= 1 and np.ptp(confidence) > 0
