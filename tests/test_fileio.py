"""Crash-safe writes and the cleanup of what killed runs leave behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from colormnet.fileio import describe_os_error, owned_prefix, remove_stale, write_bytes_atomic


def test_atomic_write_replaces_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "reel.cmnproj"
    write_bytes_atomic(target, b"first")
    target.chmod(0o640)
    write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["reel.cmnproj"]


def test_a_failed_atomic_write_keeps_the_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "reel.cmnproj"
    write_bytes_atomic(target, b"old")

    def refuse(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError, match="No space"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["reel.cmnproj"]


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_remove_stale_clears_only_what_dead_processes_left(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / f".reel.mp4.partial-{dead}-abc.mp4").write_bytes(b"half")
    (tmp_path / f".reel.mp4.partial-{dead}-def").mkdir()
    (tmp_path / f".reel.mp4.partial-{dead}-def" / "00000.png").write_bytes(b"x")
    mine = tmp_path / f"{owned_prefix('.reel.mp4.partial-')}ghi.mp4"
    mine.write_bytes(b"in progress")
    live = tmp_path / f".reel.mp4.partial-{os.getppid()}-jkl.mp4"
    live.write_bytes(b"another live export")
    old_style = tmp_path / ".reel.mp4.partial-mno.mp4"
    old_style.write_bytes(b"no pid in the name")
    other = tmp_path / f".take2.mp4.partial-{dead}-pqr.mp4"
    other.write_bytes(b"another output's")

    removed = remove_stale(tmp_path, ".reel.mp4.partial-")

    assert sorted(p.name for p in removed) == [f".reel.mp4.partial-{dead}-abc.mp4", f".reel.mp4.partial-{dead}-def"]
    assert mine.exists() and live.exists() and old_style.exists() and other.exists()
    assert remove_stale(tmp_path / "missing", ".x-") == []


@pytest.mark.parametrize("temporary", [".shots.csv.tmp-kzh0yezh", ".still.png.partial-281@0a7c9cdf-mtt9t1ee.png"])
def test_a_refused_temporary_file_is_told_as_its_folder(tmp_path: Path, temporary: str) -> None:
    """Where the folder's permissions say yes but the file system says no (a share that maps root to nobody)."""
    message = describe_os_error(PermissionError(errno.EACCES, "Permission denied", str(tmp_path / temporary)))
    assert message == (f"The folder {str(tmp_path)!r} cannot be written (Permission denied); choose another output "
                       "folder.")
    assert describe_os_error(PermissionError(errno.EACCES, "Permission denied", "/x/film.mp4")) == (
        "Permission denied: '/x/film.mp4'")
