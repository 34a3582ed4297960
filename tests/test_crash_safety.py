"""Crashes and full disks lose nothing: ``kill -9`` during an export or a project save, a write failing mid-export.

The kill tests run the real code in a child process and send it SIGKILL while it is writing; the earlier output or
the earlier project must survive byte for byte (or, for the project, as one complete version). The full-disk test
makes the operating system refuse writes past a size limit (``RLIMIT_FSIZE``) in a child export, so the failure comes
from the kernel at an arbitrary point of the file, not from a mock.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colormnet.video import VideoReader

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and RLIMIT_FSIZE are POSIX")

CLI = [sys.executable, "-c", "from colormnet.cli import entry; entry()"]


@pytest.fixture(scope="module")
def exemplar(realshort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with VideoReader(realshort) as reader:
        rgb = reader.read(0)
    path = tmp_path_factory.mktemp("exemplar") / "frame0.png"
    Image.fromarray(rgb).save(path)
    return path


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}


def _wait_for(predicate, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the child ended (exit {process.returncode}) before the moment to kill it: {err[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the child never reached the moment to kill it")
        time.sleep(0.05)


def test_kill_9_during_an_export_leaves_the_earlier_output_intact(
    tmp_path: Path, realshort: Path, exemplar: Path, random_weights: Path
) -> None:
    output = tmp_path / "reel.mp4"
    output.write_bytes(realshort.read_bytes())  # an earlier, complete export under the same name
    before = output.read_bytes()
    process = subprocess.Popen(
        [*CLI, "colorize", str(realshort), "-e", f"{exemplar}@0", "-o", str(output), "--overwrite",
         "--weights", str(random_weights), "--process-size", "112"],
        cwd=tmp_path, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def partial_has_frames() -> bool:
        return any(p.stat().st_size > 0 for p in tmp_path.glob(".reel.mp4.partial-*"))

    _wait_for(partial_has_frames, timeout=300, process=process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL

    assert output.read_bytes() == before
    with VideoReader(output) as reader:
        assert reader.info.frame_count == 36
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p != output)
    assert any(name.startswith(".reel.mp4.partial-") for name in leftovers), leftovers  # killed mid-write
    assert all(name.startswith((".reel.mp4.partial-", ".colormnet-spool-")) for name in leftovers), leftovers

    # the next export into that folder finishes and clears what the killed run left behind
    result = subprocess.run(
        [*CLI, "colorize", str(realshort), "-e", f"{exemplar}@0", "-o", str(output), "--overwrite",
         "--engine", "propagate"],
        cwd=tmp_path, env=_child_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.mp4", "reel.mp4.colormnet.json"]  # and its record
    assert output.read_bytes() != before


def test_a_write_refused_by_the_system_mid_export_is_one_line_and_leaves_nothing(
    tmp_path: Path, realshort: Path, exemplar: Path
) -> None:
    limit = 3_000_000  # FFV1 frames of this clip are ~400 kB: the kernel refuses a write a few frames in

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    earlier = tmp_path / "reel.mkv"
    earlier.write_bytes(b"an earlier export")
    result = subprocess.run(
        [*CLI, "colorize", str(realshort), "-e", f"{exemplar}@0", "-o", str(earlier), "--overwrite",
         "--engine", "propagate", "--codec", "ffv1"],
        cwd=tmp_path, env=_child_env(), capture_output=True, text=True, preexec_fn=limit_file_size, timeout=300,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("colormnet:")]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and "reel.mkv" in lines[0] and "largest size this drive allows" in lines[0], result.stderr
    assert earlier.read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.mkv"]  # the temporary file and the spool are gone


SAVE_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from app.model.project import Project

    target, images = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    project = Project.load(target)
    for round in range(10**9):
        project.replace_image(0, images[round % len(images)])  # the save prunes the replaced copy
        project.playhead = round
        project.save(target)
        if round == 0:
            print("saved", flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5])
def test_kill_9_during_project_saves_leaves_a_complete_project(
    tmp_path: Path, realshort: Path, exemplar: Path, delay: float
) -> None:
    pytest.importorskip("PySide6")  # the app's requirements
    from app.model.project import Project

    images = []
    for shade in range(2):
        path = tmp_path / f"look{shade}.png"
        rgb = np.asarray(Image.open(exemplar)).copy()
        rgb[..., shade] //= 2
        Image.fromarray(rgb).save(path)
        images.append(path)
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.frame_count = 36
    project.add_exemplar(0, images[0])
    target = tmp_path / "film" / "reel.cmnproj"
    project.save(target)

    process = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(target), *map(str, images)],
                               cwd=tmp_path, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "saved", process.stderr.read() if process.stderr else ""
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate()

    json.loads(target.read_text())  # complete JSON, not a torn write
    loaded = Project.load(target)
    assert loaded.video == realshort.resolve()
    assert [e.frame for e in loaded.exemplars] == [0]
    image = loaded.exemplars[0].image
    assert image.is_file(), "the saved project refers to an exemplar copy that a later save deleted"
    assert np.asarray(Image.open(image)).shape == np.asarray(Image.open(images[0])).shape
