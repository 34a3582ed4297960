"""Chunk files: one unit's frames, lossless (FFV1 in Matroska), written atomically.

A chunk keeps exactly the RGB arrays the final writer would have been given (8-bit for 8-bit codecs, 16-bit
otherwise): FFV1 stores planar RGB without loss, so assembling from chunks feeds the writer the same numbers as a
single-machine run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from colormnet.fileio import fsync_path

PARTIAL_PREFIX = ".chunk-partial-"
_FORMATS = {8: ("rgb24", "bgr0"), 16: ("rgb48le", "gbrp16le")}  # bit depth -> (array format, FFV1 pixel format)


def write_chunk(path: Path, frames: Iterable[np.ndarray], *, bit_depth: int) -> int:
    """Writes ``H x W x 3`` RGB arrays (uint8 or uint16 after ``bit_depth``) as ``path``; returns the frame count.

    The file appears under ``path`` only when complete; a process killed meanwhile leaves a
    :data:`PARTIAL_PREFIX` file that the next run's driver removes.
    """
    array_format, pix_fmt = _FORMATS[bit_depth]
    descriptor, name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=".mkv", dir=path.parent)
    os.close(descriptor)
    tmp = Path(name)
    count = 0
    try:
        with av.open(str(tmp), mode="w", format="matroska") as container:
            stream = container.add_stream("ffv1", rate=Fraction(24))
            stream.codec_context.time_base = Fraction(1, 24)
            for rgb in frames:
                if count == 0:
                    stream.height, stream.width = rgb.shape[:2]
                    stream.pix_fmt = pix_fmt
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=array_format)
                frame = frame.reformat(format=pix_fmt)
                frame.pts = count
                container.mux(stream.encode(frame))
                count += 1
            container.mux(stream.encode(None))
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def read_chunk(path: Path, *, bit_depth: int) -> Iterator[np.ndarray]:
    """The frames of a chunk, in order, as the arrays :func:`write_chunk` was given."""
    array_format = _FORMATS[bit_depth][0]
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format=array_format)


def remove_partials(folder: Path) -> None:
    """Deletes chunk files left half-written by killed tasks (finished chunks and the manifest are kept)."""
    for entry in folder.glob(f"{PARTIAL_PREFIX}*"):
        entry.unlink(missing_ok=True)
