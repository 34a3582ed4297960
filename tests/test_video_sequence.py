"""Reading folders of images as videos: order, gaps, bit depths, pixel formats and unusable folders."""

from __future__ import annotations

import logging
import os
import warnings
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import pytest
from PIL import Image

from colormnet.errors import VideoError
from colormnet.video import VideoReader, probe
from colormnet.video.sequence_source import natural_key


def _save_png16(path: Path, rgb: np.ndarray) -> None:
    """Writes a 48-bit RGB PNG with PyAV (Pillow cannot write 16-bit RGB)."""
    _encode_image(path, "png", av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(format="rgb48be"))


def _encode_image(path: Path, codec: str, frame: av.VideoFrame) -> None:
    context = cast(av.video.codeccontext.VideoCodecContext, av.CodecContext.create(codec, "w"))
    context.width, context.height, context.pix_fmt = frame.width, frame.height, frame.format.name
    context.time_base = Fraction(1, 25)
    path.write_bytes(b"".join(bytes(packet) for packet in context.encode(frame) + context.encode(None)))


def _flat(value: int, size: tuple[int, int] = (24, 16)) -> np.ndarray:
    width, height = size
    return np.full((height, width, 3), value, np.uint8)


def test_natural_order_hidden_files_and_other_files_ignored(tmp_path: Path) -> None:
    for number in (10, 2, 1):
        Image.fromarray(_flat(number * 10)).save(tmp_path / f"f{number}.png")
    Image.fromarray(_flat(250)).save(tmp_path / ".f0.png")  # hidden
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "sub").mkdir()
    with VideoReader(tmp_path) as reader:
        assert reader.info.is_image_sequence and len(reader) == 3
        assert [int(rgb[0, 0, 0]) for _, rgb in reader.frames()] == [10, 20, 100]
        assert reader.info.fps == Fraction(24)
        assert reader.timestamps() == pytest.approx([0, 1 / 24, 2 / 24])
    assert sorted(["f10.png", "f2.png", "F1.png"], key=natural_key) == ["F1.png", "f2.png", "f10.png"]


def test_gap_in_numbering_is_allowed_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for number in (1, 2, 5):
        Image.fromarray(_flat(number)).save(tmp_path / f"scan_{number:04d}.png")
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        info = probe(tmp_path, fps=Fraction(18))
    assert info.frame_count == 3 and info.fps == Fraction(18)
    assert "jumps from 2 to 5 at scan_0005.png; the frames are read back to back, so scan_0005.png is frame 2" in (
        caplog.text)
    with caplog.at_level(logging.WARNING, logger="colormnet.video"), VideoReader(tmp_path) as reader:
        assert len(reader) == 3  # a render opens the folder more than once: the gap is told once
    assert caplog.text.count("jumps from") == 1


@pytest.mark.parametrize(
    ("names", "told"),
    [
        (["scan_0001.png", "scan_0002.png", "scan_0002.jpg"],
         "files scan_0002.jpg and scan_0002.png both carry frame number 2; both are read, scan_0002.png as frame 2"),
        (["a_0001.png", "a_0002.png", "b_0001.png"],
         "numbering goes from 2 back to 1 at b_0001.png; the frames are read back to back in name order, so "
         "b_0001.png is frame 2"),
        (["scan_0001.png", "scan_0002.png", "poster.png"],
         "file poster.png has no frame number, unlike the others; it is read as frame 0"),
    ],
)
def test_a_stray_image_among_the_frames_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                  names: list[str], told: str) -> None:
    """A duplicate number, a second sequence or an unnumbered still would silently become a frame of the film."""
    for name in names:
        Image.fromarray(_flat(9)).save(tmp_path / name)
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        assert probe(tmp_path).frame_count == 3
    assert told in caplog.text and len(caplog.records) == 1


def test_sixteen_bit_png_keeps_every_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 65536, (12, 20, 3), dtype=np.uint16) for _ in range(2)]
    for i, rgb in enumerate(frames):
        _save_png16(tmp_path / f"{i}.png", rgb)
    with VideoReader(tmp_path) as reader:
        assert reader.info.bit_depth == 16
        for i, rgb in enumerate(frames):
            got = reader.read(i)
            assert got.dtype == np.uint16 and np.array_equal(got, rgb)


def test_grey16_rgba_grey_and_palette_files_become_rgb(tmp_path: Path) -> None:
    grey16 = (np.arange(12 * 20).reshape(12, 20) * 271).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "a0.png")  # 16-bit greyscale
    rgba = np.dstack([_flat(60, (20, 12)), np.full((12, 20), 7, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a1.png")
    Image.fromarray(np.full((12, 20), 90, np.uint8), mode="L").save(tmp_path / "a2.png")
    Image.fromarray(_flat(120, (20, 12))).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "a3.png")
    with VideoReader(tmp_path) as reader:
        assert reader.info.bit_depth == 16
        frames = [rgb for _, rgb in reader.frames()]
    assert all(rgb.shape == (12, 20, 3) and rgb.dtype == np.uint16 for rgb in frames)
    assert np.array_equal(frames[0], np.dstack([grey16] * 3))
    assert np.all(frames[1] == 60 * 257) and np.all(frames[2] == 90 * 257) and np.all(frames[3] == 120 * 257)


def test_jpeg_and_eight_bit_tiff(tmp_path: Path) -> None:
    Image.fromarray(_flat(200)).save(tmp_path / "0001.jpg", quality=95)
    Image.fromarray(_flat(40)).save(tmp_path / "0002.tif")
    with VideoReader(tmp_path) as reader:
        assert reader.info.bit_depth == 8
        first, second = reader.read(0), reader.read(1)
    assert first.dtype == np.uint8 and np.abs(first.astype(int) - 200).max() <= 2
    assert np.array_equal(second, _flat(40))


def test_dpx_files_are_read_with_pyav(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 65536, (8, 10, 3), dtype=np.uint16)
    _encode_image(tmp_path / "frame.000001.dpx", "dpx", av.VideoFrame.from_ndarray(rgb, format="rgb48le"))
    with VideoReader(tmp_path) as reader:
        assert reader.info.bit_depth == 16 and (reader.info.width, reader.info.height) == (10, 8)
        assert np.array_equal(reader.read(0), rgb)


def test_mixed_sizes_name_the_first_odd_file(tmp_path: Path) -> None:
    Image.fromarray(_flat(1)).save(tmp_path / "1.png")
    Image.fromarray(_flat(2)).save(tmp_path / "2.png")
    Image.fromarray(_flat(3, (30, 16))).save(tmp_path / "3.png")
    Image.fromarray(_flat(4, (30, 16))).save(tmp_path / "4.png")
    with pytest.raises(VideoError, match=r"'3\.png' is 30x16 but the sequence starts at 24x16"):
        VideoReader(tmp_path)


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(VideoError, match="contains no PNG, TIFF, JPEG or DPX images"):
        VideoReader(tmp_path)


def test_broken_image_is_reported(tmp_path: Path) -> None:
    Image.fromarray(_flat(1)).save(tmp_path / "1.png")
    (tmp_path / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 5)
    with pytest.raises(VideoError, match=r"'2\.png' cannot be read"):
        VideoReader(tmp_path)


def test_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: str | os.PathLike[str]) -> None:
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr("colormnet.video.sequence_source.os.scandir", refuse)
    with pytest.raises(VideoError, match=r"cannot be read \(Permission denied\); check its permissions"):
        VideoReader(tmp_path)


def test_frames_over_the_pixel_cap_are_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.video import sequence_source

    for n in (1, 2):
        Image.fromarray(_flat(n)).save(tmp_path / f"{n}.png")
    Image.fromarray(_flat(3)).save(tmp_path / "3.tif")
    monkeypatch.setattr(sequence_source, "MAX_FRAME_PIXELS", 24 * 16 - 1)
    with pytest.raises(VideoError, match=r"^The image '1\.png' has 24x16 pixels, more than the 0 megapixels"):
        VideoReader(tmp_path)


def test_pillows_own_refusal_and_warning_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in (1, 2):
        Image.fromarray(_flat(n)).save(tmp_path / f"{n}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not reach the user
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 384 pixels a frame: over, but under twice the limit
        with VideoReader(tmp_path) as reader:
            assert reader.read(1).shape == (16, 24, 3)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the PNG header passes, Pillow refuses the pixels
        with VideoReader(tmp_path) as reader, pytest.raises(VideoError, match=r"^The image '2\.png' has more than"):
            reader.read(1)
        Image.fromarray(_flat(3)).save(tmp_path / "3.tif")  # a TIFF's header is read by Pillow
        with pytest.raises(VideoError, match=r"^The image '3\.tif' has more than"):
            VideoReader(tmp_path)
