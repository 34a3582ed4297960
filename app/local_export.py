"""An export written here, from the frame cache: the frames of each segment colorized where missing, then written.

The writer is the library's atomic one (a temporary name renamed into place once complete); a cancelled or failed
export leaves nothing at the target. Runs on the session worker's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from app.jobs import ExportJob, SegmentInfo
from colormnet.errors import OutputError

if TYPE_CHECKING:
    from colormnet.video import VideoInfo


def export_here(
    job: ExportJob,
    info: VideoInfo,
    segments: Sequence[SegmentInfo],
    *,
    cached: Callable[[str, int], np.ndarray | None],
    colorize_missing: Callable[[int, int], None],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
) -> None:
    """Write frames ``[job.start, job.stop)`` of the video ``info`` to ``job.path``.

    Args:
        job: What to write where.
        info: The source video (its audio and size go to the output).
        segments: The session's segments with their cache keys.
        cached: The colorized frame ``(key, index)`` from the frame cache (HxWx3, 8 or 16 bits), None if absent.
        colorize_missing: Colorizes the frames of ``[start, stop)`` that are not cached yet.
        cancel: Set to stop (the output is then not written).
        progress: Called with frames written and frames to write.

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
        for frame in _frames(job, segments, cached, colorize_missing, cancel, progress):
            writer.write(frame)
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
    colorize_missing: Callable[[int, int], None],
    cancel: threading.Event,
    progress: Callable[[int, int], None],
) -> Iterator[np.ndarray]:
    """The frames of the range in order, segment by segment, each colorized first where missing (see export_here)."""
    total = job.stop - job.start
    done = 0
    progress(0, total)
    for segment in list(segments):
        lo, hi = max(job.start, segment.start), min(job.stop, segment.stop)
        if lo >= hi:
            continue
        colorize_missing(lo, hi)
        for index in range(lo, hi):
            if cancel.is_set():
                return
            rgb = cached(segment.key, index)
            if rgb is None:
                raise OutputError(
                    f"Frame {index} left the frame cache before it was written; raise the cache size in "
                    "Settings and export again."
                )
            yield rgb
            done += 1
            progress(done, total)
    if done < total:
        raise OutputError("Some frames of the range have no exemplar to colorize them; add an exemplar first.")
