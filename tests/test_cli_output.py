"""The command line's output path: existing folders keep their files, sources are never written, Ctrl+C and SIGTERM
at any moment end with one line (130, 143) and leave nothing behind."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.fileio import host_tag
from colormnet.video import VideoReader
from colormnet.video.frame_folder import MANIFEST

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and process groups are POSIX")

_BAR = re.compile(r"^\s*[\w ]+:\s+\d+%\|")  # a tqdm progress line: "finding shots:  40%|████  | 4/10 ..."


@pytest.fixture(scope="module")
def last_frame(realshort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frame 35 of the clip in colour: pinned at the end, every other frame is colorized backward (and spooled)."""
    path = tmp_path_factory.mktemp("exemplar") / "frame35.png"
    with VideoReader(realshort) as reader:
        Image.fromarray(reader.read(35)).save(path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _colorize(realshort: Path, exemplar: Path, output: object, *extra: object) -> list[object]:
    return ["colorize", realshort, "-e", f"{exemplar}@35", "-o", output, "--engine", "propagate", *extra]


def test_png_overwrite_keeps_the_folders_other_files_and_the_weights(
    capsys, realshort: Path, last_frame: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "Desktop"
    folder.mkdir()
    (folder / "notes.txt").write_text("do not lose")
    (folder / "sub").mkdir()
    (folder / "sub" / "00000.png").write_bytes(b"a scan")
    weights = folder / "colormnet.pth"
    weights.write_bytes(b"checkpoint")
    for i in range(40):  # the restorer's own scans, numbered the way frames are
        (folder / f"{i:05d}.png").write_bytes(b"a scan")

    code, err = _run(capsys, *_colorize(realshort, last_frame, folder, "--frames", "33:36", "--overwrite",
                                        "--weights", weights))

    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, *(f"{i:05d}.png" for i in range(40)),
                                                        "Desktop.colormnet.json", "colormnet.pth", "notes.txt", "sub"]
    assert weights.read_bytes() == b"checkpoint" and (folder / "notes.txt").read_text() == "do not lose"
    assert (folder / "sub" / "00000.png").read_bytes() == b"a scan"
    assert all((folder / f"{i:05d}.png").read_bytes() == b"a scan" for i in range(40) if i not in (33, 34, 35))
    assert np.asarray(Image.open(folder / "00035.png")).shape == (240, 320, 3)  # the range: its own frame numbers

    exemplar_in_folder = folder / "00001.png"  # an exemplar where a frame would go: refused, untouched
    shutil.copyfile(last_frame, exemplar_in_folder)
    before = exemplar_in_folder.read_bytes()
    code, err = _run(capsys, "colorize", realshort, "-e", f"{exemplar_in_folder}@0", "-o", folder, "--engine",
                     "propagate", "--codec", "png", "--overwrite")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "never writes" in err, err
    assert exemplar_in_folder.read_bytes() == before


def test_the_current_folder_as_output(
    capsys, realshort: Path, last_frame: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.txt").write_text("keep")
    monkeypatch.chdir(here)
    code, err = _run(capsys, *_colorize(realshort, last_frame, ".", "--frames", "34:36", "--codec", "png",
                                        "--overwrite"))
    assert code == 0, err
    assert "Wrote '.' (2 frames, png)." in err
    assert sorted(p.name for p in here.iterdir()) == [MANIFEST, "00034.png", "00035.png", "notes.txt",
                                                      "work.colormnet.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["work"]  # nothing beside it


def test_extract_frame_never_writes_into_the_source_sequence(capsys, tmp_path: Path) -> None:
    seq = tmp_path / "seq"
    seq.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(seq / f"f{i:04d}.png")
    before = {p.name: p.read_bytes() for p in seq.iterdir()}
    for target in (seq / "f0000.png", seq / "new.png", seq / ".." / "seq" / "f0001.png"):
        code, err = _run(capsys, "extract-frame", seq, "2", "-o", target, "--overwrite")
        assert code == 1 and len(err.strip().splitlines()) == 1, err
        assert "source sequence" in err or "never writes" in err, err
    assert {p.name: p.read_bytes() for p in seq.iterdir()} == before
    code, err = _run(capsys, "extract-frame", seq, "2", "-o", tmp_path / "still.png")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq", "still.png"]


def test_the_progress_counts_the_frames_computed_to_reach_a_range_from_the_start(
    capsys, realshort: Path, last_frame: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colormnet.progress import ProgressBar

    reported: list[tuple[str, int]] = []
    real_update = ProgressBar.update

    def update(bar: ProgressBar, done: int) -> None:
        reported.append((bar.label, done))
        real_update(bar, done)

    monkeypatch.setattr(ProgressBar, "update", update)
    # the exemplar sits at frame 35: frames 35 down to 10 are computed, 10 and 11 written
    code, err = _run(capsys, *_colorize(realshort, last_frame, tmp_path / "o.mp4", "--frames", "10:12"))
    assert code == 0, err
    counts = [done for label, done in reported if label == "colorizing"]
    assert counts[0] == 0  # shown before the first step
    assert counts == sorted(counts) and counts[-1] == 26
    assert len(set(counts)) == 27  # every step, the 24 frames before the range among them


def test_a_keyframe_pinned_by_hand_that_shows_another_picture_is_warned_of(
    capsys, realshort: Path, last_frame: Path, tmp_path: Path
) -> None:
    code, err = _run(capsys, *_colorize(realshort, last_frame, tmp_path / "a.mp4", "--frames", "34:36", "--kind",
                                        "keyframe"))
    assert code == 0 and "Warning" not in err, err  # the frame's own colours: no warning
    other = tmp_path / "bars.png"  # another picture, of another shape
    bars = np.zeros((90, 160, 3), np.uint8)
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]):
        bars[:, i * 40:(i + 1) * 40] = colour
    Image.fromarray(bars).save(other)
    code, err = _run(capsys, "colorize", realshort, "-e", f"{other}@35:keyframe", "-o", tmp_path / "b.mp4",
                     "--engine", "propagate", "--frames", "34:36")
    assert code == 0, err
    assert "Warning: the exemplar pinned as a keyframe at frame 35 does not look like that frame" in err


@pytest.mark.parametrize("command", ["extract-frame", "shots --csv", "shots --edl"])
def test_a_missing_output_folder_is_named_not_a_temporary_file(
    capsys, realshort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    missing = tmp_path / "no such folder"
    arguments = {
        "extract-frame": ["extract-frame", realshort, "0", "-o", missing / "still.png"],
        "shots --csv": ["shots", realshort, "--csv", missing / "shots.csv"],
        "shots --edl": ["shots", realshort, "--edl", missing / "shots.edl"],
    }[command]
    code, err = _run(capsys, *arguments)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"The folder {missing} does not exist; create it or choose another output." in err
    assert "partial" not in err and ".tmp" not in err


def test_a_full_disk_while_saving_a_still_is_one_line_and_leaves_nothing(
    capsys, realshort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    still = tmp_path / "still.png"
    still.write_bytes(b"an earlier still")

    def disk_full(self: Image.Image, fp: object, *_args: object, **_kwargs: object) -> None:
        Path(str(fp)).write_bytes(b"half an ima")
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))

    monkeypatch.setattr(Image.Image, "save", disk_full)
    code, err = _run(capsys, "extract-frame", realshort, "3", "-o", still, "--overwrite")
    assert code == 1, err
    assert err.strip() == f"colormnet: error: the disk holding {str(tmp_path)!r} is full; free some space there or " \
                          "choose another drive", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.png"]
    assert still.read_bytes() == b"an earlier still"


def test_weights_init_random_never_replaces_existing_weights(capsys, tmp_path: Path) -> None:
    weights = tmp_path / "colormnet.pth"
    weights.write_bytes(b"the official weights")
    code, err = _run(capsys, "weights", "init-random", weights)
    assert code == 1 and "already exists" in err and "--overwrite" in err, err
    assert weights.read_bytes() == b"the official weights"
    (tmp_path / "deep").mkdir()
    from colormnet.engines.deepexemplar import WEIGHT_FILES

    (tmp_path / "deep" / WEIGHT_FILES[0]).write_bytes(b"downloaded")
    code, err = _run(capsys, "weights", "init-random", tmp_path / "deep", "--engine", "deepexemplar")
    assert code == 1 and "already exists" in err, err


# -- signals, in a real child process ------------------------------------------------------------------------------

# The child runs the real command line; it says when the module is loaded (torch and the rest are not yet), and the
# hook only slows the spool down (every frame but the last is spooled here) so the test can stop it mid-run.
CHILD = (
    "import sys, time, colormnet.cli as cli, colormnet.spool as spool\n"
    "spill = spool._spill\n"
    "def slow(path, array):\n"
    "    spill(path, array)\n"
    "    time.sleep(0.3)\n"
    "spool._spill = slow\n"
    "print('ready', file=sys.stderr, flush=True)\n"
    "cli.entry()\n"
)


def _spawn(code: str, args: list[object], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *(str(a) for a in args)], cwd=cwd, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"},
        # as from a terminal: a test run started in the background inherits an ignored SIGINT otherwise
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_sigterm_mid_export_cleans_up_and_exits_143(realshort: Path, last_frame: Path, tmp_path: Path) -> None:
    output = tmp_path / "reel.mp4"
    output.write_bytes(b"an earlier export")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f".take1.mp4.partial-{int(dead.stdout)}@{host_tag()}-x1y2.mp4"
    leftover.write_bytes(b"what a killed run left")
    process = _spawn(CHILD, _colorize(realshort, last_frame, output, "--overwrite"), tmp_path)

    deadline = time.monotonic() + 300
    while not any(tmp_path.glob(".colormnet-spool-*/*.npy")):  # frames are being spooled: mid-run
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the export never reached the spool"
        time.sleep(0.02)
    assert not leftover.exists()  # cleared at start: its process is dead and it was made on this host
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 143, err
    assert "Traceback" not in err and "Stopped by SIGTERM: nothing was written" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.mp4"]
    assert output.read_bytes() == b"an earlier export"


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3, 1.0])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interruption_during_start_up_is_one_line(
    realshort: Path, last_frame: Path, tmp_path: Path, delay: float, signum: int
) -> None:
    process = _spawn(CHILD, _colorize(realshort, last_frame, tmp_path / "out.mp4"), tmp_path)
    assert process.stderr is not None
    assert process.stderr.readline() == "ready\n"
    time.sleep(delay)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)

    if delay == 0 and process.returncode == -signum and not err:
        return  # the signal came before entry() could take it over: ended by the default action, silently
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err, err
    # progress bars (shot detection may finish, colorizing begin, within the delay) aside, the message is one line
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and not _BAR.match(line)]
    assert len(lines) == 1 and ("Cancelled" in lines[0] or "Stopped by SIGTERM" in lines[0]), err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def pipelined_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU pipeline's threads (decode ahead, encode behind) switched on for the CPU."""
    monkeypatch.setattr("colormnet.session.run.pipelined", lambda model: True)


def _pipeline_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name in ("read-ahead", "write-behind")]


@pytest.mark.usefixtures("pipelined_run")
def test_an_export_with_the_pipeline_threads_writes_every_frame_in_order(
    capsys: pytest.CaptureFixture[str], realshort: Path, last_frame: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, err = _run(capsys, *_colorize(realshort, last_frame, out, "--frames", "28:36", "--codec", "png"))
    assert code == 0, err
    assert "the source's audio is not in the output" in err  # said, not silently dropped
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:05d}.png" for i in range(28, 36)]
    with VideoReader(realshort) as reader:  # the exemplar's own frame, last in the export, keeps the source's L*
        assert np.asarray(Image.open(out / "00035.png")).shape == reader.read(35).shape
    assert _pipeline_threads() == []


@pytest.mark.usefixtures("pipelined_run")
def test_a_write_failure_behind_the_model_is_one_line_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str], realshort: Path, last_frame: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from colormnet.video import VideoWriter

    def disk_full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(VideoWriter, "_write_frame", disk_full)
    code, err = _run(capsys, *_colorize(realshort, last_frame, tmp_path / "out.mp4", "--frames", "30:36"))
    lines = [line for line in err.splitlines() if line.strip() and not _BAR.match(line)]
    assert code == 1, err
    assert "is full" in lines[-1] and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert _pipeline_threads() == []
