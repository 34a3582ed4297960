"""Reading video files: frame-accurate seeking, reverse iteration, stream facts, colour conversion, bad inputs."""

from __future__ import annotations

import json
import logging
import random
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from colormnet.errors import VideoError
from colormnet.video import REVERSE_CHUNK, VideoReader, probe
from tests.test_video_support import (
    CLIP_NAMES,
    CLIPS,
    digest,
    numbered_frames,
    reference_digests,
    write_audio_only,
    write_video,
)

_REFERENCES: dict[str, list[str]] = {}


def reference(name: str) -> list[str]:
    """Fingerprints of a plain sequential decode of a clip, computed once per test session."""
    if name not in _REFERENCES:
        _REFERENCES[name] = reference_digests(CLIPS / name)
    return _REFERENCES[name]


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_index_count_equals_sequential_decode(name: str) -> None:
    with VideoReader(CLIPS / name) as reader:
        assert len(reader) == reader.info.frame_count == len(reference(name))


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_random_access_matches_sequential_decode(name: str) -> None:
    expected = reference(name)
    n = len(expected)
    rng = random.Random(name)
    # first, last, forward jumps, backward jumps, neighbours and a repeat
    order = [0, n - 1, n // 2, 1, n - 2, n // 3, n // 3 + 1, n // 3 + 2, n // 3, *rng.sample(range(n), 5), 0]
    with VideoReader(CLIPS / name) as reader:
        for index in order:
            assert digest(reader.read(index)) == expected[index], f"frame {index}"


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_frames_forward_and_reverse(name: str) -> None:
    expected = reference(name)
    n = len(expected)
    # the big clip gets a sub-range so the suite stays fast; the range still spans several reverse chunks
    start, stop = (100, 100 + 2 * REVERSE_CHUNK + 5) if name == "cockatoo.mp4" else (0, n)
    with VideoReader(CLIPS / name) as reader:
        if name != "cockatoo.mp4":
            forward = [(i, digest(rgb)) for i, rgb in reader.frames()]
            assert forward == list(enumerate(expected))
        backward = [(i, digest(rgb)) for i, rgb in reader.frames(start, stop, reverse=True)]
    assert backward == [(i, expected[i]) for i in range(stop - 1, start - 1, -1)]


def test_frames_range_is_checked() -> None:
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        assert [i for i, _ in reader.frames(30, 33)] == [30, 31, 32]
        assert list(reader.frames(5, 5)) == []
        with pytest.raises(VideoError):
            next(reader.frames(0, 37))


@pytest.mark.parametrize(
    ("name", "width", "height", "count", "fps", "audio"),
    [
        ("realshort.mp4", 320, 240, 36, Fraction(45000, 1499), True),
        ("movie.mp4", 560, 320, 166, Fraction(30), True),
        ("shepard_calais_1906_bw.ogv", 214, 160, 288, Fraction(15), False),
        ("cockatoo.mp4", 1280, 720, 280, Fraction(20), True),
    ],
)
def test_info(name: str, width: int, height: int, count: int, fps: Fraction, audio: bool) -> None:
    info = probe(CLIPS / name)
    assert (info.width, info.height, info.frame_count, info.fps) == (width, height, count, fps)
    assert info.bit_depth == 8
    assert not info.is_image_sequence and not info.variable_frame_rate
    assert info.has_audio == audio
    assert info.duration == pytest.approx(count / float(fps), rel=1e-3)
    kinds = [stream.kind for stream in info.streams]
    assert "video" in kinds and ("audio" in kinds) == audio
    data = json.loads(json.dumps(info.to_dict()))
    assert data["frame_count"] == count and Fraction(data["fps"]) == fps


def test_stream_descriptions() -> None:
    streams = probe(CLIPS / "realshort.mp4").streams
    video, sound = streams
    assert (video.kind, video.codec) == ("video", "h264") and "320x240" in video.description
    assert (sound.kind, sound.codec) == ("audio", "aac") and "48000 Hz" in sound.description


def test_timestamps_of_constant_rate_clip() -> None:
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        times = reader.timestamps()
    assert times == pytest.approx([i * 1499 / 45000 for i in range(36)], abs=1e-9)


def _bt_rgb(frame: av.VideoFrame, kr: float, kb: float) -> np.ndarray:
    """Reference YUV -> RGB in float from chroma-upsampled planes (limited range)."""
    yuv = frame.reformat(format="yuv444p").to_ndarray(channel_last=True).astype(np.float64)
    y, u, v = (yuv[..., 0] - 16) / 219, (yuv[..., 1] - 128) / 224, (yuv[..., 2] - 128) / 224
    red, blue = y + 2 * (1 - kr) * v, y + 2 * (1 - kb) * u
    green = (y - kr * red - kb * blue) / (1 - kr - kb)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 1) * 255


@pytest.mark.parametrize(("name", "tagged_709"), [("movie.mp4", True), ("realshort.mp4", False)])
def test_colour_matrix_follows_the_tags(name: str, tagged_709: bool) -> None:
    """movie.mp4 is tagged BT.709; realshort.mp4 is untagged and read as BT.601 like FFmpeg does."""
    with av.open(str(CLIPS / name)) as container:
        frame = next(container.decode(video=0))
    with VideoReader(CLIPS / name) as reader:
        rgb = reader.read(0).astype(np.float64)
    error_709 = np.abs(rgb - _bt_rgb(frame, 0.2126, 0.0722)).mean()
    error_601 = np.abs(rgb - _bt_rgb(frame, 0.299, 0.114)).mean()
    right, wrong = (error_709, error_601) if tagged_709 else (error_601, error_709)
    assert right < 0.35 < wrong


def test_full_range_tag_is_honoured(tmp_path: Path) -> None:
    grey = np.full((32, 32, 3), 128, np.uint8)
    path = tmp_path / "full.mkv"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv444p"
        stream.codec_context.color_range = 2  # full range
        planes = np.zeros((3, 32, 32), np.uint8)
        planes[0], planes[1:] = 128, 128  # Y=128 means 128 in full range but 130 in limited range
        frame = av.VideoFrame.from_ndarray(planes, format="yuv444p")
        frame.color_range = 2
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with VideoReader(path) as reader:
        assert np.array_equal(reader.read(0), grey)


def test_high_bit_depth_video_reads_as_uint16(tmp_path: Path) -> None:
    path = tmp_path / "deep.mkv"
    height, width = 16, 32
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "gbrp10le"
        values = (np.arange(height * width).reshape(height, width) * 2 % 1024).astype(np.uint16)
        frame = av.VideoFrame(width, height, "gbrp10le")
        for plane in frame.planes:
            rows = np.zeros((height, plane.line_size // 2), np.uint16)
            rows[:, :width] = values
            plane.update(rows.tobytes())
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with VideoReader(path) as reader:
        assert reader.info.bit_depth == 16
        rgb = reader.read(0)
    assert rgb.dtype == np.uint16
    expected = np.rint(values.astype(np.float64) * 65535 / 1023)
    assert np.abs(rgb[..., 1].astype(np.int64) - expected).max() <= 1


# ------------------------------------------------------------------------------------------------- bad inputs
def _one_sentence(error: pytest.ExceptionInfo[VideoError]) -> str:
    message = str(error.value)
    assert "\n" not in message and message.endswith(".") and message[0].isupper()
    return message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as error:
        VideoReader(tmp_path / "nothing.mp4")
    assert "does not exist" in _one_sentence(error)


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError) as error:
        VideoReader(tmp_path / "empty.mp4")
    assert "empty" in _one_sentence(error)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("these are not the frames you are looking for\n" * 20)
    with pytest.raises(VideoError) as error:
        probe(tmp_path / "notes.mp4")
    assert "notes.mp4" in _one_sentence(error)


def test_audio_only_file(tmp_path: Path) -> None:
    write_audio_only(tmp_path / "tone.wav")
    with pytest.raises(VideoError) as error:
        VideoReader(tmp_path / "tone.wav")
    assert "no video stream" in _one_sentence(error)


def test_truncated_mp4_without_index_is_reported(tmp_path: Path) -> None:
    """movie.mp4 keeps its index (moov) at the end, so a cut copy has no readable frames at all."""
    data = (CLIPS / "movie.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError) as error:
        VideoReader(tmp_path / "cut.mp4")
    _one_sentence(error)


def _faststart_copy(source: Path, target: Path) -> None:
    """Remuxes the video stream with its index at the front, as streaming-ready files are written."""
    with av.open(str(source)) as src, av.open(str(target), "w", options={"movflags": "+faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)


@pytest.mark.parametrize("name", ["movie.mp4", "shepard_calais_1906_bw.ogv"])
def test_truncated_file_exposes_the_frames_that_decode(tmp_path: Path, name: str) -> None:
    source = CLIPS / name
    if name.endswith(".mp4"):
        source = tmp_path / "faststart.mp4"
        _faststart_copy(CLIPS / name, source)
    data = source.read_bytes()
    cut = tmp_path / f"cut{source.suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    expected = reference_digests(cut)
    full_count = probe(source).frame_count
    with VideoReader(cut) as reader:
        assert 0 < len(reader) == len(expected) < full_count
        last = len(reader) - 1
        for index in (last, 0, last // 2, last - 1, last):
            assert digest(reader.read(index)) == expected[index]


def test_a_cut_short_mp4_counts_the_frames_its_index_lost_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The index at the front lists all 166 frames; only the first ones still have their data."""
    source = tmp_path / "faststart.mp4"
    _faststart_copy(CLIPS / "movie.mp4", source)
    data = source.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        counts = [probe(cut).frame_count for _ in range(2)]  # a command opens its input more than once
    kept = counts[0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 0 < kept < 166 and warnings == [
        f"cut.mp4: the file is cut short: only its first {kept} frames decode; the last {166 - kept} are lost"]


@pytest.mark.parametrize(("width", "height", "count"), [(64, 48, 1), (101, 57, 3), (1, 1, 2)])
def test_tiny_odd_and_single_frame_videos(tmp_path: Path, width: int, height: int, count: int) -> None:
    path = tmp_path / f"v{width}x{height}.mkv"
    frames = numbered_frames(count, height, width)
    write_video(path, frames, codec="ffv1", pix_fmt="bgr0")
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height, len(reader)) == (width, height, count)
        for i in reversed(range(count)):
            assert np.array_equal(reader.read(i), frames[i])
        assert reader.info.duration == pytest.approx(count / 25)


def test_variable_frame_rate_timestamps(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 260, 400, 440, 640, 680]
    path = tmp_path / "vfr.mkv"
    frames = numbered_frames(len(pts), 32, 48)
    write_video(path, frames, pts=pts, time_base=Fraction(1, 1000), rate=Fraction(25), options={"bf": "2"})
    with VideoReader(path) as reader:
        assert reader.info.variable_frame_rate
        assert reader.timestamps() == pytest.approx([p / 1000 for p in pts])
        for i in (9, 3, 4, 0):
            assert np.abs(reader.read(i).astype(int) - frames[i]).max() <= 3


def test_index_errors_and_closed_reader() -> None:
    reader = VideoReader(CLIPS / "realshort.mp4")
    with pytest.raises(VideoError) as error:
        reader.read(36)
    assert "0 to 35" in _one_sentence(error)
    with pytest.raises(VideoError):
        reader.read(-1)
    reader.close()
    reader.close()
    with pytest.raises(VideoError):
        reader.read(0)


def test_reader_keeps_decoder_position_for_sequential_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    with VideoReader(CLIPS / "movie.mp4") as reader:
        source = reader._source
        seeks: list[int] = []
        original = source._seek  # type: ignore[union-attr]

        def counting_seek(slot: int) -> None:
            seeks.append(slot)
            original(slot)

        monkeypatch.setattr(source, "_seek", counting_seek)
        reader.read(40)
        for index in range(41, 60):
            reader.read(index)
        assert len(seeks) == 1
        reader.read(10)
        assert len(seeks) == 2


def test_file_copy_with_other_name_reads_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "copy of realshort.MP4"
    shutil.copy(CLIPS / "realshort.mp4", copy)
    with VideoReader(copy) as reader:
        assert digest(reader.read(35)) == reference("realshort.mp4")[35]


def test_stream_without_timestamps_is_read_in_decode_order(tmp_path: Path) -> None:
    """A raw H.264 stream has no timestamps at all: frames are counted by decoding and found by restarting."""
    path = tmp_path / "raw.h264"
    frames = numbered_frames(30, 32, 48)
    with av.open(str(path), mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25, options={"bf": "2", "g": "10"})
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv444p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    expected = reference_digests(path)
    with VideoReader(path) as reader:
        assert len(reader) == len(expected) == 30
        assert reader.timestamps()[:3] == pytest.approx([0, 0.04, 0.08])
        for index in (29, 3, 15, 0, 16, 17):
            assert digest(reader.read(index)) == expected[index]
        assert [i for i, _ in reader.frames(20, 30, reverse=True)] == list(range(29, 19, -1))
