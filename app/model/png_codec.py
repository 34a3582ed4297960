"""A small lossless PNG codec for the frame cache.

The cache must keep 16-bit frames of high-bit-depth sources, which Pillow cannot write for RGB, so frames are
encoded here with numpy and zlib: non-interlaced truecolour PNGs (8 or 16 bits per channel) with the "Sub" filter
on every row. Every viewer can open the files; :func:`decode_png` reads the files this module writes (filter types
None and Sub) and refuses anything else.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE_RGB = 2
_FILTER_NONE = 0
_FILTER_SUB = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(rgb: np.ndarray, *, level: int = 1) -> bytes:
    """Encode an RGB image as PNG bytes.

    Args:
        rgb: HxWx3 array, uint8 or uint16.
        level: zlib compression level (1 is fast and still roughly halves camera footage).

    Returns:
        The complete PNG file.

    Raises:
        ValueError: The array is not HxWx3 uint8/uint16.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected an HxWx3 uint8 or uint16 array, got {rgb.shape} {rgb.dtype}")
    height, width, _ = rgb.shape
    depth = 8 if rgb.dtype == np.uint8 else 16
    bytes_per_pixel = 3 * depth // 8
    raw = np.ascontiguousarray(rgb, dtype=">u2" if depth == 16 else np.uint8).view(np.uint8)
    pixels = raw.reshape(height, width, bytes_per_pixel)
    # Sub filter: each byte minus the same byte of the pixel to its left (mod 256).
    filtered = pixels.copy()
    filtered[:, 1:] -= pixels[:, :-1]
    rows = np.empty((height, 1 + width * bytes_per_pixel), dtype=np.uint8)
    rows[:, 0] = _FILTER_SUB
    rows[:, 1:] = filtered.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPE_RGB, 0, 0, 0)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            _chunk(b"IEND", b""),
        ]
    )


def decode_png(data: bytes) -> np.ndarray:
    """Decode a PNG written by :func:`encode_png`.

    Args:
        data: The file's bytes.

    Returns:
        HxWx3 uint8 or uint16 array.

    Raises:
        ValueError: The data is not a PNG of the kind this module writes, or it is truncated.
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    pos = len(_SIGNATURE)
    header: tuple[int, ...] | None = None
    idat = bytearray()
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ValueError("truncated PNG chunk")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without a header")
    width, height, depth, colour, _, _, interlace = header
    if colour != _COLOUR_TYPE_RGB or depth not in (8, 16) or interlace:
        raise ValueError("unsupported PNG layout")
    bytes_per_pixel = 3 * depth // 8
    try:
        raw = np.frombuffer(zlib.decompress(bytes(idat)), dtype=np.uint8)
    except zlib.error as exc:
        raise ValueError("corrupt PNG data") from exc
    if raw.size != height * (1 + width * bytes_per_pixel):
        raise ValueError("PNG data has the wrong size")
    rows = raw.reshape(height, 1 + width * bytes_per_pixel)
    filters = rows[:, 0]
    pixels = rows[:, 1:].reshape(height, width, bytes_per_pixel).copy()
    if np.any((filters != _FILTER_NONE) & (filters != _FILTER_SUB)):
        raise ValueError("unsupported PNG filter")
    sub_rows = filters == _FILTER_SUB
    pixels[sub_rows] = np.cumsum(pixels[sub_rows], axis=1, dtype=np.uint8)
    if depth == 16:
        return pixels.reshape(height, width * bytes_per_pixel).view(">u2").reshape(height, width, 3).astype(np.uint16)
    return pixels.reshape(height, width, 3)
