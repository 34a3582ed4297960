"""An export written here: each segment's missing frames colorized, every frame written as soon as its turn comes.

A frame the export colorizes goes to the writer as it arrives (and into the frame cache for the preview); frames
cached earlier, and frames a run produces out of order (backwards from an exemplar), are read back from the cache
when their turn comes. So a segment longer than the cache holds exports as well as a short one, and on a GPU the
encoding runs on a thread of its own behind the model (``write_behind``). The writer is the library's atomic one (a
temporary name renamed into place once complete); a cancelled or failed export leaves nothing at the target. Runs on
the session worker's thread.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from app.jobs import ExportJob, SegmentInfo
from colormnet.errors import OutputError
from colormnet.io_threads import WriteBehind

if TYPE_CHECKING:
    from colormnet.video import VideoInfo


def export_here(
    job: ExportJob,
    info: VideoInfo,
    segments: Sequence[SegmentInfo],
    *,
    cached: Callable[[str, int], np.ndarray | None],
    colorize_missing: Callable[[int, int], Iterable[tuple[int, np.ndarray]]],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
    write_behind: int = 0,
) -> None:
    """Write frames ``[job.start, job.stop)`` of the video ``info`` to ``job.path``.

    Args:
        job: What to write where.
        info: The source video (its audio and size go to the output).
        segments: The session's segments with their cache keys.
        cached: The colorized frame ``(key, index)`` from the frame cache (HxWx3, 8 or 16 bits), None if absent.
        colorize_missing: Colorizes the frames of ``[start, stop)`` that are not cached yet, yielding each as
            ``(index, frame)`` once it is in the cache (frames as the cache holds them).
        cancel: Set to stop (the output is then not written).
        progress: Called with frames written and frames to write.
        write_behind: Frames the writer may lag behind on a thread of its own (0: it writes on this thread).

    Raises:
        OutputError: A frame cannot be had from the cache, or part of the range has no exemplar.
        OSError: The output cannot be written.
    """
    from colormnet.video import VideoReader, VideoWriter

    reader = VideoReader(info.path)
    writer: Any = None
    try:
        writer = VideoWriter(job.path, job.codec, width=info.width, height=info.height, source=reader,
                             frame_indices=range(job.start, job.stop), audio=job.audio, overwrite=job.overwrite)
        with WriteBehind(writer.write, write_behind, name="export-writer") as sink:
            for frame in _frames(job, segments, cached, colorize_missing, cancel, progress):
                sink.put(frame)
        if cancel.is_set():
            writer.abort()
        else:
            writer.close()
        writer = None
    finally:
        if writer is not None:
            writer.abort()
        reader.close()


def _frames(
    job: ExportJob,
    segments: Sequence[SegmentInfo],
    cached: Callable[[str, int], np.ndarray | None],
    colorize_missing: Callable[[int, int], Iterable[tuple[int, np.ndarray]]],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
) -> Iterator[np.ndarray]:
    """The frames of the range in order, segment by segment, each as soon as it and those before it are there."""
    total = job.stop - job.start
    done = 0
    progress(0, total)
    for segment in list(segments):
        lo, hi = max(job.start, segment.start), min(job.stop, segment.stop)
        if lo >= hi:
            continue
        turn = lo  # the next frame to write
        with _closing(iter(colorize_missing(lo, hi))) as arriving:
            for index, rgb in itertools.chain(arriving, [(None, None)]):  # None: every frame is colorized now
                if cancel.is_set():
                    return
                if index == turn:
                    ready: Iterable[np.ndarray] = itertools.chain([rgb], _cached_run(segment.key, turn + 1, hi, cached))
                else:
                    ready = _cached_run(segment.key, turn, hi, cached, required=index is None)
                for frame in ready:
                    if cancel.is_set():
                        return
                    yield frame
                    turn += 1
                    done += 1
                    progress(done, total)
    if done < total:
        raise OutputError("Some frames of the range have no exemplar to colorize them; add an exemplar first.")


@contextlib.contextmanager
def _closing(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[Iterator[tuple[int, np.ndarray]]]:
    """``frames``, closed on leaving (a run's generator stops its threads at once on a failure or a cancel)."""
    try:
        yield frames
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def _cached_run(key: str, start: int, stop: int, cached: Callable[[str, int], np.ndarray | None],
                required: bool = False) -> Iterator[np.ndarray]:
    """The cached frames ``start, start+1, ...`` of ``[start, stop)`` up to the first one absent (an error if
    ``required``: every frame of the segment has been colorized by then)."""
    for index in range(start, stop):
        rgb = cached(key, index)
        if rgb is None:
            if required:
                raise OutputError(
                    f"Frame {index} left the frame cache before it was written; raise the cache size in "
                    "Settings and export again."
                )
            return
        yield rgb
