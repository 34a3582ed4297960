"""The fast path of shot detection: luminance straight from the decoder, and the gate in front of TransNetV2."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from benchmarks.shot_montage import Piece, build_montage, write_gray_video
from colormnet.shots.detect import work_size
from colormnet.shots.gate import BLEND_RESIDUAL, TransitionGate, blend_residual
from colormnet.shots.learned import LearnedDetector, load_model
from colormnet.video import VideoReader
from colormnet.video.pixels import rgb_luma8

CLIPS = Path(__file__).parent / "data" / "clips"
SIZE = (192, 108)


@pytest.mark.parametrize("name", ["cockatoo.mp4", "shepard_calais_1906_bw.ogv", "realshort.mp4"])
def test_luma_from_the_decoder_matches_luma_of_the_rgb(name: str) -> None:
    with VideoReader(CLIPS / name) as reader:
        size = work_size(reader.info.width, reader.info.height)
        for index in (0, 7, 30):
            direct = reader.read_luma(index, size).astype(np.int16)
            via_rgb = rgb_luma8(reader.read(index), size).astype(np.int16)
            assert direct.shape == via_rgb.shape and direct.dtype == np.int16
            # the same picture: limited range expanded; BT.601 vs the stream's weights and RGB gamut clipping apart
            assert np.abs(direct - via_rgb).mean() < 2.0
            assert np.percentile(np.abs(direct - via_rgb), 99) <= 12


def _write(path: Path, pix_fmt: str, levels: list[int], color_range: int | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        if color_range is not None:
            stream.codec_context.color_range = color_range
        for level in levels:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), format="rgb24")
            frame = frame.reformat(format=pix_fmt, dst_color_range=color_range or 1)
            if color_range is not None:
                frame.color_range = color_range
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p10le", "gray", "bgr0"])
def test_black_and_white_read_as_0_and_255(tmp_path: Path, pix_fmt: str) -> None:
    path = _write(tmp_path / f"{pix_fmt}.mkv", pix_fmt, [0, 255, 128])
    with VideoReader(path) as reader:
        levels = [float(reader.read_luma(i, (32, 24)).mean()) for i in range(3)]
    assert levels[0] <= 2 and levels[1] >= 253 and abs(levels[2] - 128) <= 3


def test_luma_and_rgb_reads_of_one_frame_do_not_mix(tmp_path: Path) -> None:
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        luma = reader.read_luma(3, (64, 36))
        rgb = reader.read(3)
        again = reader.read_luma(3, (64, 36))
    assert luma.shape == (36, 64) and rgb.shape[2] == 3
    np.testing.assert_array_equal(luma, again)


def test_image_folder_luma_is_the_luma_of_its_rgb(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"f{k:03d}.png"), rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    with VideoReader(tmp_path) as reader:
        for index, luma in reader.luma_frames((30, 20)):
            np.testing.assert_array_equal(luma, rgb_luma8(reader.read(index), (30, 20)))


def _small(name: str, index: int) -> np.ndarray:
    with VideoReader(CLIPS / name) as reader:
        return cv2.resize(reader.read_luma(index), (48, 27), interpolation=cv2.INTER_AREA).astype(np.float32)


def test_a_blend_passes_the_gate_and_motion_does_not() -> None:
    a, b = _small("movie.mp4", 10), _small("cockatoo.mp4", 10)
    middle = 0.6 * a + 0.4 * b
    residual = blend_residual(a, middle, b)
    assert residual is not None and residual < 0.05
    moved = np.roll(a, 6, axis=1)  # the same picture moved: no blend of a and a moved further
    further = np.roll(a, 12, axis=1)
    residual = blend_residual(a, moved, further)
    assert residual is not None and residual > BLEND_RESIDUAL
    assert blend_residual(a, a, a + 3) is None  # too little change to be any boundary
    assert blend_residual(a, a, b) is None  # a picture that stays, then changes: no sign of a blend


def _gate_runs(path: Path) -> list[tuple[int, int]]:
    gate = TransitionGate()
    with VideoReader(path) as reader:
        for _, gray in reader.luma_frames((48, 27)):
            gate.push(gray)
    gate.finish()
    return gate._runs


@pytest.fixture(scope="module")
def dissolve_montage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[int, int]]:
    """Two real shots joined by a 12-frame dissolve, then the cockatoo's whip pan after a hard cut."""
    pieces = (Piece("movie.mp4", 0, 60), Piece("realshort.mp4", 0, 36, "dissolve", 12),
              Piece("cockatoo.mp4", 150, 280))
    frames, truth = build_montage(pieces, SIZE)
    assert truth[0].transition is not None
    path = write_gray_video(tmp_path_factory.mktemp("gate") / "dissolve.mp4", frames)
    return path, truth[0].transition


def test_gate_marks_the_dissolve_and_not_the_whip_pan(dissolve_montage: tuple[Path, tuple[int, int]]) -> None:
    path, (start, stop) = dissolve_montage
    runs = _gate_runs(path)
    assert any(a < stop and start < b for a, b in runs)
    pan_start = 60 + 36 - 12  # the pan follows the dissolve's shot
    assert not [r for r in runs if r[1] > pan_start + 2]


def test_gated_detector_scores_only_near_the_dissolve_and_as_a_full_pass(
        dissolve_montage: tuple[Path, tuple[int, int]]) -> None:
    path, (start, stop) = dissolve_montage
    model = load_model()
    full, gated = LearnedDetector(model=model), LearnedDetector(model=model, gated=True)
    with VideoReader(path) as reader:
        for index, gray in reader.luma_frames(work_size(*SIZE)):
            full.push(index, gray)
            gated.push(index, gray)
    single_full, many_full = full.scores()
    single, many = gated.scores()
    assert 0 < gated.windows_scored < full.windows_scored
    scored = many > 0
    assert scored[start:stop].all()
    np.testing.assert_allclose(many[scored], many_full[scored], atol=1e-6)
    np.testing.assert_allclose(single[scored], single_full[scored], atol=1e-6)
    gradual = [b for b in gated.finish() if b.kind != "cut"]  # what the combined detector takes from it
    assert [b.kind for b in gradual] == ["dissolve"]
    assert gradual == [b for b in full.finish() if b.kind != "cut"]


def test_gated_detector_loads_no_model_when_nothing_may_be_a_transition() -> None:
    detector = LearnedDetector(gated=True)
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        for index, gray in reader.luma_frames((96, 54)):
            detector.push(index, gray)
    assert detector.finish() == []
    assert detector.windows_scored == 0 and detector._model is None


def test_damaged_frames_read_as_luma_hold_the_last_good_frame(tmp_path: Path) -> None:
    from tests.test_video_damage import damaged_copy

    path = damaged_copy(tmp_path, range(12, 16))
    with VideoReader(path) as reader:
        lumas = dict(reader.luma_frames((64, 36)))
        assert reader.damaged_frames() == [12, 13, 14, 15]
    assert len(lumas) == 36
    for frame in range(12, 16):
        np.testing.assert_array_equal(lumas[frame], lumas[11])
    assert not np.array_equal(lumas[16], lumas[11])
