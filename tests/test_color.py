"""Colour conversion and padding against scikit-image and the official pre-processing, on real frames."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor

from colormnet import color
from colormnet.engines import tensors
from colormnet.video import VideoReader
from tests.conftest import CLIPS, GOLDEN


@pytest.fixture(scope="module")
def real_frames() -> list[np.ndarray]:
    frames = []
    for name, index in (("realshort.mp4", 5), ("movie.mp4", 40), ("cockatoo.mp4", 100)):
        with VideoReader(CLIPS / name) as reader:
            frames.append(reader.read(index))
    return frames


def test_rgb_to_lab_equals_scikit_image(real_frames) -> None:
    for rgb in real_frames:
        np.testing.assert_allclose(color.rgb_to_lab(rgb), skcolor.rgb2lab(rgb), atol=1e-9)
        np.testing.assert_allclose(color.luminance(rgb), skcolor.rgb2lab(rgb)[..., 0], atol=1e-4)


def test_lab_to_rgb_equals_scikit_image_including_out_of_gamut(real_frames) -> None:
    lab = skcolor.rgb2lab(real_frames[0])
    lab[..., 1:] *= 2.5  # push many pixels out of gamut
    lab[::7, ::7, 2] = -250  # and some to negative z
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image may warn about the clipped negative z
        expected = skcolor.lab2rgb(lab)
    np.testing.assert_allclose(color.lab_to_rgb(lab), expected, atol=1e-9)


def test_round_trip_on_real_frames_within_one_level(real_frames) -> None:
    for rgb in real_frames:
        planes = color.normalize_lab(color.rgb_to_lab(rgb))
        back = color.compose_rgb(planes[0] * 50 + 50, planes[1:])
        assert np.abs(back * 255 - rgb).max() < 0.05  # float32 planes: far below one 8-bit level
        assert np.abs(color.to_uint8_truncated(back).astype(int) - rgb).max() <= 1


def test_official_preprocessing_is_reproduced_exactly() -> None:
    inputs = np.load(GOLDEN / "official_inputs.npz")
    for i in range(8):
        frame = np.asarray(Image.open(GOLDEN / "frames" / f"{i:05d}.png").convert("RGB"))
        assert np.array_equal(color.normalize_lab(color.rgb_to_lab(frame))[0], inputs["frames_L"][i])
    exemplar = np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB"))
    assert np.array_equal(color.normalize_lab(color.rgb_to_lab(exemplar)), inputs["exemplar_lab"])


@pytest.mark.parametrize(
    ("size", "padded"), [((272, 480), (336, 560)), ((536, 960), (560, 1008)), ((480, 854), (560, 896)),
                         ((224, 224), (224, 224)), ((57, 101), (112, 112))]
)
def test_padding_to_multiples_of_112_is_centred(size, padded) -> None:
    amounts = color.pad_amounts(*size)
    left, right, top, bottom = amounts
    assert (size[0] + top + bottom, size[1] + left + right) == padded
    assert top == (padded[0] - size[0]) // 2 and left == (padded[1] - size[1]) // 2
    x = torch.randn(2, *size)
    assert torch.equal(tensors.unpad(tensors.pad(x, amounts), amounts), x)


def test_exemplar_resize_matches_pillow_for_8_bit_and_keeps_16_bit(real_frames) -> None:
    rgb = real_frames[0]
    ours = color.resize_rgb(rgb.astype(np.float32) / 255, 100, 60)
    pillow = np.asarray(Image.fromarray(rgb).resize((100, 60), Image.Resampling.BILINEAR)) / 255
    assert np.array_equal(ours, pillow.astype(np.float32))
    deep = (rgb.astype(np.float32) / 255) ** 1.1  # not 8-bit content
    resized = color.resize_rgb(deep, 100, 60)
    assert resized.shape == (60, 100, 3) and np.abs(resized - pillow).max() < 0.1
    assert not np.allclose(resized * 255, np.round(resized * 255))
