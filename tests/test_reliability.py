"""Bad inputs through the command line: each one either does the sensible thing or ends in one clear line.

Every case is generated here from real clip frames. A failing case must exit 1 with a single ``colormnet: error:``
line, no traceback and no output; a case that can be colorized must give an output of the source's frame count
and size.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.video import VideoReader
from tests.test_video_support import write_audio_only, write_video

TINY = ["--process-size", "112"]


@pytest.fixture(scope="module")
def frames(realshort: Path) -> list[np.ndarray]:
    with VideoReader(realshort) as reader:
        return [reader.read(i) for i in range(4)]


@pytest.fixture(scope="module")
def colour_png(frames, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ex") / "colour.png"
    Image.fromarray(frames[0]).save(path)
    return path


def run(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, folder: Path, before: list[str], needle: str = "") -> None:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("WARNING", "Note:"))]
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("colormnet: error:") and needle in lines[0], err
    assert "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == before


def make_bad_video(kind: str, folder: Path, frames: list[np.ndarray]) -> Path:
    if kind == "zero-byte":
        (path := folder / "empty.mp4").write_bytes(b"")
    elif kind == "text":
        (path := folder / "notes.mp4").write_text("shot list, reel 3\n")
    elif kind == "audio-only":
        write_audio_only(path := folder / "sound.wav")
    elif kind == "mixed-sizes":
        (path := folder / "mixed").mkdir()
        Image.fromarray(frames[0]).save(path / "f0001.png")
        Image.fromarray(frames[1][:100, :100]).save(path / "f0002.png")
    elif kind == "no-images":
        (path := folder / "notes").mkdir()
        (path / "readme.txt").write_text("no frames here")
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [("zero-byte", "empty.mp4"), ("text", "notes.mp4"), ("audio-only", "sound.wav"), ("mixed-sizes", "f0002.png"),
     ("no-images", "notes")],
)
def test_unusable_videos(capsys, kind, needle, frames, colour_png, random_weights, tmp_path) -> None:
    source = make_bad_video(kind, tmp_path, frames)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run(capsys, "colorize", source, "-e", f"{colour_png}@0", "-o", tmp_path / "out.mp4",
                    "--weights", random_weights, *TINY)
    assert_one_line_error(code, err, tmp_path, before, needle)


def colorize_ok(capsys, source: Path, exemplar: str, out: Path, weights: Path, *extra: str) -> None:
    code, err = run(capsys, "colorize", source, "-e", exemplar, "-o", out, "--weights", weights, *TINY, *extra)
    assert code == 0, err
    with VideoReader(source) as src, VideoReader(out) as dst:
        assert dst.info.frame_count == src.info.frame_count
        assert (dst.info.width, dst.info.height) == (src.info.width, src.info.height)


@pytest.mark.parametrize(("width", "height", "count"), [(101, 57, 3), (1, 1, 2), (64, 48, 1)])
def test_odd_tiny_and_one_frame_videos(capsys, width, height, count, frames, random_weights, tmp_path) -> None:
    clip = [np.ascontiguousarray(f[:height, :width]) for f in frames[:count]]
    source = tmp_path / "odd.mkv"
    write_video(source, clip, codec="ffv1", pix_fmt="bgr0")
    still = tmp_path / "still.png"
    Image.fromarray(clip[0]).save(still)
    for kind in ("keyframe", "reference"):
        colorize_ok(capsys, source, f"{still}@0:{kind}", tmp_path / f"out_{kind}.mkv", random_weights)


def test_truncated_video_colorizes_the_frames_that_decode(capsys, colour_png, random_weights, tmp_path) -> None:
    from tests.conftest import CLIPS

    whole = (CLIPS / "shepard_calais_1906_bw.ogv").read_bytes()
    source = tmp_path / "cut.ogv"
    source.write_bytes(whole[: len(whole) // 8])
    with VideoReader(source) as reader:
        assert 0 < reader.info.frame_count < 288
    colorize_ok(capsys, source, f"{colour_png}@0:reference", tmp_path / "out.mp4", random_weights, "--no-audio")


def test_variable_frame_rate_timestamps_survive(capsys, frames, colour_png, random_weights, tmp_path) -> None:
    source = tmp_path / "vfr.mp4"
    pts = [0, 40, 100, 180]
    write_video(source, frames, pts=pts, time_base=Fraction(1, 1000), rate=Fraction(25))
    out = tmp_path / "out.mp4"
    colorize_ok(capsys, source, f"{colour_png}@0", out, random_weights)
    with VideoReader(source) as src, VideoReader(out) as dst:
        assert dst.info.variable_frame_rate
        np.testing.assert_allclose(dst.timestamps(), src.timestamps(), atol=1e-3)


def test_sequences_with_a_gap_and_16_bit(capsys, frames, colour_png, random_weights, tmp_path) -> None:
    gap = tmp_path / "gap"
    gap.mkdir()
    for n, f in zip((1, 2, 5), frames, strict=False):
        Image.fromarray(f).save(gap / f"reel_{n}.png")
    colorize_ok(capsys, gap, f"{colour_png}@0", tmp_path / "gap_out", random_weights, "--codec", "png")
    assert sorted(p.name for p in (tmp_path / "gap_out").iterdir()) == ["00000.png", "00001.png", "00002.png"]

    import av

    deep = tmp_path / "deep"
    deep.mkdir()
    for i, f in enumerate(frames[:2]):
        rgb16 = f.astype(np.uint16) * 257 + 100
        with av.open(str(deep / f"{i:04d}.png"), "w", format="image2") as c:
            s = c.add_stream("png")
            s.width, s.height, s.pix_fmt = rgb16.shape[1], rgb16.shape[0], "rgb48be"
            for pkt in [*s.encode(av.VideoFrame.from_ndarray(rgb16, format="rgb48le")), *s.encode()]:
                c.mux(pkt)
    out = tmp_path / "deep_out"
    colorize_ok(capsys, deep, f"{colour_png}@0", out, random_weights, "--codec", "png16")
    with VideoReader(out) as dst:
        assert dst.info.bit_depth == 16 and dst.read(0).dtype == np.uint16


def exemplar_file(kind: str, folder: Path, rgb: np.ndarray) -> Path:
    img = Image.fromarray(rgb)
    path = folder / {"cmyk": "cmyk.jpg", "tiff16": "deep.tif", "rgba": "alpha.png", "palette": "palette.png",
                     "gif": "anim.gif", "tiny": "tiny.png", "corrupt": "broken.png", "gray": "gray.jpg",
                     "huge": "huge.png"}[kind]
    if kind == "cmyk":
        img.convert("CMYK").save(path)
    elif kind == "tiff16":
        import tifffile

        tifffile.imwrite(path, rgb.astype(np.uint16) * 257)
    elif kind == "rgba":
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
        Image.fromarray(rgba).save(path)
    elif kind == "palette":
        img.convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    elif kind == "gif":
        img.save(path, save_all=True, append_images=[Image.fromarray(rgb[::-1])], duration=100)
    elif kind == "tiny":
        Image.fromarray(rgb[:1, :1]).save(path)
    elif kind == "corrupt":
        img.save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "gray":
        img.convert("L").save(path)
    elif kind == "huge":
        Image.new("1", (12000, 12000)).save(path)  # tiny file, 144 megapixels
    return path


@pytest.mark.parametrize("kind", ["cmyk", "tiff16", "rgba", "palette", "gif", "tiny"])
def test_usable_exemplar_formats(capsys, kind, frames, random_weights, tmp_path) -> None:
    from tests.conftest import CLIPS

    path = exemplar_file(kind, tmp_path, frames[0])
    source = tmp_path / "clip.mp4"
    write_video(source, frames[:2])
    colorize_ok(capsys, source, f"{path}@1", tmp_path / "out.mp4", random_weights)
    assert CLIPS.is_dir()


@pytest.mark.parametrize(("kind", "needle"), [("corrupt", "broken.png"), ("gray", "grayscale"), ("huge", "huge.png")])
def test_unusable_exemplars(capsys, kind, needle, frames, random_weights, tmp_path) -> None:
    path = exemplar_file(kind, tmp_path, frames[0])
    source = tmp_path / "clip.mp4"
    write_video(source, frames[:2])
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run(capsys, "colorize", source, "-e", f"{path}@0", "-o", tmp_path / "out.mp4",
                    "--weights", random_weights, *TINY)
    assert_one_line_error(code, err, tmp_path, before, needle)


def test_exemplar_placement_errors(capsys, colour_png, frames, random_weights, tmp_path) -> None:
    source = tmp_path / "clip.mp4"
    write_video(source, frames[:2])
    before = sorted(p.name for p in tmp_path.iterdir())
    common = ["-o", tmp_path / "out.mp4", "--weights", random_weights, *TINY]
    code, err = run(capsys, "colorize", source, "-e", f"{colour_png}@2", *common)
    assert_one_line_error(code, err, tmp_path, before, "frames 0 to 1")
    code, err = run(capsys, "colorize", source, "-e", f"{colour_png}@1", "-e", f"{colour_png}@1", *common)
    assert_one_line_error(code, err, tmp_path, before, "Two exemplars")
