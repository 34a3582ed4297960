"""The output path loses nothing: an existing folder keeps everything but the numbered frames this program wrote
there, read files are never written, a full disk is said up front or in one line naming the folder, and dead runs'
leftovers are cleared."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colormnet.errors import OutputError
from colormnet.fileio import clear_leftovers, describe_os_error, host_tag, owned_prefix
from colormnet.output_guard import BYTES_PER_PIXEL, estimate_export_bytes, is_protected, refuse_inside
from colormnet.spool import in_frame_order
from colormnet.video import CODECS, VideoReader, VideoWriter, check_output_path
from colormnet.video import frame_folder as frame_folder_module
from colormnet.video.frame_folder import MANIFEST
from tests.test_video_support import write_video

GREY = np.full((8, 8, 3), 100, np.uint8)


def _export(output: Path, values: list[int], codec: str = "png", *, fail: bool = False,
            source: VideoReader | None = None, first: int = 0) -> None:
    with VideoWriter(output, codec, width=8, height=8, fps=None if source else Fraction(24), source=source,
                     frame_indices=range(first, first + len(values)), overwrite=True, audio=False) as writer:
        for value in values:
            writer.write(GREY * 0 + value)
        if fail:
            raise KeyboardInterrupt


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def film_folder(tmp_path: Path) -> Path:
    """A restorer's folder: notes, numbered scans of their own (in a subfolder and beside the frames), and an earlier
    3-frame export."""
    folder = tmp_path / "film"
    folder.mkdir()
    (folder / "notes.txt").write_text("reel 1, scanned 1998")
    (folder / "sub").mkdir()
    (folder / "sub" / "00000.png").write_bytes(b"a scan in a subfolder")
    (folder / "00002.png").write_bytes(b"a scan numbered like a frame")
    (folder / "00007.png").write_bytes(b"another scan numbered like a frame")
    (folder / "00000.tif").write_bytes(b"another format's frame")
    (folder / "clip.mp4").write_bytes(b"a film")
    _export(folder, [10, 20, 30])
    return folder


def _ours(folder: Path) -> list[str]:
    return sorted(json.loads((folder / MANIFEST).read_text())["frames"])


def test_overwriting_a_folder_replaces_only_the_frames_this_program_wrote(film_folder: Path) -> None:
    # the earlier export replaced the scan named 00002.png: the user named the folder and --overwrite
    assert _ours(film_folder) == ["00000.png", "00001.png", "00002.png"]
    (film_folder / "00002.png").unlink()
    (film_folder / "00002.png").write_bytes(b"a scan put back after the export")
    (film_folder / "00003.png").write_bytes(b"a scan added after the export")
    replaced = (MANIFEST, "00000.png", "00001.png")
    before = {name: data for name, data in _snapshot(film_folder).items() if name not in replaced}
    _export(film_folder, [40, 50])

    after = _snapshot(film_folder)
    assert {name: data for name, data in after.items() if name not in replaced} == before  # 00002 was replaced since
    assert after["00007.png"] == b"another scan numbered like a frame"
    assert np.asarray(Image.open(film_folder / "00001.png"))[0, 0, 0] == 50
    assert _ours(film_folder) == ["00000.png", "00001.png"]
    assert [p.name for p in film_folder.iterdir() if p.name.startswith(".")] == [MANIFEST]  # no staging folder left


def test_its_own_stale_frames_go_when_the_whole_video_is_written_again(film_folder: Path) -> None:
    _export(film_folder, [40])
    assert not (film_folder / "00001.png").exists() and not (film_folder / "00002.png").exists()
    assert (film_folder / "00007.png").read_bytes() == b"another scan numbered like a frame"
    assert _ours(film_folder) == ["00000.png"]


def test_a_range_is_named_by_its_source_frames_and_patches_an_earlier_render(tmp_path: Path) -> None:
    source_path = tmp_path / "film.mkv"
    write_video(source_path, [np.full((8, 8, 3), 10 * i, np.uint8) for i in range(6)], codec="ffv1", pix_fmt="bgr0")
    folder = tmp_path / "frames"
    with VideoReader(source_path) as source:
        _export(folder, [1, 2, 3, 4, 5, 6], source=source)  # the whole film
        (folder / "notes.txt").write_text("keep")
        _export(folder, [90, 91], source=source, first=3)  # frames 3 and 4 rendered again
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".png")
    assert names == [f"{i:05d}.png" for i in range(6)]
    values = [int(np.asarray(Image.open(folder / name))[0, 0, 0]) for name in names]
    assert values == [1, 2, 3, 90, 91, 6]
    assert _ours(folder) == names and (folder / "notes.txt").read_text() == "keep"


def test_a_cancelled_or_failed_swap_leaves_the_folder_as_it_was(
    film_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(film_folder)
    with pytest.raises(KeyboardInterrupt):
        _export(film_folder, [60, 70, 80, 90], fail=True)
    assert _snapshot(film_folder) == before

    moves = []
    real_replace = os.replace

    def replace_then_fail(source, target):  # the drive fails half-way through moving the new frames in
        moves.append(target)
        if len(moves) == 5:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(frame_folder_module.os, "replace", replace_then_fail)
    with pytest.raises(OutputError, match="input/output error"):
        _export(film_folder, [60, 70, 80, 90])
    monkeypatch.undo()
    assert _snapshot(film_folder) == before
    assert [p.name for p in film_folder.iterdir() if p.name.startswith(".")] == [MANIFEST]


def test_a_frame_name_taken_by_a_folder_is_refused_before_any_work(film_folder: Path) -> None:
    (film_folder / "00009.png").mkdir()
    with pytest.raises(OutputError, match="is not an image file"):
        check_output_path(film_folder, inputs=[], codec="png", overwrite=True)


def test_the_current_folder_keeps_its_files_and_nothing_appears_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("keep me")
    monkeypatch.chdir(here)
    for spelling in (".", "./", str(here) + "/."):
        _export(Path(spelling), [10, 20])
    assert sorted(p.name for p in here.iterdir()) == [MANIFEST, "00000.png", "00001.png", "notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["here"]
    with pytest.raises(OutputError, match=r"^No frame was written, so '\.' was not created\.$"):
        VideoWriter(Path("."), "png", width=8, height=8, overwrite=True).close()


def test_files_the_export_reads_are_never_replaced_whatever_the_spelling(tmp_path: Path) -> None:
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"checkpoint")
    (tmp_path / "00000.png").symlink_to(weights)
    (tmp_path / "00001.png").hardlink_to(weights)
    assert is_protected(tmp_path / "00000.png", [weights]) == weights
    assert is_protected(tmp_path / "00001.png", [weights]) == weights
    assert is_protected(tmp_path / "sub" / ".." / "weights.pth", [weights]) == weights
    assert is_protected(tmp_path / "other.png", [weights]) is None
    with pytest.raises(OutputError, match="never writes"):
        check_output_path(tmp_path, inputs=[weights], codec="png", overwrite=True)
    assert weights.read_bytes() == b"checkpoint"
    sequence = tmp_path / "seq"
    sequence.mkdir()
    with pytest.raises(OutputError, match="lies in the source sequence"):
        refuse_inside(sequence / "f0000.png", sequence)
    refuse_inside(tmp_path / "still.png", sequence)


def test_every_codec_has_a_size_estimate() -> None:
    assert set(BYTES_PER_PIXEL) == set(CODECS)
    assert estimate_export_bytes("tiff16", 1920, 1080, 1000) > 10**10  # 1000 frames of 16-bit 1080p: over 10 GB


def test_an_export_that_cannot_fit_is_refused_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**12, 10**12 - 50_000_000, 50_000_000))
    with pytest.raises(OutputError) as caught:
        VideoWriter(tmp_path / "out", "tiff16", width=1920, height=1080, fps=Fraction(24),
                    frame_indices=range(1000))
    message = str(caught.value)
    assert "1000 frames of 1920x1080 as tiff16 need at least 10.4 GB" in message, message
    assert f"{str(tmp_path)!r} has 50.0 MB free" in message, message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []
    with VideoWriter(tmp_path / "small.mp4", "h264", width=8, height=8, fps=Fraction(24),
                     frame_indices=range(2)) as writer:  # a short export that fits still runs
        writer.write(GREY)
        writer.write(GREY)
    assert (tmp_path / "small.mp4").is_file()


@pytest.mark.parametrize("codec", ["h264", "png"])
def test_a_full_disk_while_writing_names_the_folder_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    output = tmp_path / ("out.mp4" if codec == "h264" else "out")
    _export(output, [10], codec)
    before = _snapshot(tmp_path)

    def disk_full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(VideoWriter, "_write_image" if codec == "png" else "_write_frame", disk_full)
    with pytest.raises(OutputError) as caught:
        _export(output, [20, 30], codec)
    folder = output if codec == "png" else tmp_path  # an existing output folder receives the work in progress
    assert f"the disk holding {str(folder)!r} is full" in str(caught.value)
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]


def test_a_full_disk_in_the_spool_names_the_folder_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def short_write(*_args: object, **_kwargs: object) -> None:  # what numpy raises when the disk fills mid-frame
        raise OSError("230400 requested and 149872 written")

    monkeypatch.setattr(np, "save", short_write)
    ordered = in_frame_order([2, 1, 0], [0, 1, 2], index=int, convert=lambda i: np.full(3, i), workdir=tmp_path)
    with pytest.raises(OutputError) as caught:
        list(ordered)
    assert str(caught.value).startswith(f"Putting frames in order failed: the disk holding {str(tmp_path)!r} is full")
    assert list(tmp_path.iterdir()) == []
    assert describe_os_error(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "f.png"))) == (
        f"the disk holding {str(tmp_path)!r} is full; free some space there or choose another drive"
    )


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_leftovers_of_this_hosts_dead_runs_are_cleared_and_nothing_else(tmp_path: Path) -> None:
    dead = _dead_pid()
    tag = host_tag()
    gone = [f".reel.mp4.partial-{dead}@{tag}-a1.mp4", f".colormnet-spool-{dead}@{tag}-b2",
            f".colormnet-partial-{dead}@{tag}-c3", f".take 2.mov.partial-{dead}@{tag}-d4.mov"]
    other_host = "0" * 8 if tag != "0" * 8 else "1" * 8
    kept = [f".reel.mp4.partial-{dead}@{other_host}-e5.mp4",  # another host's
            f".reel.mp4.partial-{os.getppid()}@{tag}-f6.mp4",  # a live process's
            f"{owned_prefix('.reel.mp4.partial-')}g7.mp4",  # this process's
            f".colormnet-replaced-{dead}@{tag}-h8",  # may hold the only copy of earlier frames: left to the user
            "reel.mp4", f"notes-{dead}@{tag}-x.txt"]
    for name in gone + kept:
        if Path(name).suffix:
            (tmp_path / name).write_bytes(b"x")
        else:
            (tmp_path / name).mkdir()
    (tmp_path / gone[1] / "7.npy").write_bytes(b"spilled frame")

    removed = clear_leftovers(tmp_path)

    assert sorted(p.name for p in removed) == sorted(gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_an_existing_frames_folder_that_may_not_be_written_is_refused_before_the_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colormnet.video import codecs

    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "00000.png").write_bytes(b"an earlier export")
    monkeypatch.setattr(codecs.os, "access", lambda path, mode: Path(path) != frames)  # as root may not see it
    with pytest.raises(OutputError, match=f"The folder {frames} is not writable"):
        check_output_path(frames, inputs=[tmp_path / "film.mp4"], codec="png", overwrite=True)
    check_output_path(tmp_path / "elsewhere", inputs=[tmp_path / "film.mp4"], codec="png", overwrite=True)
