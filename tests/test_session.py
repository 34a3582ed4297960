"""The session API: segments, independence, order, cancel, resolution and parity with the official outputs."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet import color
from colormnet.engines.base import StepResult
from colormnet.errors import DeviceOutOfMemoryError, ExemplarError
from colormnet.session import Exemplar, Session, SessionConfig, process_shape
from colormnet.video import VideoReader
from tests.conftest import GOLDEN

TINY = SessionConfig(process_size=112, transition="cut")  # each exemplar up to the next (blend: test_blend.py)


@pytest.fixture(scope="module")
def clip_frames(realshort: Path) -> list[np.ndarray]:
    with VideoReader(realshort) as reader:
        return [rgb for _, rgb in reader.frames()]


def as_exemplar(rgb: np.ndarray, frame: int, kind: str = "auto") -> Exemplar:
    return Exemplar(frame=frame, image=rgb.astype(np.float32) / 255.0, kind=kind)  # type: ignore[arg-type]


@pytest.fixture
def session(realshort: Path, random_weights: Path):
    with Session(realshort, weights=random_weights, config=TINY) as s:
        yield s


def test_segments_follow_the_exemplars(session: Session, clip_frames) -> None:
    session.set_exemplars([as_exemplar(clip_frames[20], 20), as_exemplar(clip_frames[5], 5)])
    segs = session.segments()
    assert [(s.start, s.stop, s.anchor) for s in segs] == [(0, 20, 5), (20, 36, 20)]
    assert session.segment_at(0) == segs[0] and session.segment_at(19) == segs[0] and session.segment_at(35) == segs[1]
    # frames 0-4 run backwards from 5, then 5-19 forwards; segment 1 from 20
    assert session.count_steps() == 6 + 15 + 16


def test_bad_exemplars_are_refused(session: Session, clip_frames) -> None:
    gray = np.repeat(color.luminance(clip_frames[0])[..., None] / 100.0, 3, axis=2).astype(np.float32)
    with pytest.raises(ExemplarError, match="grayscale"):
        session.set_exemplars([Exemplar(0, gray)])
    with pytest.raises(ExemplarError, match="frames 0 to 35"):
        session.set_exemplars([as_exemplar(clip_frames[0], 36)])
    with pytest.raises(ExemplarError, match="Two exemplars"):
        session.set_exemplars([as_exemplar(clip_frames[0], 3), as_exemplar(clip_frames[1], 3)])
    with pytest.raises(ExemplarError):
        list(session.colorize())  # nothing pinned yet


def test_order_backward_segment_and_keyframe_output(session: Session, clip_frames) -> None:
    session.set_exemplars([as_exemplar(clip_frames[3], 3, "keyframe")])
    results = list(session.colorize(range(0, 6)))
    assert [r.index for r in results] == [3, 4, 5, 2, 1, 0]
    # the backward run starts again from the anchor (fresh memory seeded there), which is not yielded twice
    assert [r.done for r in results] == [1, 2, 3, 5, 6, 7] and {r.total for r in results} == {7}
    anchor = results[0]
    assert anchor.rgb.shape == (240, 320, 3) and anchor.kind == "keyframe"
    # the keyframe's own frame shows the exemplar's colours on the frame's luminance
    planes = color.normalize_lab(color.rgb_to_lab(clip_frames[3]))
    expected = color.compose_rgb(color.luminance(clip_frames[3]), planes[1:])
    np.testing.assert_allclose(anchor.rgb, expected, atol=1e-5)


def test_changing_one_exemplar_leaves_the_other_segment_bit_identical(session: Session, clip_frames) -> None:
    wanted = [0, 1, 2, 3, 4, 6, 7]  # segment 0 (anchor 2) and the start of segment 1 (anchor 6)
    session.set_exemplars([as_exemplar(clip_frames[2], 2), as_exemplar(clip_frames[6], 6, "reference")])
    first = {r.index: r.rgb for r in session.colorize(wanted)}
    key0, key1 = (session.segment_key(s) for s in session.segments())
    session.set_exemplars([as_exemplar(clip_frames[2], 2), as_exemplar(clip_frames[30], 6, "reference")])
    second = {r.index: r.rgb for r in session.colorize(wanted)}
    for i in (0, 1, 2, 3, 4):
        assert np.array_equal(first[i], second[i]), i
    assert not np.array_equal(first[7], second[7])
    assert session.segment_key(session.segments()[0]) == key0 and session.segment_key(session.segments()[1]) != key1
    # a frame range on its own gives the same frames as a larger run
    alone = {r.index: r.rgb for r in session.colorize([4])}
    assert np.array_equal(alone[4], second[4])


def _keys_at(video: Path, weights: Path, exemplars: list[Exemplar], precision: str, other: str
             ) -> tuple[list[str], list[str], list[str]]:
    """A session's own segment keys, its keys at ``other``, and the precisions it loaded an engine for to tell them."""
    config = SessionConfig(process_size=112, transition="cut", device="cpu", precision=precision)  # type: ignore[arg-type]
    with Session(video, weights=weights, config=config) as s:
        s.set_exemplars(exemplars)
        own = [s.segment_key(seg) for seg in s.segments()]
        assert [s.segment_key(seg, precision=precision) for seg in s.segments()] == own  # type: ignore[arg-type]
        loads: list[str] = []
        backend = s._backend

        def counted(p: str) -> object:
            loads.append(p)
            return backend(p)  # type: ignore[arg-type]

        s._backend = counted  # type: ignore[method-assign,assignment]
        at_other = [s.segment_key(seg, precision=other) for seg in s.segments() * 2]  # type: ignore[arg-type]
        return own, at_other[:len(own)], loads


def test_a_key_at_another_precision_is_that_sessions_key(realshort: Path, random_weights: Path,
                                                         clip_frames, emulated_bf16) -> None:
    exemplars = [as_exemplar(clip_frames[2], 2), as_exemplar(clip_frames[20], 20, "reference")]
    fp32, fp32_as_bf16, loads = _keys_at(realshort, random_weights, exemplars, "fp32", "bf16")
    assert loads == ["bf16"]  # the other precision's engine is asked for once, not per segment
    bf16, bf16_as_fp32, _ = _keys_at(realshort, random_weights, exemplars, "bf16", "fp32")
    assert len(fp32) == 2 and fp32 != bf16  # the numerics are part of a key
    assert fp32_as_bf16 == bf16 and bf16_as_fp32 == fp32


def test_bf16_on_a_cpu_without_it_renders_and_keys_as_fp32(realshort: Path, random_weights: Path, clip_frames,
                                                             monkeypatch) -> None:
    from colormnet.engines import precision

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: False)
    exemplars = [as_exemplar(clip_frames[2], 2), as_exemplar(clip_frames[20], 20, "reference")]
    fp32, _, _ = _keys_at(realshort, random_weights, exemplars, "fp32", "bf16")
    bf16, _, _ = _keys_at(realshort, random_weights, exemplars, "bf16", "fp32")
    assert bf16 == fp32  # fp32 frames, cached and found as such


def test_exemplar_images_are_hashed_once_per_image(session: Session, clip_frames,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.session import types

    hashed: list[tuple[int, ...]] = []
    digest = types._image_digest

    def counted(image: np.ndarray) -> str:
        hashed.append(image.shape)
        return digest(image)

    monkeypatch.setattr(types, "_image_digest", counted)
    first, second = as_exemplar(clip_frames[2], 2), as_exemplar(clip_frames[20], 20)
    session.set_exemplars([first, second])
    keys = [session.segment_key(s) for s in session.segments()]
    assert [session.segment_key(s) for s in session.segments()] == keys and len(hashed) == 2
    hashed.clear()
    # the same image re-pinned as another kind is not hashed again; a new image at frame 20 is
    session.set_exemplars([dataclasses.replace(first, kind="keyframe"), as_exemplar(clip_frames[30], 20)])
    changed = [session.segment_key(s) for s in session.segments()]
    assert len(hashed) == 1 and changed[0] != keys[0] and changed[1] != keys[1]
    session.set_exemplars([first, second])
    assert [session.segment_key(s) for s in session.segments()] == keys


def test_cancel_stops_between_frames(session: Session, clip_frames) -> None:
    session.set_exemplars([as_exemplar(clip_frames[0], 0)])
    cancel = threading.Event()
    seen = []
    for result in session.colorize(cancel=cancel):
        seen.append(result.index)
        if len(seen) == 2:
            cancel.set()
    assert seen == [0, 1]


def test_auto_kind_tells_a_keyframe_from_a_reference(session: Session, clip_frames, tmp_path: Path) -> None:
    with VideoReader(Path(__file__).parent / "data" / "clips" / "movie.mp4") as reader:
        other = reader.read(0)
    session.set_exemplars([as_exemplar(clip_frames[0], 0), as_exemplar(other, 10)])
    assert session.resolve_kind(0)[0] == "keyframe"
    assert session.resolve_kind(1)[0] == "reference"


def test_processing_size_cap() -> None:
    assert process_shape(240, 320, 540) == (240, 320)
    assert process_shape(1080, 1920, 540) == (540, 960)
    assert process_shape(240, 320, 112) == (112, 149)


@pytest.mark.parametrize("mode", ["reference", "keyframe"])
def test_one_exemplar_at_frame_0_reproduces_the_official_outputs(random_weights: Path, tmp_path: Path, mode) -> None:
    """The golden frames as an image sequence: the session's RGB equals the official ab on the frames' L."""
    frames = tmp_path / "frames"
    shutil.copytree(GOLDEN / "frames", frames)
    golden = np.load(GOLDEN / f"official_ab_{mode}.npz")["ab"]
    inputs = np.load(GOLDEN / "official_inputs.npz")
    exemplar_rgb = np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB"))
    # oneDNN off, as in tests/test_engine.py::test_outputs_match_the_official_code (its kernels differ by CPU)
    with torch.backends.mkldnn.flags(enabled=False), Session(
        frames, weights=random_weights, config=SessionConfig(device="cpu")
    ) as s:
        s.set_exemplars([Exemplar(0, exemplar_rgb.astype(np.float32) / 255.0, kind=mode)])
        results = list(s.colorize())
    assert [r.index for r in results] == list(range(8))
    for r in results:
        lightness = inputs["frames_L"][r.index] * 50 + 50
        expected = color.compose_rgb(lightness, golden[r.index])
        np.testing.assert_allclose(r.rgb, expected, atol=2e-3, err_msg=f"frame {r.index}")


class _FlakyGpuBackend:
    """A stand-in for a GPU backend whose engine runs out of memory once, at the third step."""

    name = "flaky"
    device = torch.device("meta")
    is_random = True
    fingerprint = "flaky"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.released = 0

    def release_memory(self) -> None:
        self.released += 1

    def new_engine(self, config):
        backend = self

        class Engine:
            def step(self, lightness, exemplar=None, *, end=False, work_size=None, size=None):
                backend.calls.append(work_size)
                if len(backend.calls) == 3:  # what an engine raises when its GPU runs out of memory
                    raise DeviceOutOfMemoryError("The CUDA ran out of memory (simulated).")
                return StepResult(np.zeros((2, *size), np.float32))

        return Engine()


def test_gpu_out_of_memory_retries_the_run_at_a_smaller_size(realshort: Path, clip_frames) -> None:
    backend = _FlakyGpuBackend()
    with Session(realshort, config=SessionConfig(process_size=200)) as s:
        s._model = backend  # type: ignore[assignment]
        assert s.segments() == []
        s.set_exemplars([as_exemplar(clip_frames[0], 0, "reference")])
        key_before = s.segment_key(s.segments()[0])
        results = list(s.colorize(range(0, 5)))
        # frames made at the smaller size are cached under another key than those of the configured size
        assert s.process_size == 150 and s.segment_key(s.segments()[0]) != key_before
    assert [r.index for r in results] == [0, 1, 2, 3, 4]  # every frame once, in order
    assert [bool(r.notice) for r in results] == [False, False, True, False, False]
    assert "150" in results[2].notice
    assert backend.calls[:3] == [(200, 267)] * 3 and set(backend.calls[3:]) == {(150, 200)}
    assert results[-1].total == 5 + 5  # the run started again from its anchor
    assert backend.released == 1  # the backend was asked to give its device memory back
