"""Large exemplars: reduced on decoding, classified from block means, within a bounded multiple of their 8-bit size.

The memory figure is the rise of a fresh process's peak resident set while it loads and classifies the exemplar
(``benchmarks/exemplar_memory.py``, which prints the same figures for larger images); before exemplars were reduced
on decoding, a 5000x4000 PNG took 36 times its 8-bit size (2.2 GB).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.exemplar_memory import measure, write_exemplar
from colormnet.exemplar import EXEMPLAR_WORKING_PIXELS, classify_exemplar, load_exemplar_image
from colormnet.video import VideoReader

#: Peak memory of loading and classifying an exemplar above the working size, in multiples of its 8-bit pixels.
#: Measured: 5.3 (PNG and JPEG, 5000x4000), 2.2 (PNG) and 1.1 (JPEG) at 9990x10000.
PEAK_BOUND = 7.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak resident set from /proc")
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_loading_and_classifying_a_large_exemplar_stays_within_a_few_times_its_size(tmp_path: Path,
                                                                                     suffix: str) -> None:
    path = write_exemplar(tmp_path / f"large{suffix}", 5000, 4000)
    row = measure(path)
    assert row["ratio"] < PEAK_BOUND, row
    width, height = (int(n) for n in str(row["working"]).split("x"))
    assert width * height <= EXEMPLAR_WORKING_PIXELS and abs(width / height - 5000 / 4000) < 0.01


def test_a_reduced_exemplar_keeps_its_picture_and_colours(tmp_path: Path) -> None:
    source = np.asarray(Image.open(write_exemplar(tmp_path / "big.png", 4600, 3700)))
    rgb = load_exemplar_image(tmp_path / "big.png")
    assert rgb.dtype == np.float32 and rgb.shape[0] * rgb.shape[1] <= EXEMPLAR_WORKING_PIXELS
    assert rgb.shape[0] * rgb.shape[1] > 0.9 * EXEMPLAR_WORKING_PIXELS  # reduced to fit, not by a whole factor
    expected = np.asarray(Image.fromarray(source).resize(rgb.shape[1::-1], Image.Resampling.BOX)) / 255.0
    assert np.abs(rgb - expected).mean() < 1.0 / 255


def test_a_keyframe_classified_from_block_means_scores_as_at_full_size(realshort: Path) -> None:
    with VideoReader(realshort) as reader:
        colour = reader.read(0)
    frame = np.repeat(colour.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    enlarged = np.asarray(Image.fromarray(colour).resize((320 * 7, 240 * 7), Image.Resampling.BICUBIC))
    assert enlarged.shape[0] * enlarged.shape[1] > 1_000_000  # the size from which block means are taken
    small_kind, small_score = classify_exemplar(colour, frame)
    kind, score = classify_exemplar(enlarged, frame)
    assert kind == small_kind == "keyframe" and abs(score - small_score) < 0.05
    kind, score = classify_exemplar(enlarged.astype(np.float32) / 255.0, frame)
    assert kind == "keyframe" and abs(score - small_score) < 0.05


def test_resizing_tests_every_strip_for_8_bit_values() -> None:
    from colormnet import color

    levels = np.random.default_rng(0).integers(0, 256, (1100, 1000, 3)).astype(np.uint8)  # more than one strip
    as8 = color.resize_rgb(levels, 90, 70)
    unit = levels.astype(np.float32) / 255.0
    assert np.array_equal(color.resize_rgb(unit, 90, 70), as8)  # 8-bit content goes the 8-bit way
    unit[-1, -1, 2] += 0.3 / 255  # one value off the 8-bit grid, in the last strip
    assert not np.array_equal(color.resize_rgb(unit, 90, 70), as8)
