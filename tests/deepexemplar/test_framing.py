"""Placing pictures on the canvas: the official cover-crop (bit-exact against scikit-image) and our fit-and-pad."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.transform import resize

from colormnet.engines.deepexemplar.framing import Placement
from colormnet.engines.deepexemplar.resize import resize_like_skimage
from colormnet.video import VideoReader

from .conftest import CLIPS


@pytest.mark.parametrize(("size", "resized", "offset"), [
    ((720, 1280), (432, 768), (0, 0)),
    ((432, 768), (432, 768), (0, 0)),
    ((240, 320), (576, 768), (-72, 0)),  # 4:3 loses rows
    ((1280, 720), (1365, 768), (-466, 0)),  # 9:16
    ((200, 1000), (432, 2160), (0, -696)),  # very wide loses columns
])
def test_official_placement(size: tuple[int, int], resized: tuple[int, int], offset: tuple[int, int]) -> None:
    placement = Placement.create(*size, "official")
    assert (placement.resized, placement.offset) == (resized, offset)
    assert placement.valid_grid() is None


def test_fit_placement_keeps_every_pixel() -> None:
    placement = Placement.create(240, 320, "fit")
    assert (placement.resized, placement.offset) == ((432, 576), (0, 96))
    valid = placement.valid_grid()
    assert valid is not None and valid.reshape(54, 96)[:, 12:84].all() and not valid.reshape(54, 96)[:, :12].any()
    planes = torch.rand(1, 1, 240, 320)
    canvas = placement.planes_to_canvas(planes)
    assert canvas.shape == (1, 1, 432, 768)
    assert torch.equal(canvas[..., :96], canvas[..., 96:97].expand(-1, -1, -1, 96))  # edge padding
    back = placement.canvas_to_source(canvas)
    assert back.shape == planes.shape and (back - planes).abs().mean() < 0.1
    with pytest.raises(ValueError, match="canvas"):
        Placement.create(240, 320, "fit", canvas=(100, 160))


def test_official_canvas_is_scikit_image_exact() -> None:
    reader = VideoReader(CLIPS / "movie.mp4")
    frame = reader.read(5)
    reader.close()
    for rgb in (frame, frame[:50, :70], np.full((240, 320, 3), 200, np.uint8)):
        placement = Placement.create(*rgb.shape[:2], "official")
        expected = resize(rgb, placement.resized, order=1, mode="reflect", anti_aliasing=True, preserve_range=True,
                          clip=False)
        np.testing.assert_array_equal(resize_like_skimage(rgb, *placement.resized), expected)
        canvas = placement.rgb_to_canvas(rgb)
        rows = slice(-placement.offset[0], -placement.offset[0] + 432)
        cols = slice(-placement.offset[1], -placement.offset[1] + 768)
        np.testing.assert_array_equal(canvas, expected.astype(np.uint8)[rows, cols])


def test_official_canvas_back_to_source_fills_the_cropped_rows() -> None:
    placement = Placement.create(240, 320, "official")
    canvas = torch.arange(432.0).view(1, 1, 432, 1).expand(1, 2, 432, 768)
    back = placement.canvas_to_source(canvas)
    assert back.shape == (1, 2, 240, 320)
    assert torch.all(back[..., :20, :] == 0) and torch.all(back[..., -20:, :] == 431)
