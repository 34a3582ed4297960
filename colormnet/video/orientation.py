"""A video's display rotation: phone clips store their frames sideways plus a display matrix saying how to turn them.

The rule the program follows:

- Frames are stored, read, colorized and encoded in their *stored* orientation, so no pixel is resampled; a movie
  export carries the source's display matrix unchanged (players turn it as they turned the source).
- Whatever a person sees or hands in is *upright* (as a player shows it): the app's viewer, a still written by
  ``extract-frame``, the frames of an image-sequence export (PNG and TIFF carry no rotation that every tool
  honours), and exemplar images, which :class:`colormnet.session.Session` turns back into the stored orientation
  before the engines see them.

Rotations are multiples of 90 degrees (lossless turns); another angle is rounded to the nearest one for what is
shown, while a movie export still carries the exact matrix.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, cast

import av
import numpy as np

logger = logging.getLogger(__name__)

DisplayMatrix = tuple[int, int, int, int, int, int, int, int, int]


def frame_orientation(frame: av.VideoFrame) -> tuple[int, DisplayMatrix | None]:
    """The counter-clockwise turn (0, 90, 180 or 270 degrees) that shows ``frame`` upright, and its display matrix.

    The matrix is FFmpeg's nine 32-bit integers, kept as found so that an export carries it exactly.
    """
    container: Any = frame.side_data  # typed too narrowly in PyAV's stubs; a mapping of side data by type name
    try:
        side_data = container["DISPLAYMATRIX"]
    except KeyError:
        return 0, None
    raw = bytes(side_data)
    if len(raw) != 36:
        logger.debug("ignoring a display matrix of %d bytes", len(raw))
        return 0, None
    matrix = cast(DisplayMatrix, struct.unpack("=9i", raw))
    angle = float(frame.rotation)  # counter-clockwise, in [-180, 180]
    return round(angle / 90.0) % 4 * 90, matrix


def to_display(image: np.ndarray, rotation: int) -> np.ndarray:
    """A stored frame (``H x W`` or ``H x W x C``) turned upright; a contiguous copy when it turns."""
    turns = rotation // 90 % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def to_stored(image: np.ndarray, rotation: int) -> np.ndarray:
    """An upright image turned back into the stored orientation (the inverse of :func:`to_display`)."""
    turns = rotation // 90 % 4
    return np.ascontiguousarray(np.rot90(image, -turns)) if turns else image


def display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """``(width, height)`` as shown upright."""
    return (height, width) if rotation % 180 else (width, height)
