"""Decoding ahead and encoding behind on threads: order, bounded queues, failures raised where the frames are taken
or given, and no thread left behind however a run ends (fake slow readers and writers, no timing asserted)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from colormnet.errors import OutputError
from colormnet.io_threads import ReadAhead, WriteBehind, read_ahead


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    yield
    left = [t.name for t in threading.enumerate() if t.name in ("read-ahead", "write-behind")]
    assert left == []


class SlowReader:
    """Yields 0, 1, ... ``count - 1`` after a short pause each; records how far it got and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None, pause: float = 0.002) -> None:
        self.count, self.fail_at, self.pause = count, fail_at, pause
        self.produced = 0
        self.closed = False
        self.thread: str | None = None

    def frames(self) -> Iterator[int]:
        self.thread = threading.current_thread().name
        try:
            for i in range(self.count):
                time.sleep(self.pause)
                if i == self.fail_at:
                    raise OSError("the disk went away")
                self.produced += 1
                yield i
        finally:
            self.closed = True


def test_read_ahead_yields_everything_in_order_from_its_own_thread() -> None:
    reader = SlowReader(30)
    frames = read_ahead(reader.frames(), 3)
    assert list(frames) == list(range(30))
    assert reader.thread == "read-ahead" and reader.closed


def test_a_depth_of_zero_reads_on_the_calling_thread() -> None:
    reader = SlowReader(3)
    source = reader.frames()
    assert read_ahead(source, 0) is source
    assert list(source) == [0, 1, 2] and reader.thread == threading.current_thread().name


def test_read_ahead_stays_within_its_depth() -> None:
    reader = SlowReader(100, pause=0.0)
    frames = ReadAhead(reader.frames(), 4)
    assert next(frames) == 0
    time.sleep(0.2)  # time enough to run far ahead, were it unbounded
    assert reader.produced <= 1 + 4 + 1  # taken, queued, and one waiting for room
    frames.close()
    assert reader.closed


def test_a_reader_failure_is_raised_to_the_consumer_with_its_traceback() -> None:
    reader = SlowReader(10, fail_at=4)
    frames = ReadAhead(reader.frames(), 2)
    got = []
    with pytest.raises(OSError, match="the disk went away") as caught:
        for frame in frames:
            got.append(frame)
    assert got == [0, 1, 2, 3]
    assert any(entry.name == "frames" for entry in caught.traceback)  # raised where the reader failed
    assert reader.closed
    assert list(frames) == []  # finished for good


def test_closing_early_stops_the_thread_and_closes_the_source() -> None:
    reader = SlowReader(1000)
    frames = ReadAhead(reader.frames(), 2)
    assert [next(frames) for _ in range(3)] == [0, 1, 2]
    frames.close()
    frames.close()  # twice is harmless
    assert reader.closed and reader.produced < 1000
    assert list(frames) == []


def test_a_consumer_failure_ends_the_thread_through_the_generators_finally() -> None:
    reader = SlowReader(1000)

    def consume() -> Iterator[int]:
        frames = ReadAhead(reader.frames(), 2)
        try:
            for frame in frames:
                if frame == 5:
                    raise ValueError("the model failed")
                yield frame
        finally:
            frames.close()

    with pytest.raises(ValueError, match="the model failed"):
        list(consume())
    assert reader.closed


def test_write_behind_writes_everything_in_order_on_its_own_thread() -> None:
    written: list[int] = []
    threads: set[str] = set()

    def write(item: int) -> None:
        time.sleep(0.001)
        threads.add(threading.current_thread().name)
        written.append(item)

    with WriteBehind(write, 3) as sink:
        for i in range(40):
            sink.put(i)
    assert written == list(range(40)) and threads == {"write-behind"}


def test_write_behind_of_depth_zero_writes_at_once_on_the_calling_thread() -> None:
    written: list[int] = []
    with WriteBehind(written.append, 0) as sink:
        sink.put(7)
        assert written == [7]


def test_write_behind_holds_at_most_its_depth() -> None:
    release = threading.Event()
    written: list[int] = []
    sink = WriteBehind(lambda i: (release.wait(), written.append(i)), 2)
    given = []

    def give() -> None:
        for i in range(10):
            sink.put(i)
            given.append(i)

    giver = threading.Thread(target=give)
    giver.start()
    time.sleep(0.2)
    assert len(given) <= 1 + 2  # one being written, two queued; the giver waits for room
    release.set()
    giver.join()
    sink.close()
    assert written == list(range(10))


def test_a_write_failure_comes_back_as_the_library_error_on_the_next_put_or_on_close() -> None:
    def write(item: int) -> None:
        if item == 3:
            raise OutputError("Writing frame 3 to 'out.mp4' failed: the disk is full.")

    sink = WriteBehind(write, 2)
    with pytest.raises(OutputError, match="disk is full"):
        for i in range(1000):
            sink.put(i)
            time.sleep(0.001)
    sink.abort()

    sink = WriteBehind(write, 8)
    for i in range(5):
        sink.put(i)
    with pytest.raises(OutputError, match="disk is full"):
        sink.close()


def test_an_exception_in_the_caller_drops_what_is_queued() -> None:
    written: list[int] = []
    with pytest.raises(KeyboardInterrupt), WriteBehind(lambda i: (time.sleep(0.2), written.append(i)), 4) as sink:
        for i in range(4):
            sink.put(i)
        raise KeyboardInterrupt
    assert written in ([], [0])  # at most the frame being written when it stopped
    with pytest.raises(ValueError, match="closed"):
        sink.put(9)
