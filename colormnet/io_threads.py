"""Decoding ahead of and encoding behind the engine, each on a thread of its own with a short bounded queue.

On a GPU the model step is short enough that decoding the next frame and encoding the last one, done in series with
it on the calling thread, leave the GPU idle for much of every frame. :func:`read_ahead` decodes a few frames ahead
on a thread; :class:`WriteBehind` encodes a few frames behind on another. Both hold at most ``depth`` frames, so
memory stays bounded whatever the speeds, and both keep the calling thread's view of failures: an exception raised
on the thread is raised again where the frames are taken or given, with its traceback. Neither leaves a thread
running after it is closed, however it ends (exhausted, closed early, cancelled, or failed on either side).

A ``depth`` of 0 runs everything on the calling thread, exactly as without these wrappers: on a CPU the engine is so
much slower than decoding and encoding that a thread would only add switches (see ``docs/performance.md``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

__all__ = ["ReadAhead", "WriteBehind", "read_ahead"]

T = TypeVar("T")

_POLL_SECONDS = 0.05  # how often a thread blocked on a full or empty queue looks whether it should stop


class _StoppedError(Exception):
    """The other side went away: the thread stops without delivering."""


class _End:
    """Marks the end of the frames in the queue."""


_END = _End()


class _Failure:
    """Carries an exception from the thread to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(box: queue.Queue[object], item: object, stop: threading.Event) -> None:
    """Puts ``item``, waiting for room unless ``stop`` is set (then raises :class:`_StoppedError`)."""
    while True:
        if stop.is_set():
            raise _StoppedError
        try:
            box.put(item, timeout=_POLL_SECONDS)
            return
        except queue.Full:
            continue


class ReadAhead(Generic[T]):
    """Iterates ``source`` on a thread of its own, at most ``depth`` items ahead of the consumer.

    The source is advanced (and, if it is a generator, closed) only on that thread. :meth:`close` stops the thread
    and waits for it: the item being produced at that moment is finished, then dropped.
    """

    def __init__(self, source: Iterator[T], depth: int, name: str = "read-ahead") -> None:
        if depth < 1:
            raise ValueError("A read-ahead needs a depth of at least 1.")
        self._source = source
        self._box: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            try:
                for item in self._source:
                    _put(self._box, item, self._stop)
                _put(self._box, _END, self._stop)
            except _StoppedError:
                pass
            except BaseException as exc:  # every failure goes to the consumer, who raises it
                with contextlib.suppress(_StoppedError):
                    _put(self._box, _Failure(exc), self._stop)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._box.get(timeout=_POLL_SECONDS)
                break
            except queue.Empty:
                if self._stop.is_set():  # closed from another thread
                    raise StopIteration from None
                if not self._thread.is_alive() and self._box.empty():  # it died without a word (cannot happen)
                    self._done = True
                    raise RuntimeError("The read-ahead thread ended unexpectedly.") from None
        if isinstance(item, _End):
            self._finish()
            raise StopIteration
        if isinstance(item, _Failure):
            self._finish()
            raise item.error
        return item  # type: ignore[return-value]

    def _finish(self) -> None:
        self._done = True
        self._thread.join()

    def close(self) -> None:
        """Stops reading ahead and waits for the thread to end; calling it again does nothing. It may be called
        from another thread than the consumer's (the consumer then sees the end of the items)."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room, so a thread waiting to put sees the stop at once
                while True:
                    self._box.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(_POLL_SECONDS)
        with self._box.mutex:
            self._box.queue.clear()  # frames nobody will take


def read_ahead(source: Iterator[T], depth: int) -> Iterator[T]:
    """``source`` read ``depth`` items ahead on a thread (:class:`ReadAhead`), or itself for a depth of 0."""
    return ReadAhead(source, depth) if depth > 0 else source


class WriteBehind(Generic[T]):
    """Hands items to ``write`` on a thread of its own, at most ``depth`` items behind the caller.

    Use it as a context manager: a normal exit waits until everything given was written, an exception drops what
    is still queued. An exception raised by ``write`` stops the writing and is raised again, with its traceback, by
    the next :meth:`put` or by :meth:`close`. A ``depth`` of 0 calls ``write`` on the calling thread.
    """

    def __init__(self, write: Callable[[T], object], depth: int, name: str = "write-behind") -> None:
        self._write = write
        self._depth = depth
        self._error: BaseException | None = None
        self._closed = False
        self._stop = threading.Event()
        self._box: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._consume, name=name, daemon=True)
            self._thread.start()

    def _consume(self) -> None:
        while True:
            try:
                item = self._box.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if isinstance(item, _End):
                return
            try:
                self._write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # raised again on the caller's side
                self._error = exc
                self._stop.set()
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: T) -> None:
        """Queues ``item`` for writing (waits while ``depth`` items are queued).

        Raises:
            Exception: what an earlier ``write`` raised.
        """
        if self._closed:
            raise ValueError("This writer is already closed.")
        if self._thread is None:
            self._write(item)
            return
        self._raise_error()
        try:
            _put(self._box, item, self._stop)
        except _StoppedError:
            self._thread.join()
            self._raise_error()
            raise RuntimeError("The write-behind thread stopped.") from None

    def close(self) -> None:
        """Waits until everything queued is written and the thread has ended.

        Raises:
            Exception: what a ``write`` raised.
        """
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            with contextlib.suppress(_StoppedError):
                _put(self._box, _END, self._stop)
            self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Drops what is still queued and waits for the thread to end (after the item being written)."""
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            with self._box.mutex:
                self._box.queue.clear()
            self._thread.join()
        self._error = None

    def __enter__(self) -> WriteBehind[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
