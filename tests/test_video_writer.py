"""Writing: round trips for every codec, colour tags, odd sizes, timestamps, atomic output and path checks."""

from __future__ import annotations

import dataclasses
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from colormnet.errors import OutputError
from colormnet.video import CODECS, IMAGE_SEQUENCE_CODECS, VideoReader, VideoWriter, check_output_path, probe
from colormnet.video.frame_folder import MANIFEST
from colormnet.video.pixels import to_uint8
from tests.test_video_support import CLIPS, colour_bars, gentle_ramp16, numbered_frames, write_video

SOURCE = CLIPS / "realshort.mp4"  # 45000/1499 fps, the rate every movie round trip must keep
FPS = Fraction(45000, 1499)


def _output(tmp_path: Path, codec: str) -> Path:
    return tmp_path / ("out" if codec in IMAGE_SEQUENCE_CODECS else f"out{CODECS[codec].extensions[0]}")


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if ".partial-" in path.name or ".replaced-" in path.name)


@pytest.mark.parametrize("codec", list(CODECS))
def test_round_trip(tmp_path: Path, codec: str) -> None:
    height, width, count = 48, 64, 5
    frames = [gentle_ramp16(height, width, seed) for seed in range(count)]
    output = _output(tmp_path, codec)
    with VideoReader(SOURCE) as source, VideoWriter(
        output, codec, width=width, height=height, source=source, frame_indices=range(count), audio=False
    ) as writer:
        for rgb in frames:
            writer.write(rgb)
    assert _leftovers(tmp_path) == []
    with VideoReader(output) as reader:
        info = reader.info
        back = [rgb for _, rgb in reader.frames()]
    assert (info.width, info.height, info.frame_count) == (width, height, count)
    if codec in IMAGE_SEQUENCE_CODECS:
        suffix = CODECS[codec].image_suffix
        assert sorted(p.name for p in output.iterdir()) == [MANIFEST] + [f"{i:05d}{suffix}" for i in range(count)]
    elif output.suffix == ".mkv":  # Matroska stores milliseconds, so the rate comes back rounded
        assert float(info.fps) == pytest.approx(float(FPS), rel=1e-4)
    else:
        assert info.fps == FPS
    assert info.bit_depth == CODECS[codec].bit_depth
    if codec in ("ffv1", "png16", "tiff16"):
        assert all(np.array_equal(a, b) for a, b in zip(back, frames, strict=True))
    elif codec == "png":
        assert all(np.array_equal(a, to_uint8(b)) for a, b in zip(back, frames, strict=True))
    elif codec == "prores":
        errors = np.abs(np.stack(back).astype(np.int64) - np.stack(frames))
        # a 10-bit step is 64 in 16-bit units; 8-bit storage alone would average about 64 off on these ramps
        assert errors.mean() < 40 and errors.max() <= 4 * 64
    elif codec == "h265":  # crf 18 is lossy but close
        errors = np.abs(np.stack(back).astype(np.int64) - np.stack(frames))
        assert errors.mean() < 2.5 * 64 and errors.max() <= 16 * 64
    else:
        errors = np.abs(np.stack(back).astype(np.int64) - np.stack([to_uint8(f) for f in frames]))
        assert errors.mean() < 1 and errors.max() <= 6


def _zlib_level_class(png: Path) -> int:
    """FLEVEL of the zlib stream in a PNG's first IDAT chunk: 0 fastest, 1 fast (levels 2-5), 2 default, 3 best."""
    data = png.read_bytes()
    idat = data.index(b"IDAT")
    return data[idat + 5] >> 6  # the chunk type, then the zlib header: CMF, FLG


@pytest.mark.parametrize("codec", ["png", "png16"])
def test_png_frames_are_written_at_a_fast_zlib_level(tmp_path: Path, codec: str) -> None:
    output = _output(tmp_path, codec)
    with VideoReader(SOURCE) as source, VideoWriter(
        output, codec, width=64, height=48, source=source, frame_indices=range(1), audio=False
    ) as writer:
        writer.write(gentle_ramp16(48, 64, 0))
    assert _zlib_level_class(output / "00000.png") == 1  # level 3; FFmpeg's default would read 2


@pytest.mark.parametrize("codec", ["prores", "h265"])
def test_ten_bit_codecs_keep_more_than_eight_bits(tmp_path: Path, codec: str) -> None:
    """A grey ramp 2.3 8-bit levels high: 8-bit storage could hold at most 4 of its values, 10 bits hold about 10."""
    ramp = 30000 + np.rint(np.linspace(0, 600, 64)).astype(np.uint16)
    grey = np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (32, 64, 3)))
    output = _output(tmp_path, codec)
    with VideoWriter(output, codec, width=64, height=32, fps=Fraction(24)) as writer:
        for _ in range(3):
            writer.write(grey)
    with VideoReader(output) as reader:
        back = reader.read(1)[16, :, 1].astype(np.int64)
    assert len(np.unique(back)) >= 7
    assert np.abs(back - ramp).mean() < 64


def test_h264_is_bt709_tagged_and_converted(tmp_path: Path) -> None:
    bars = colour_bars(64, 128)
    output = tmp_path / "bars.mp4"
    with VideoWriter(output, "h264", width=128, height=64, fps=Fraction(25)) as writer:
        for _ in range(3):
            writer.write(bars)
    with av.open(str(output)) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc, context.color_range) == (1, 1, 1, 1)
        assert context.pix_fmt == "yuv420p"
        frame = next(container.decode(video=0))
    plane = frame.planes[0]
    luma = np.frombuffer(bytes(plane), np.uint8).reshape(plane.height, plane.line_size)  # the Y samples as stored
    green = bars[32, 3 * 16 + 8].astype(np.float64) / 255  # centre of the green bar
    y709 = 16 + 219 * (0.2126 * green[0] + 0.7152 * green[1] + 0.0722 * green[2])
    y601 = 16 + 219 * (0.299 * green[0] + 0.587 * green[1] + 0.114 * green[2])
    assert abs(luma[32, 3 * 16 + 8] - y709) <= 1.5 < abs(luma[32, 3 * 16 + 8] - y601)
    with VideoReader(output) as reader:
        back = reader.read(1).astype(np.int64)
    centres = [8 + 16 * i for i in range(8)]
    assert np.abs(back[16:48, centres] - bars[16:48, centres]).max() <= 3


@pytest.mark.parametrize(("codec", "width", "height"), [("h264", 101, 57), ("h264", 1, 1), ("prores", 101, 57)])
def test_odd_sizes_keep_every_pixel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, codec: str, width: int, height: int
) -> None:
    rng = np.random.default_rng(width)
    frames = [np.full((height, width, 3), rng.integers(30, 220, 3), np.uint8) for _ in range(3)]
    output = _output(tmp_path, codec)
    with caplog.at_level(logging.INFO, logger="colormnet.video"), VideoWriter(
        output, codec, width=width, height=height, fps=Fraction(24)
    ) as writer:
        for rgb in frames:
            writer.write(rgb)
    assert "odd side" in caplog.text
    with av.open(str(output)) as container:
        assert (container.streams.video[0].codec_context.pix_fmt or "").startswith("yuv444p")
    with VideoReader(output) as reader:
        assert (reader.info.width, reader.info.height, len(reader)) == (width, height, 3)
        for i, rgb in enumerate(frames):
            assert np.abs(to_uint8(reader.read(i)).astype(int) - rgb).max() <= 3


def test_float_input_and_shape_checks(tmp_path: Path) -> None:
    output = tmp_path / "f.mkv"
    with VideoWriter(output, "ffv1", width=8, height=4, fps=Fraction(10)) as writer:
        writer.write(np.full((4, 8, 3), 0.5, np.float32))
        with pytest.raises(ValueError, match="4x8x3"):
            writer.write(np.zeros((8, 4, 3), np.uint8))
        assert writer.frames_written == 1
    with VideoReader(output) as reader:
        assert np.all(reader.read(0) == 32768)
    with pytest.raises(OutputError):
        writer.write(np.zeros((4, 8, 3), np.uint8))


def test_variable_frame_rate_survives_export(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 260, 400, 440, 640, 680]
    source_path = tmp_path / "vfr.mkv"
    frames = numbered_frames(len(pts), 32, 48)
    write_video(source_path, frames, pts=pts, time_base=Fraction(1, 1000))
    with VideoReader(source_path) as source:
        with VideoWriter(tmp_path / "all.mp4", "h264", width=48, height=32, source=source) as writer:
            for _, rgb in source.frames():
                writer.write(rgb)
        part = [2, 3, 4, 7]
        with VideoWriter(tmp_path / "part.mov", "prores", width=48, height=32, source=source,
                         frame_indices=part) as writer:
            for index in part:
                writer.write(source.read(index))
    with VideoReader(tmp_path / "all.mp4") as reader:
        assert reader.info.variable_frame_rate
        assert reader.timestamps() == pytest.approx([p / 1000 for p in pts], abs=1e-6)
    with VideoReader(tmp_path / "part.mov") as reader:
        assert reader.timestamps() == pytest.approx([(pts[i] - pts[2]) / 1000 for i in part], abs=1e-6)
        assert np.abs(to_uint8(reader.read(3)).astype(int) - frames[7]).max() <= 3


def test_frame_indices_are_checked(tmp_path: Path) -> None:
    with VideoReader(SOURCE) as source:
        with pytest.raises(ValueError, match="strictly increasing"):
            VideoWriter(tmp_path / "a.mp4", "h264", width=8, height=8, source=source, frame_indices=[3, 2])
        with pytest.raises(ValueError, match="36 frames"):
            VideoWriter(tmp_path / "a.mp4", "h264", width=8, height=8, source=source, frame_indices=[0, 36])
        with VideoWriter(tmp_path / "a.mkv", "ffv1", width=8, height=8, source=source, frame_indices=[4]) as writer:
            writer.write(np.zeros((8, 8, 3), np.uint8))
            with pytest.raises(ValueError, match="already written"):
                writer.write(np.zeros((8, 8, 3), np.uint8))
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------- atomicity
@pytest.mark.parametrize("codec", ["h264", "png16"])
def test_exception_leaves_nothing_behind(tmp_path: Path, codec: str) -> None:
    output = _output(tmp_path, codec)
    with pytest.raises(RuntimeError, match="cancelled"), VideoWriter(
        output, codec, width=16, height=16, fps=Fraction(24)
    ) as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        assert _leftovers(tmp_path) != []  # the work in progress lives under a temporary name
        raise RuntimeError("cancelled")
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("codec", ["ffv1", "png"])
def test_overwrite_replaces_only_after_success(tmp_path: Path, codec: str) -> None:
    output = _output(tmp_path, codec)
    grey = np.full((8, 8, 3), 100, np.uint8)

    def export(value: int, *, fail: bool) -> None:
        with VideoWriter(output, codec, width=8, height=8, fps=Fraction(24), overwrite=True) as writer:
            writer.write(grey * 0 + value)
            if fail:
                raise KeyboardInterrupt

    export(10, fail=False)
    with pytest.raises(KeyboardInterrupt):
        export(20, fail=True)
    assert to_uint8(VideoReader(output).read(0))[0, 0, 0] == 10
    export(30, fail=False)
    assert to_uint8(VideoReader(output).read(0))[0, 0, 0] == 30
    assert _leftovers(tmp_path) == []


def test_nothing_written_creates_nothing(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "empty.mp4", "h264", width=8, height=8)
    with pytest.raises(OutputError, match="No frame was written"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_missing_encoder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CODECS, "h264", dataclasses.replace(CODECS["h264"], encoder="libnothing264"))
    with pytest.raises(OutputError, match="no libnothing264 encoder"):
        VideoWriter(tmp_path / "x.mp4", "h264", width=8, height=8)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- path checks
def test_an_image_name_for_a_movie_codec_points_to_the_image_codecs(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"not 'x\.png'; for numbered images choose the png or png16 codec and give"):
        check_output_path(tmp_path / "x.png", inputs=[], codec="h264", overwrite=False)
    for name in ("x.tif", "x.TIFF"):
        with pytest.raises(OutputError, match=rf"not '{name}'; for numbered images choose the tiff16 codec"):
            check_output_path(tmp_path / name, inputs=[], codec="prores", overwrite=False)
    with pytest.raises(OutputError, match=r"not 'x\.avi'\.$"):
        check_output_path(tmp_path / "x.avi", inputs=[], codec="h264", overwrite=False)


def test_output_may_not_be_an_input(tmp_path: Path) -> None:
    video = tmp_path / "in.mp4"
    video.write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to(video)
    (tmp_path / "hard.mp4").hardlink_to(video)
    for output in (video, tmp_path / "sub" / ".." / "in.mp4", tmp_path / "link.mp4", tmp_path / "hard.mp4"):
        with pytest.raises(OutputError, match="is the input"):
            check_output_path(output, inputs=[video], codec="h264", overwrite=True)
    check_output_path(tmp_path, inputs=[video], codec="png", overwrite=True)  # frames beside the input harm nothing
    frame = tmp_path / "00003.png"
    frame.hardlink_to(video)
    with pytest.raises(OutputError, match="never writes"):  # but one of them may not replace it
        check_output_path(tmp_path, inputs=[video], codec="png", overwrite=True)
    check_output_path(tmp_path, inputs=[video], codec="tiff16", overwrite=True)  # a .tif sequence leaves .png alone
    frame.unlink()
    frames = tmp_path / "frames"
    frames.mkdir()
    with pytest.raises(OutputError, match="is the input"):
        check_output_path(frames, inputs=[frames], codec="tiff16", overwrite=True)


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "old.mkv"
    existing.write_bytes(b"x")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(existing, inputs=[], codec="ffv1", overwrite=False)
    check_output_path(existing, inputs=[], codec="ffv1", overwrite=True)
    empty = tmp_path / "ready"
    empty.mkdir()
    check_output_path(empty, inputs=[], codec="png", overwrite=False)  # an empty folder is free to use
    (empty / "x.png").write_bytes(b"x")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(empty, inputs=[], codec="png", overwrite=False)


@pytest.mark.parametrize(
    ("name", "codec", "ok"),
    [
        ("a.mp4", "h264", True), ("a.MKV", "h265", True), ("a.mov", "h264", True), ("a.mov", "prores", True),
        ("a.mkv", "ffv1", True), ("frames", "png", True), ("frames", "tiff16", True),
        ("a.avi", "h264", False), ("a.mp4", "prores", False), ("a.mp4", "ffv1", False),
        ("a.mp4", "png16", False), ("a", "h264", False),
    ],
)
def test_extension_must_fit_the_codec(tmp_path: Path, name: str, codec: str, ok: bool) -> None:
    if ok:
        check_output_path(tmp_path / name, inputs=[], codec=codec, overwrite=False)
    else:
        with pytest.raises(OutputError):
            check_output_path(tmp_path / name, inputs=[], codec=codec, overwrite=False)


def test_parent_folder_and_codec_name(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "a.mp4", inputs=[], codec="h264", overwrite=False)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_path(tmp_path / "file" / "a.mp4", inputs=[], codec="h264", overwrite=False)
    with pytest.raises(OutputError, match="Unknown codec 'vp9'"):
        check_output_path(tmp_path / "a.webm", inputs=[], codec="vp9", overwrite=False)


def test_written_file_probes_like_any_video(tmp_path: Path) -> None:
    output = tmp_path / "probe.mkv"
    with VideoWriter(output, "h265", width=32, height=32, fps=Fraction(30000, 1001)) as writer:
        for rgb in numbered_frames(4, 32, 32):
            writer.write(rgb)
    info = probe(output)
    assert info.frame_count == 4 and info.bit_depth == 16
    assert float(info.fps) == pytest.approx(30000 / 1001, rel=1e-4)


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        for codec, name in (("h264", "out.mp4"), ("png", "seq")):
            with VideoWriter(tmp_path / name, codec, width=16, height=16) as writer:
                writer.write(np.zeros((16, 16, 3), np.uint8))
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode == (0o755 if codec == "png" else 0o644), oct(mode)
    finally:
        os.umask(old)


def _top_level_boxes(path: Path) -> list[str]:
    """The names of an ISO media file's top-level boxes, in file order."""
    data, names, at = path.read_bytes(), [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        names.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:  # a 64-bit size follows the name
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        if size < 8:
            break
        at += size
    return names


def test_mp4_puts_its_index_before_the_frames(tmp_path: Path) -> None:
    """A player (or a browser) starts an MP4 whose index comes first before the whole file has arrived."""
    output = tmp_path / "out.mp4"
    with VideoReader(SOURCE) as source, VideoWriter(
        output, "h264", width=64, height=48, source=source, frame_indices=range(6)
    ) as writer:
        for rgb in numbered_frames(6, 48, 64):
            writer.write(rgb)
    boxes = _top_level_boxes(output)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert probe(output).has_audio and probe(output).frame_count == 6


def test_a_frame_size_the_encoder_cannot_take_is_refused_before_any_frame(tmp_path: Path) -> None:
    out = tmp_path / "wide.mp4"
    with pytest.raises(OutputError, match=r"The h264 codec cannot take frames of 16400x16 .*choose another codec"):
        VideoWriter(out, "h264", width=16400, height=16)  # H.264 takes no side over 16384 pixels
    assert list(tmp_path.iterdir()) == []
    with VideoWriter(tmp_path / "wide.mkv", "ffv1", width=16400, height=16) as writer:
        writer.write(np.zeros((16, 16400, 3), np.uint8))
    assert (tmp_path / "wide.mkv").stat().st_size > 0
