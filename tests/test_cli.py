"""The command line end to end on a real clip, and every bad input ending in one clear line."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main, parse_frame_range
from colormnet.errors import ExemplarError
from colormnet.video import VideoReader
from colormnet.video.frame_folder import MANIFEST


@pytest.fixture(scope="module")
def exemplars(realshort: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exemplars")
    paths = {}
    with VideoReader(realshort) as reader:
        for i in (0, 20):
            paths[f"f{i}"] = folder / f"frame{i}.png"
            Image.fromarray(reader.read(i)).save(paths[f"f{i}"])
        gray = np.asarray(Image.fromarray(reader.read(0)).convert("L"))
    paths["gray"] = folder / "gray.png"
    Image.fromarray(gray).save(paths["gray"])
    return paths


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def test_colorize_two_exemplars_to_h264_keeps_frames_fps_and_audio(
    capsys, realshort: Path, random_weights: Path, exemplars, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    code, _, err = run_cli(
        capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", "-e", f"{exemplars['f20']}@20",
        "-o", out, "--weights", random_weights, "--process-size", "112", "--precision", "fp16",
    )
    assert code == 0, err
    assert "RANDOM weights" in err
    with VideoReader(out) as result, VideoReader(realshort) as source:
        assert result.info.frame_count == 36
        assert result.info.fps == source.info.fps
        assert (result.info.width, result.info.height) == (320, 240)
        # the keyframe at 20 is the exemplar's own colour (up to H.264 compression)
        diff = np.abs(result.read(20).astype(int) - source.read(20).astype(int)).mean()
        assert diff < 3
    assert audio_packets(out) == audio_packets(realshort)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "out.mp4.colormnet.json"]  # no temporary
    record = json.loads((tmp_path / "out.mp4.colormnet.json").read_text())  # how the restoration was made
    assert record["engine"]["name"] == "colormnet" and record["engine"]["random_weights"] is True
    # fp16 needs CUDA: the record says what the frames were computed in, and what was asked for
    assert (record["engine"]["precision"], record["engine"]["precision_requested"]) == ("fp32", "fp16")
    assert record["settings"]["inference"]["top_k"] == 30  # the memory schedule this engine reads
    assert [(e["frame"], e["file"]) for e in record["exemplars"]] == [(0, "frame0.png"), (20, "frame20.png")]
    assert record["exemplars"][0]["sha256"] == hashlib.sha256(exemplars["f0"].read_bytes()).hexdigest()
    assert record["output"] == {"file": "out.mp4", "codec": "h264", "frames": [0, 36]}
    assert record["shots"] == [{"start": 0, "stop": 36, "transition": None}]


def test_png_sequence_of_a_frame_range(capsys, realshort: Path, random_weights: Path, exemplars, tmp_path) -> None:
    out = tmp_path / "frames"
    code, _, err = run_cli(
        capsys, "colorize", realshort, "-e", f"{exemplars['f20']}@20:keyframe", "-o", out, "--codec", "png",
        "--frames", "18:22", "--weights", random_weights, "--process-size", "112",
    )
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())  # named by their frame numbers in the source
    assert names == [MANIFEST, "00018.png", "00019.png", "00020.png", "00021.png", "frames.colormnet.json"]
    with VideoReader(realshort) as source:
        kept = np.asarray(Image.open(out / "00020.png"))  # the keyframe
        assert np.abs(kept.astype(int) - source.read(20).astype(int)).max() <= 2


def test_info_json(capsys, realshort: Path) -> None:
    import json

    code, out, _ = run_cli(capsys, "info", realshort, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["frame_count"] == 36 and info["width"] == 320 and info["fps"] == "45000/1499"
    assert [s["kind"] for s in info["streams"]] == ["video", "audio"]


def test_info_on_numbered_images_says_their_rate_is_assumed(capsys, tmp_path: Path) -> None:
    for i in range(3):
        Image.fromarray(np.full((8, 12), 40 * i, np.uint8)).save(tmp_path / f"f{i:03d}.png")
    code, out, _ = run_cli(capsys, "info", tmp_path)
    assert code == 0 and "  fps        24.000 (24/1), assumed: images carry no frame rate" in out, out
    code, out, _ = run_cli(capsys, "info", tmp_path, "--json")
    assert code == 0 and "assumed" not in out


def bad_cases(realshort: Path, exemplars, weights: Path, tmp: Path) -> dict[str, tuple[list, str]]:
    text = tmp / "notes.mp4"
    text.write_text("not a video")
    existing = tmp / "exists.mp4"
    existing.write_bytes(b"keep me")
    parent_is_file = tmp / "file"
    parent_is_file.write_text("x")
    e0 = f"{exemplars['f0']}@0"
    common = ["--weights", weights, "--process-size", "112"]
    return {
        "non-video input": (["colorize", text, "-e", e0, "-o", tmp / "o1.mp4", *common], "notes.mp4"),
        "missing input": (["colorize", tmp / "nope.mp4", "-e", e0, "-o", tmp / "o2.mp4", *common], "nope.mp4"),
        "frame out of range": (["colorize", realshort, "-e", f"{exemplars['f0']}@99", "-o", tmp / "o3.mp4", *common],
                               "frame 99"),
        "missing exemplar": (["colorize", realshort, "-e", f"{tmp / 'none.png'}@0", "-o", tmp / "o4.mp4", *common],
                             "none.png"),
        "grayscale exemplar": (["colorize", realshort, "-e", f"{exemplars['gray']}@0", "-o", tmp / "o5.mp4", *common],
                               "grayscale"),
        "output is the input": (["colorize", realshort, "-e", e0, "-o", realshort, "--overwrite", *common], "input"),
        "unwritable destination": (["colorize", realshort, "-e", e0, "-o", parent_is_file / "o.mp4", *common],
                                   "is a file, not a folder"),
        "output is an exemplar": (["colorize", realshort, "-e", e0, "-o", exemplars["f0"], "--overwrite", *common],
                                  "is '" + str(exemplars["f0"]) + "', a file this render reads"),
        "existing output": (["colorize", realshort, "-e", e0, "-o", existing, *common],
                            "already exists; choose another name or allow overwriting (--overwrite)"),
        "missing weights": (["colorize", realshort, "-e", e0, "-o", tmp / "o6.mp4", "--weights", tmp / "w.pth"],
                            "weights download"),
        "bad spec": (["colorize", realshort, "-e", "frame.png", "-o", tmp / "o7.mp4", *common], "IMAGE@FRAME"),
        "bad range": (
            ["colorize", realshort, "-e", e0, "-o", tmp / "o8.mp4", "--frames", "30:99", *common], "--frames"
        ),
    }


def test_every_bad_input_ends_in_one_clear_line(capsys, realshort, exemplars, random_weights, tmp_path) -> None:
    for name, (args, needle) in bad_cases(realshort, exemplars, random_weights, tmp_path).items():
        before = sorted(p.name for p in tmp_path.iterdir())
        code, _, err = run_cli(capsys, *args)
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("WARNING")]
        assert code == 1, (name, err)
        assert len(lines) == 1 and lines[0].startswith("colormnet: error:"), (name, err)
        assert "Traceback" not in err and needle in lines[0], (name, lines)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, name  # nothing written
    assert (tmp_path / "exists.mp4").read_bytes() == b"keep me"


def test_ctrl_c_leaves_no_output(realshort: Path, exemplars, random_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "cancelled.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "colormnet.cli", "colorize", str(realshort), "-e", f"{exemplars['f0']}@0",
         "-o", str(out), "--weights", str(random_weights), "--process-size", "112"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # as from a terminal: a test run started in the background inherits an ignored SIGINT otherwise
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    deadline = time.time() + 300
    for line in proc.stderr:  # wait until frames are being produced
        if "colorizing" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Cancelled" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_random_weights_are_told_once(realshort: Path, exemplars, random_weights: Path, tmp_path: Path) -> None:
    # in a process of its own, as from a terminal: here the engines' log would go to pytest, not to stderr
    proc = subprocess.run(
        [sys.executable, "-m", "colormnet.cli", "colorize", str(realshort), "-e", f"{exemplars['f0']}@0",
         "-o", str(tmp_path / "out.mp4"), "--weights", str(random_weights), "--frames", "0:1",
         "--process-size", "112", "--shots", "off"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    told = [line for line in proc.stderr.splitlines() if "meaningless" in line]
    assert told == ["Note: the colormnet engine runs with RANDOM weights (for tests and demos): the colours are "
                    "meaningless."], proc.stderr


def test_frame_range_parsing() -> None:
    assert parse_frame_range("3:7", 10) == range(3, 7)
    assert parse_frame_range(":4", 10) == range(0, 4) and parse_frame_range("5:", 10) == range(5, 10)
    assert parse_frame_range("2", 10) == range(2, 3)
    for bad in ("7:3", "a:b", "0:11", "-1:3"):
        with pytest.raises(ExemplarError):
            parse_frame_range(bad, 10)
    for empty in ("7:3", "5:5"):  # inside the video, but no frame: said so, not "outside the video"
        with pytest.raises(ExemplarError, match="holds no frame"):
            parse_frame_range(empty, 10)
    for beyond in ("10:", "50:", "12:3"):  # A past the last frame: not a matter of B, whether given or not
        with pytest.raises(ExemplarError, match="outside the video, which has frames 0 to 9"):
            parse_frame_range(beyond, 10)


@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_argument_is_refused_and_never_names_the_current_folder(
    capsys, realshort: Path, exemplars, tmp_path: Path, monkeypatch, empty: str
) -> None:
    monkeypatch.chdir(tmp_path)  # Path("") is the current folder: an unset $OUT wrote a frame sequence here
    code, _, err = run_cli(capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", "-o", empty, "--codec",
                           "png", "--engine", "propagate")
    assert code == 1 and err.startswith("colormnet: error: an empty argument after -o (an unset variable?)"), err
    assert list(tmp_path.iterdir()) == []
    code, _, err = run_cli(capsys, "info", empty)
    assert code == 1 and "an empty argument after info" in err, err
    code, _, err = run_cli(capsys, "colorize", realshort, f"--output={empty}")
    assert code == 1 and "--output= is given nothing" in err, err
    code, _, err = run_cli(capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", f"-o={empty}", "--codec",
                           "png", "--engine", "propagate")  # argparse reads -o= as -o ""
    assert code == 1 and "-o= is given nothing" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_loop_is_told_in_one_line(capsys, realshort: Path, exemplars, tmp_path: Path) -> None:
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    code, _, err = run_cli(capsys, "colorize", tmp_path / "loop1", "-e", f"{exemplars['f0']}@0", "-o",
                           tmp_path / "out.mp4", "--engine", "propagate")
    assert code == 1 and err.startswith("colormnet: error: Symlink loop from") and "leads back to itself" in err, err
    assert "a bug" not in err and len(err.strip().splitlines()) == 1


def test_weights_init_random_and_path(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLORMNET_WEIGHTS", str(tmp_path / "w.pth"))
    code, out, _ = run_cli(capsys, "weights", "path")
    assert code == 1 and "missing" in out and str(tmp_path / "w.pth") in out
    code, _, err = run_cli(capsys, "weights", "init-random", tmp_path / "w.pth", "--seed", "3")
    assert code == 0 and "RANDOM" in err
    code, out, _ = run_cli(capsys, "weights", "path")
    assert code == 0 and "present" in out
    code, out, _ = run_cli(capsys, "weights", "path", "--weights", tmp_path)  # the folder, not the file in it
    assert code == 1 and "a folder, not a checkpoint: give the" in out and "present" not in out


def test_weights_given_to_an_engine_that_takes_none_are_said_to_be_unused(
    capsys, tmp_path: Path, realshort: Path, exemplars: dict[str, Path]
) -> None:
    args = ["colorize", realshort, "-e", f"{exemplars['f0']}@0", "-o", tmp_path / "out", "--engine", "propagate",
            "--frames", "0:2", "--shots", "off", "--process-size", "64"]
    code, _, err = run_cli(capsys, *args, "--weights", tmp_path / "w.pth")
    assert code == 0 and "Note: the propagate engine takes no weights: --weights is not used." in err, err
    code, _, err = run_cli(capsys, *args, "--overwrite")
    assert code == 0 and "--weights" not in err and "is not used" not in err
    code, _, err = run_cli(capsys, *args, "--overwrite", "--precision", "fp16", "--device", "cuda")
    assert code == 0, err
    assert "Note: the propagate engine computes in fp32: --precision fp16 is not used." in err, err
    assert "Note: the propagate engine computes on the CPU: --device cuda is not used." in err, err
    code, _, err = run_cli(capsys, *args, "--overwrite", "--workers", "2")  # without --cluster: nothing to share
    assert code == 1 and "--workers applies to --cluster runs only." in err, err


@pytest.mark.parametrize("engine", ["colormnet", "deepexemplar"])
def test_weights_download_into_a_folder_and_onto_weights_already_there(capsys, tmp_path: Path, monkeypatch,
                                                                       engine: str) -> None:
    from colormnet.cli.weights import weights_module
    from colormnet.engines.registry import engine_info

    module = weights_module(engine_info(engine))
    asked: list[Path] = []

    def download(dest: Path | None, **_: object) -> Path:
        assert dest is not None
        asked.append(dest)
        return dest

    monkeypatch.setattr(module, "download_weights", download)
    code, _, err = run_cli(capsys, "weights", "download", "--engine", engine, "--dest", tmp_path)
    # a folder given for a one-file checkpoint holds it under its published name
    expected = tmp_path / module.WEIGHTS_FILENAME if engine == "colormnet" else tmp_path
    assert code == 0 and asked == [expected], err
    existing = tmp_path / "random.pth" if engine == "colormnet" else tmp_path / "random"
    assert run_cli(capsys, "weights", "init-random", "--engine", engine, existing)[0] == 0
    code, _, err = run_cli(capsys, "weights", "download", "--engine", engine, "--dest", existing)
    assert code == 0 and asked == [expected], err  # nothing fetched, and nothing said to be saved
    assert f"weights are already at {existing}: nothing was downloaded" in err and "Saved" not in err, err
    code, _, err = run_cli(capsys, "weights", "download", "--engine", engine, "--dest", f"{tmp_path / 'new'}/")
    assert code == 0 and asked[-1] == (tmp_path / "new" / module.WEIGHTS_FILENAME if engine == "colormnet" else
                                       tmp_path / "new"), err  # a folder yet to be made, named as one


def test_a_cancelled_command_speaks_of_an_output_only_where_it_names_one(capsys, tmp_path: Path, monkeypatch,
                                                                       realshort: Path) -> None:
    from colormnet.cli import commands, evaluate

    def interrupted(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "cmd_info", interrupted)
    monkeypatch.setattr(evaluate, "cmd_eval", interrupted)
    code, _, err = run_cli(capsys, "info", realshort)
    assert code == 130 and err.strip() == "Cancelled.", err
    code, _, err = run_cli(capsys, "eval", realshort, realshort)  # scores on the terminal only
    assert code == 130 and err.strip() == "Cancelled.", err
    code, _, err = run_cli(capsys, "eval", realshort, realshort, "--csv", tmp_path / "scores.csv")
    assert code == 130 and err.strip() == "Cancelled: nothing was written under the output name.", err
    from colormnet.cli import weights

    monkeypatch.setattr(weights, "cmd_weights", interrupted)
    code, _, err = run_cli(capsys, "weights", "path")  # says where they are looked for, writes nothing
    assert code == 130 and err.strip() == "Cancelled.", err
    code, _, err = run_cli(capsys, "weights", "download")
    assert code == 130 and "nothing was written under the output name" in err, err


def test_a_signal_whose_exception_a_library_drops_still_stops_the_render(
    capsys, tmp_path: Path, monkeypatch, realshort: Path, exemplars: dict[str, Path]
) -> None:
    """SIGTERM landing while PyAV's demuxer calls back into Python raises there, and PyAV drops the exception; the
    render stops at its next frame all the same, and says what stopped it."""
    from colormnet import interrupts
    from colormnet.video import container_source

    index = container_source.ContainerSource._build_index

    def index_through_a_signal(self: object) -> bool:
        with contextlib.suppress(KeyboardInterrupt):  # what the library does with it
            interrupts._stop(signal.SIGTERM, None)
        return index(self)  # type: ignore[arg-type]

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(container_source.ContainerSource, "_build_index", index_through_a_signal)
    output = tmp_path / "reel.mp4"
    try:
        code, _, err = run_cli(capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", "-o", output,
                               "--engine", "propagate", "--shots", "off")
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert code == 143 and "Stopped by SIGTERM: nothing was written under the output name." in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "number", "told"), [
    (["info"], signal.SIGINT, "Cancelled."),
    (["info", "--json"], signal.SIGTERM, "Stopped by SIGTERM."),
    (["extract-frame", "3", "-o", "still.png"], signal.SIGINT, "Cancelled: nothing was written under the output name."),
    (["extract-frame", "3", "-o", "still.tif"], signal.SIGTERM,
     "Stopped by SIGTERM: nothing was written under the output name."),
])
def test_a_signal_whose_exception_pyav_drops_still_stops_the_small_commands(
    capsys, tmp_path: Path, monkeypatch, realshort: Path, command: list[str], number: int, told: str
) -> None:
    """As for a render: Ctrl+C or SIGTERM landing while PyAV's demuxer calls back into Python is dropped there, and
    the command ends all the same with the one line and the exit status of an interruption."""
    from colormnet import interrupts
    from colormnet.video import container_source

    index = container_source.ContainerSource._build_index

    def index_through_a_signal(self: object) -> bool:
        with contextlib.suppress(KeyboardInterrupt):  # what the library does with it
            interrupts._stop(number, None)
        return index(self)  # type: ignore[arg-type]

    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(container_source.ContainerSource, "_build_index", index_through_a_signal)
    monkeypatch.chdir(tmp_path)
    try:
        code, out, err = run_cli(capsys, command[0], realshort, *command[1:])
    finally:
        for n, handler in handlers.items():
            signal.signal(n, handler)
    assert (code, out, err.strip()) == (128 + number, "", told), err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_inside_torch_save_is_a_cancel_not_a_bug(capsys, tmp_path: Path, monkeypatch) -> None:
    import signal

    import torch

    from colormnet import interrupts

    def save_interrupted(*args, **kwargs) -> None:
        try:  # Ctrl+C lands while torch's zip writer calls back into Python, which reports it as its own error
            interrupts._stop(signal.SIGINT, None)
        except KeyboardInterrupt:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1 vs 2") from None

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(torch, "save", save_interrupted)
    try:
        code, _, err = run_cli(capsys, "weights", "init-random", tmp_path / "w.pth")
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert code == 130 and "Cancelled: nothing was written" in err and "bug" not in err, err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "info", tmp_path / "missing.mp4")  # the next command starts afresh
    assert code == 1 and "Cancelled" not in err


def test_extract_frame_8_and_16_bit(capsys, realshort: Path, tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    code, _, err = run_cli(capsys, "extract-frame", realshort, "7", "-o", still)
    assert code == 0, err
    with VideoReader(realshort) as reader:
        assert np.array_equal(np.asarray(Image.open(still).convert("RGB")), reader.read(7))
    # a 16-bit source gives a 16-bit still
    seq = tmp_path / "seq"
    seq.mkdir()
    deep = (np.arange(12 * 16 * 3, dtype=np.uint16).reshape(12, 16, 3) * 97) % 65535
    import av

    for i in range(2):
        with av.open(str(seq / f"f{i}.png"), "w", format="image2") as c:
            s = c.add_stream("png")
            s.width, s.height, s.pix_fmt = 16, 12, "rgb48be"
            for pkt in [*s.encode(av.VideoFrame.from_ndarray(deep.astype(np.uint16), format="rgb48le")), *s.encode()]:
                c.mux(pkt)
    still16 = tmp_path / "still16.png"
    code, _, err = run_cli(capsys, "extract-frame", seq, "1", "-o", still16)
    assert code == 0, err
    tiff16 = tmp_path / "still16.tif"  # the restorer's usual master still; FFmpeg's TIFF encoder is little-endian
    code, _, err = run_cli(capsys, "extract-frame", seq, "1", "-o", tiff16)
    assert code == 0, err
    for written in (still16, tiff16):
        with VideoReader(still16.parent / "seq") as reader, av.open(str(written)) as c:
            back = next(c.decode(video=0)).to_ndarray(format="rgb48le")
            assert np.array_equal(back, reader.read(1)) and back.dtype == np.uint16
    code, _, err = run_cli(capsys, "extract-frame", realshort, "7", "-o", still)
    assert code == 1 and "already exists" in err


def test_weights_commands_for_deep_exemplar(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "deepexemplar"
    code, out, _ = run_cli(capsys, "weights", "path", "--engine", "deepexemplar", "--weights", folder)
    assert code == 1 and "missing" in out
    code, _, err = run_cli(capsys, "weights", "init-random", folder, "--engine", "deepexemplar")
    assert code == 0 and "RANDOM" in err, err
    code, out, _ = run_cli(capsys, "weights", "path", "--engine", "deepexemplar", "--weights", folder)
    assert code == 0 and "present" in out


def test_eval_is_wired(capsys, realshort: Path) -> None:
    import json

    code, out, err = run_cli(capsys, "eval", realshort, realshort, "--json", "--frames", "0:3")
    assert code == 0, err
    assert isinstance(json.loads(out), dict)


def test_engine_options(capsys, realshort: Path, exemplars, tmp_path: Path) -> None:
    from colormnet.engines import deepexemplar, load_backend
    from colormnet.errors import InferenceError

    code, _, err = run_cli(capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", "-o", tmp_path / "o.mp4",
                           "--engine", "colormnet", "--framing", "official")
    assert code == 1 and "deepexemplar engine only" in err
    with pytest.raises(InferenceError, match="takes no options"):
        load_backend("propagate", None, options={"framing": "official"})
    folder = deepexemplar.save_random_weights(tmp_path / "de", seed=0)
    with pytest.raises(InferenceError, match="Unusable options"):
        load_backend("deepexemplar", folder, device="cpu", options={"framing": "sideways"})
    fit = load_backend("deepexemplar", folder, device="cpu")
    official = load_backend("deepexemplar", folder, device="cpu", options={"framing": "official"})
    assert fit.fingerprint != official.fingerprint  # frames of the two framings are never cached as one


def test_extra_reference_errors_in_one_line(capsys, realshort: Path, exemplars, tmp_path: Path) -> None:
    base = ["colorize", realshort, "-e", f"{exemplars['f0']}@0", "-o", tmp_path / "o.mp4"]
    code, _, err = run_cli(capsys, *base, "--engine", "propagate", "--extra-reference", f"{exemplars['f20']}@3")
    assert code == 1 and err.count("\n") == 1 and "no -e exemplar is pinned to frame 3" in err
    code, _, err = run_cli(capsys, *base, "--engine", "propagate", "--extra-reference", f"{exemplars['f20']}@0")
    assert code == 1 and err.count("\n") == 1 and "only the deepexemplar engine takes several references" in err
    code, _, err = run_cli(capsys, *base, "--engine", "deepexemplar", "--extra-reference", f"{exemplars['gray']}@0")
    assert code == 1 and err.count("\n") == 1 and "grayscale" in err
    assert not (tmp_path / "o.mp4").exists()


def test_memory_transition_on_a_one_exemplar_engine_is_refused_before_the_shots_are_found(
        capsys, realshort: Path, exemplars, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colormnet.shots.command

    def no_detection(*args: object, **kwargs: object) -> None:
        raise AssertionError("shots detected for a render that cannot run")

    monkeypatch.setattr(colormnet.shots.command, "find_shots", no_detection)
    code, _, err = run_cli(capsys, "colorize", realshort, "-e", f"{exemplars['f0']}@0", "-e", f"{exemplars['f20']}@20",
                           "-o", tmp_path / "o.mp4", "--engine", "propagate", "--transition", "memory")
    assert code == 1 and err == ("colormnet: error: The propagate engine holds one exemplar at a time: use "
                                 "--transition blend or cut.\n")
    assert not (tmp_path / "o.mp4").exists()
