"""Bad inputs through the command line: each one either does the sensible thing or ends in one clear line.

Every case is generated here from real clip frames. A failing case must exit 1 with a single ``colormnet: error:``
line, no traceback and no output; a case that can be colorized must give an output of the source's frame count
and size.
"""

from __future__ import annotations

import json
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from colormnet.cli import main
from colormnet.config import InferenceConfig
from colormnet.errors import SettingsError, one_line
from colormnet.video import VideoReader
from tests.test_exemplar import png_chunk
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


def test_an_image_sequence_runs_at_the_frame_rate_given(capsys, frames, colour_png, tmp_path, realshort) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for n, f in enumerate(frames):
        Image.fromarray(f).save(scans / f"reel_{n:03d}.png")
    out = tmp_path / "reel.mp4"
    code, err = run(capsys, "colorize", scans, "-e", f"{colour_png}@0", "-o", out, "--engine", "propagate",
                    "--fps", "18")  # a silent film's scans
    assert code == 0, err
    with VideoReader(out) as result:
        assert result.info.fps == 18 and result.info.frame_count == len(frames)
    record = json.loads((tmp_path / "reel.mp4.colormnet.json").read_text())
    assert record["source"]["fps"] == "18"
    code, err = run(capsys, "colorize", realshort, "-e", f"{colour_png}@0", "-o", tmp_path / "x.mp4", "--engine",
                    "propagate", "--fps", "18")
    assert code == 1 and "is a video file and keeps its own timing" in err
    code, err = run(capsys, "colorize", scans, "-e", f"{colour_png}@0", "-o", tmp_path / "y.mp4", "--fps", "0")
    assert code == 1 and "above 0" in err


def test_sequences_with_a_gap_and_16_bit(capsys, frames, colour_png, random_weights, tmp_path) -> None:
    gap = tmp_path / "gap"
    gap.mkdir()
    for n, f in zip((1, 2, 5), frames, strict=False):
        Image.fromarray(f).save(gap / f"reel_{n}.png")
    colorize_ok(capsys, gap, f"{colour_png}@0", tmp_path / "gap_out", random_weights, "--codec", "png")
    assert sorted(p.name for p in (tmp_path / "gap_out").glob("*.png")) == ["00000.png", "00001.png", "00002.png"]

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


# -- hostile inputs: each ends in one line, before any model work ----------------------------------------------


def crafted_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` over a few bytes of data: nothing that size is ever made."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def crafted_tiff(path: Path, width: int, height: int) -> Path:
    """A little-endian grey TIFF whose tags claim ``width x height`` over one strip of 16 bytes."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8),
               (277, 3, 1), (278, 4, height), (279, 4, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, 1, value)
                                                     for tag, kind, value in entries) + struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 24) + bytes(16) + ifd)
    return path


@pytest.mark.parametrize("write", [crafted_png, crafted_tiff])
def test_sequence_frame_claiming_900_megapixels(capsys, write, frames, colour_png, tmp_path) -> None:
    reel = tmp_path / "reel"
    reel.mkdir()
    Image.fromarray(frames[0]).save(reel / "f0001.png")
    bomb = write(reel / ("f0002.png" if write is crafted_png else "f0002.tif"), 30000, 30000)
    assert bomb.stat().st_size < 200
    before = sorted(p.name for p in tmp_path.iterdir())
    for args in (["info", reel], ["colorize", reel, "-e", f"{colour_png}@0", "-o", tmp_path / "out",
                                  "--engine", "propagate"]):
        code, err = run(capsys, *args)
        assert_one_line_error(code, err, tmp_path, before, f"'{bomb.name}' has ")
        assert "megapixels a frame may have" in err


NINES = "9" * 5000


@pytest.mark.parametrize(
    ("spec", "needle"),
    [(f"x.png@{NINES}", "beyond any video"), ("x.png@100000000", "beyond any video"), ("x.png@", "IMAGE@FRAME"),
     ("@3", "IMAGE@FRAME"), ("x.png@1e3", "IMAGE@FRAME"), ("x.png@\u0663", "IMAGE@FRAME"),
     ("x.png@-0", "IMAGE@FRAME"), (f"{'a' * 3000}@x", "IMAGE@FRAME")],
)
@pytest.mark.parametrize("option", ["-e", "--extra-reference"])
def test_malformed_exemplar_specs(capsys, spec, needle, option, frames, colour_png, tmp_path) -> None:
    source = tmp_path / "clip.mp4"
    write_video(source, frames[:2])
    before = sorted(p.name for p in tmp_path.iterdir())
    exemplars = ["-e", spec] if option == "-e" else ["-e", f"{colour_png}@0", "--extra-reference", spec]
    code, err = run(capsys, "colorize", source, *exemplars, "-o", tmp_path / "out.mp4", "--engine", "propagate")
    assert_one_line_error(code, err, tmp_path, before, needle)
    assert len(err) < 400  # a pasted blob is cut short in the message


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--process-size", "8"], "at least 16, got 8"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--mem-every", "0"], "--mem-every: must be at least 1"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--top-k", "0"], "--top-k: must be at least 1"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--top-k", "-5"], "--top-k: must be at least 1"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--mem-every", "two"], "whole number"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--process-size", NINES], "whole number"),
        (["colorize", "{clip}", "-e", "{ex}@0", "-o", "{out}", "--codec", "bogus\nsecond"], "invalid choice"),
        (["colorize", "{clip}", "-e", "{ex}@0"], "required: -o/--output"),
        (["colorize"], "required"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["--frobnicate"], "choose a command: colorize, info"),
        (["info"], "required: input"),
        (["info", "{clip}", "extra\nline"], "unrecognized arguments"),
        (["eval", "{clip}"], "required: gt"),
        (["extract-frame", "{clip}", "x", "-o", "{out}.png"], "argument frame"),
        (["weights", "init-random", "{out}", "--seed", "-1"], "--seed: must be at least 0"),
        (["weights"], "choose a command: download, init-random, path"),
        (["demo", "{out}", "--process-size", "0"], "at least 16"),
        (["demo", "{out}", "--fps", "18"], "unrecognized arguments: --fps 18"),  # its clip is a video, not images
    ],
)
def test_bad_command_lines_end_in_one_line(capsys, argv, needle, frames, colour_png, tmp_path) -> None:
    source = tmp_path / "clip.mp4"
    write_video(source, frames[:2])
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.format(clip=source, ex=colour_png, out=tmp_path / "out") for a in argv]
    code, err = run(capsys, *args)
    assert_one_line_error(code, err, tmp_path, before, needle)
    assert "usage:" not in err and "--help`)." in err


@given(st.fixed_dictionaries({name: st.integers(-3, 12) | st.floats(-2, 12) | st.booleans() | st.none()
                              for name in ("mem_every", "top_k", "max_mid_term_frames", "min_mid_term_frames",
                                           "num_prototypes", "max_long_term_elements")}))
def test_memory_settings_either_fit_or_say_which_one_is_wrong(values: dict) -> None:
    try:
        config = InferenceConfig(**values)
    except SettingsError as exc:  # also a ValueError, for callers that catch that
        assert isinstance(exc, ValueError) and len(str(exc).splitlines()) == 1
        assert any(name in str(exc) for name in values)
    else:
        assert all(isinstance(v, int) and v >= 1 for v in vars(config).values() if not isinstance(v, bool))
        assert 2 <= config.min_mid_term_frames < config.max_mid_term_frames
        assert config.num_prototypes < config.max_long_term_elements


def break_info(monkeypatch, error: BaseException) -> None:
    import colormnet.cli.commands

    def broken(args, cancel):
        raise error

    monkeypatch.setattr(colormnet.cli.commands, "cmd_info", broken)


@pytest.mark.parametrize("error", [RuntimeError("boom\nsecond line"), ValueError("bad value")])
def test_unexpected_errors_are_one_line_and_verbose_shows_where(capsys, monkeypatch, error, tmp_path) -> None:
    break_info(monkeypatch, error)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run(capsys, "info", tmp_path / "x.mp4")
    assert_one_line_error(code, err, tmp_path, before, f"unexpected {type(error).__name__}: ")
    assert f"{one_line(str(error))} (a bug in colormnet; run `colormnet -v ...` for details)." in err
    for verbose in (("info", tmp_path / "x.mp4", "-v"), ("-v", "info", tmp_path / "x.mp4")):  # as the hint says too
        code, err = run(capsys, *verbose)
        assert code == 1 and "Traceback" in err and err.splitlines()[-1].startswith("colormnet: error: unexpected")


@pytest.mark.parametrize(
    ("error", "needle"),
    [(MemoryError(), "Out of memory"),
     (OSError(28, "No space left on device", "/out/a\nb.mp4"), "the disk holding '/out' is full"),
     (OSError(9, "Bad file descriptor", 3), "error: Bad file descriptor"),
     (OSError("plain\nmessage"), "plain\\nmessage")],
)
def test_memory_and_system_errors_are_one_line(capsys, monkeypatch, error, needle, tmp_path) -> None:
    break_info(monkeypatch, error)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run(capsys, "info", tmp_path / "x.mp4")
    assert_one_line_error(code, err, tmp_path, before, needle)


def test_names_with_a_newline_stay_on_one_line(capsys, frames, colour_png, tmp_path) -> None:
    clip = tmp_path / "clip.mp4"
    write_video(clip, frames[:2])
    (fake := tmp_path / "reel\n1.mp4").write_text("not a video")
    gray = tmp_path / "gray\nstill.png"
    Image.fromarray(frames[0]).convert("L").save(gray, format="PNG")
    reel = tmp_path / "seq"
    reel.mkdir()
    Image.fromarray(frames[0]).save(reel / "f0001.png")
    (reel / "f\n0002.png").write_bytes(b"\x89PNG broken")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = ["-o", tmp_path / "out.mp4", "--engine", "propagate"]
    for args, needle in (
        (["colorize", fake, "-e", f"{colour_png}@0", *out], "'reel\\n1.mp4'"),
        (["info", tmp_path / "miss\ning.mp4"], "/miss\\ning.mp4' does not exist"),
        (["colorize", clip, "-e", f"{gray}@0", *out], "'gray\\nstill.png' is a grayscale image"),
        (["colorize", clip, "-e", f"{tmp_path / 'no such'}\n.png@0", *out], "\\n.png' does not exist"),
        (["info", reel], "'f\\n0002.png'"),
    ):
        code, err = run(capsys, *args)
        assert_one_line_error(code, err, tmp_path, before, needle)
    assert sorted(p.name for p in reel.iterdir()) == ["f\n0002.png", "f0001.png"]
    assert fake.read_text() == "not a video"


@pytest.mark.parametrize(("width", "height", "measured"), [(1, 1, False), (40, 6, False), (7, 7, True)])
def test_eval_of_clips_too_small_for_ssim(capsys, width, height, measured, frames, tmp_path) -> None:
    import json

    clip = tmp_path / "tiny.mkv"
    write_video(clip, [np.ascontiguousarray(f[:height, :width]) for f in frames[:2]], codec="ffv1", pix_fmt="bgr0")
    other = tmp_path / "other.mkv"
    write_video(other, [np.ascontiguousarray(f[:height, :width]) ^ 8 for f in frames[2:4]], codec="ffv1",
                pix_fmt="bgr0")
    code = main(["eval", str(clip), str(other), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    data = json.loads(out)
    ssims = [f["ssim"] for f in data["frames"]] + [data["summary"]["ssim"]]
    if measured:
        assert all(0 < s < 1 for s in ssims) and "SSIM not measured" not in err
    else:
        assert ssims == [None, None, None] and f"Note: SSIM not measured: the frames are {width}x{height}" in err
        assert all(f["psnr"] is not None and f["psnr"] > 0 for f in data["frames"])
