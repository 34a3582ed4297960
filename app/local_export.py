"""An export written here: each segment's missing frames colorized, every frame written as soon as its turn comes.

A frame the export colorizes goes to the writer as it arrives in turn (and into the frame cache for the preview);
one that arrives early (a run goes backwards from an exemplar, a transition's frames come with its second pass)
waits on disk in the writer's work folder until its turn (:func:`colormnet.spool.in_frame_order`), and frames cached
earlier are read from the cache when their turn comes. So a range longer than the cache holds exports; only a
frame cached before the export and forgotten by the cache before its turn (a cache smaller than the run in front of
it) stops it, with a one-line error. On a GPU the encoding runs on a thread of its own behind the model
(``pipelined``). The writer is the library's atomic one (a temporary name renamed into place once complete); a
cancelled or failed export leaves nothing at the target. Runs on the session worker's thread.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.jobs import ExportJob, SegmentInfo
from colormnet.errors import OutputError
from colormnet.io_threads import WriteBehind
from colormnet.spool import in_frame_order

WRITE_BEHIND = 4  # frames the encoder may lag behind the model on a GPU (see colormnet.io_threads)

if TYPE_CHECKING:
    from colormnet.video import VideoInfo


def export_here(
    job: ExportJob,
    info: VideoInfo,
    segments: Sequence[SegmentInfo],
    *,
    cached: Callable[[str, int], np.ndarray | None],
    colorize_missing: Callable[[int, int], tuple[list[int], Iterable[tuple[int, np.ndarray]]]],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
    pipelined: bool = False,
) -> None:
    """Write frames ``[job.start, job.stop)`` of the video ``info`` to ``job.path``.

    Args:
        job: What to write where.
        info: The source video (its audio and size go to the output).
        segments: The session's segments with their cache keys.
        cached: The colorized frame ``(key, index)`` from the frame cache (HxWx3, 8 or 16 bits), None if absent.
        colorize_missing: For ``[start, stop)``, the frames not cached yet, and a run colorizing them that yields
            each as ``(index, frame)`` (as the cache holds it) once it is cached, in any order.
        cancel: Set to stop (the output is then not written).
        progress: Called with frames handed to the writer and frames to write.
        pipelined: The run is a GPU pipeline: the writer encodes on a thread of its own, up to
            :data:`WRITE_BEHIND` frames behind (else it writes on this thread, in turn with the run).

    Raises:
        OutputError: A frame cannot be had, or part of the range has no exemplar.
        OSError: The output cannot be written.
    """
    from colormnet.video import VideoReader, VideoWriter

    reader = VideoReader(info.path)
    writer: Any = None
    try:
        writer = VideoWriter(job.path, job.codec, width=info.width, height=info.height, source=reader,
                             frame_indices=range(job.start, job.stop), audio=job.audio, overwrite=job.overwrite)
        frames = _frames(job, segments, cached, colorize_missing, cancel, progress, writer.work_folder)
        depth = WRITE_BEHIND if pipelined else 0
        with WriteBehind(writer.write, depth, name="export-writer") as sink, contextlib.closing(frames):
            for frame in frames:
                sink.put(frame)
            if cancel.is_set():
                sink.abort()  # what is queued is not worth encoding
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
    colorize_missing: Callable[[int, int], tuple[list[int], Iterable[tuple[int, np.ndarray]]]],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
    workdir: Path,
) -> Generator[np.ndarray, None, None]:
    """The frames of the range in order, segment by segment, each as soon as its turn comes (see export_here)."""
    total = job.stop - job.start
    done = 0
    progress(0, total)
    for segment in list(segments):
        lo, hi = max(job.start, segment.start), min(job.stop, segment.stop)
        if lo >= hi:
            continue
        missing, run = colorize_missing(lo, hi)
        to_come = set(missing)
        arriving = in_frame_order(run, sorted(to_come), index=operator.itemgetter(0),
                                  convert=operator.itemgetter(1), workdir=workdir)
        with contextlib.ExitStack() as closing:  # however this ends, the spool and the run are closed here and now
            closing.callback(getattr(run, "close", lambda: None))
            closing.enter_context(contextlib.closing(arriving))
            for index in range(lo, hi):
                if cancel.is_set():
                    return
                rgb = next(arriving, (None, None))[1] if index in to_come else cached(segment.key, index)
                if rgb is None:
                    if cancel.is_set():
                        return
                    raise OutputError(
                        f"Frame {index} left the frame cache before it was written; raise the cache size in "
                        "Settings and export again." if index not in to_come else
                        f"Frame {index} was not colorized; export again."
                    )
                yield rgb
                done += 1
                progress(done, total)
    if done < total:
        raise OutputError("Some frames of the range have no exemplar to colorize them; add an exemplar first.")
