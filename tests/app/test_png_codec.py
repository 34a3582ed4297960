"""The frame cache's PNG codec: lossless at 8 and 16 bits, readable by other programs."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from app.model.png_codec import decode_png, encode_png


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([np.uint8, np.uint16]).flatmap(
        lambda dtype: arrays(dtype, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)))
    )
)
def test_round_trip_is_exact(rgb: np.ndarray) -> None:
    decoded = decode_png(encode_png(rgb))
    assert decoded.dtype == rgb.dtype
    np.testing.assert_array_equal(decoded, rgb)


def test_pillow_reads_the_8_bit_files() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    with Image.open(io.BytesIO(encode_png(rgb))) as image:
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), rgb)


def test_sixteen_bit_files_are_standard_png() -> None:
    rgb = np.random.default_rng(1).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    data = encode_png(rgb)
    assert data[12:16] == b"IHDR" and data[24] == 16  # bit depth field of the header
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (7, 5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a png", "not a PNG"),
        (encode_png(np.zeros((4, 4, 3), np.uint8))[:-30], "PNG"),
    ],
)
def test_damaged_data_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_png(data)


def test_unfiltered_rows_decode_too() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    rows = b"".join(b"\x00" + row.tobytes() for row in rgb)
    good = encode_png(rgb)
    start = good.index(b"IDAT") - 4
    end = good.index(b"IEND") - 4
    compressed = zlib.compress(rows)
    chunk = (
        len(compressed).to_bytes(4, "big") + b"IDAT" + compressed + zlib.crc32(b"IDAT" + compressed).to_bytes(4, "big")
    )
    np.testing.assert_array_equal(decode_png(good[:start] + chunk + good[end:]), rgb)


def test_wrong_input_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 3), np.float32))
