"""An export written here takes each frame as soon as its turn comes: straight from the run, or from the cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.jobs import ExportJob, SegmentInfo
from app.local_export import _frames, export_here
from colormnet.errors import OutputError
from colormnet.video import VideoReader


def _frame(index: int) -> np.ndarray:
    return np.full((8, 8, 3), index, np.uint8)


class FakeRun:
    """A frame cache of ``capacity`` frames (the oldest forgotten first) and a run that fills it in ``order``."""

    def __init__(self, order: list[int], capacity: int, cached: tuple[int, ...] = ()) -> None:
        self.order = order
        self.capacity = capacity
        self.store: dict[int, np.ndarray] = {i: _frame(i) for i in cached}
        self.closed = False
        self.cancel = threading.Event()

    def cached(self, key: str, index: int) -> np.ndarray | None:
        assert key == "k"
        return self.store.get(index)

    def colorize_missing(self, lo: int, hi: int) -> tuple[list[int], Iterator[tuple[int, np.ndarray]]]:
        missing = [i for i in range(lo, hi) if i not in self.store]
        return missing, self._run([i for i in self.order if i in missing])

    def _run(self, frames: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        try:
            for index in frames:
                self.store[index] = _frame(index)
                while len(self.store) > self.capacity:
                    del self.store[next(iter(self.store))]
                yield index, _frame(index)
        finally:
            self.closed = True

    def frames(self, start: int, stop: int, workdir: Path) -> list[int]:
        job = ExportJob(Path("unused.mkv"), "ffv1", start, stop, audio=False, overwrite=False)
        out = _frames(job, [SegmentInfo(0, 10, 0, 0, "k")], self.cached, self.colorize_missing, self.cancel,
                      lambda _d, _t: None, workdir)
        return [int(f[0, 0, 0]) for f in out]


def test_a_forward_run_is_written_as_it_arrives_even_when_the_cache_holds_one_frame(tmp_path: Path) -> None:
    run = FakeRun(order=list(range(10)), capacity=1)
    assert run.frames(0, 10, tmp_path) == list(range(10))


def test_frames_cached_before_are_written_before_the_run_can_push_them_out(tmp_path: Path) -> None:
    run = FakeRun(order=list(range(10)), capacity=2, cached=(0, 1))
    assert run.frames(0, 10, tmp_path) == list(range(10))


def test_frames_arriving_backwards_wait_on_disk_not_in_the_cache(tmp_path: Path) -> None:
    run = FakeRun(order=[5, 4, 3, 2, 1, 0, 6, 7, 8, 9], capacity=1)
    assert run.frames(0, 10, tmp_path) == list(range(10))
    assert run.closed
    assert list(tmp_path.iterdir()) == []  # the spool folder is gone


def test_a_cached_frame_the_cache_forgot_before_its_turn_is_a_one_line_error(tmp_path: Path) -> None:
    run = FakeRun(order=list(range(10)), capacity=2, cached=(8,))  # the run in front of 8 pushes it out
    with pytest.raises(OutputError, match="Frame 8 left the frame cache"):
        run.frames(0, 10, tmp_path)
    assert run.closed


def test_cancel_stops_at_once_and_closes_the_run(tmp_path: Path) -> None:
    run = FakeRun(order=list(range(10)), capacity=10)
    job = ExportJob(Path("unused.mkv"), "ffv1", 0, 10, audio=False, overwrite=False)
    out = _frames(job, [SegmentInfo(0, 10, 0, 0, "k")], run.cached, run.colorize_missing, run.cancel,
                  lambda _d, _t: None, tmp_path)
    assert int(next(out)[0, 0, 0]) == 0
    run.cancel.set()
    assert list(out) == []
    assert run.closed


def test_a_range_without_exemplar_is_refused(tmp_path: Path) -> None:
    run = FakeRun(order=list(range(10)), capacity=10)
    with pytest.raises(OutputError, match="no exemplar"):
        run.frames(5, 12, tmp_path)  # the segment ends at 10


def test_a_writer_failure_behind_the_run_stops_the_run_and_leaves_nothing(tmp_path: Path, realshort: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.video import VideoWriter

    written: list[int] = []

    def write(self: VideoWriter, rgb: np.ndarray) -> None:
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append(1)

    monkeypatch.setattr(VideoWriter, "write", write)
    with VideoReader(realshort) as reader:
        info = reader.info
    run = FakeRun(order=list(range(10)), capacity=10)
    job = ExportJob(tmp_path / "out.mkv", "ffv1", 0, 10, audio=False, overwrite=False)
    with pytest.raises(OSError, match="No space"):
        export_here(job, info, [SegmentInfo(0, 10, 0, 0, "k")], cached=run.cached,
                    colorize_missing=run.colorize_missing, cancel=run.cancel, progress=lambda _d, _t: None,
                    pipelined=True)
    assert run.closed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("pipelined", [False, True])
def test_the_writer_behind_writes_every_frame_in_order(tmp_path: Path, realshort: Path, pipelined: bool) -> None:
    with VideoReader(realshort) as reader:
        info = reader.info
        frames = [np.ascontiguousarray(255 - rgb) for _, rgb in reader.frames(0, 6)]  # unlike the source
    arrival = [3, 2, 1, 0, 4, 5]  # backwards from an exemplar at 3, then forwards
    job = ExportJob(tmp_path / "out.mkv", "ffv1", 0, 6, audio=False, overwrite=False)
    progress: list[int] = []
    export_here(job, info, [SegmentInfo(0, 6, 3, 3, "k")], cached=lambda _key, i: None,
                colorize_missing=lambda lo, hi: (list(range(lo, hi)), ((i, frames[i]) for i in arrival)),
                cancel=threading.Event(), progress=lambda done, _total: progress.append(done),
                pipelined=pipelined)
    assert progress == list(range(7))
    with VideoReader(job.path) as written:
        back = [np.round(rgb / (257.0 if rgb.dtype == np.uint16 else 1.0)) for _, rgb in written.frames()]
    assert [int(np.abs(rgb - frames[i]).max()) for i, rgb in enumerate(back)] == [0] * 6
