"""How a picture of any size is placed on the fixed 432 x 768 working canvas, and brought back.

Two framings:

* ``official``: the official pre-processing. The picture is resized to *cover* the canvas (scikit-image's
  anti-aliased linear resize, truncated to uint8) and centre-cropped, so a non-16:9 picture loses its borders.
  Needed to reproduce the official numbers.
* ``fit`` (default): the picture is resized to *fit* inside the canvas and the rest is filled by repeating its
  edge pixels. Every pixel is colorized; the padding is masked out of the matching and cut away afterwards.

A :class:`Placement` records the geometry: the resized picture is ``resized`` pixels and its top-left corner sits at
``offset`` on the canvas (negative where it is cropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from colormnet.engines.deepexemplar.resize import resize_like_skimage

__all__ = ["CANVAS", "Framing", "Placement"]

Framing = Literal["fit", "official"]
CANVAS = (432, 768)  # working size (H, W); the networks run at half of it


@dataclass(frozen=True)
class Placement:
    """Where a ``source``-sized picture lies on the canvas.

    Attributes:
        source: ``(H, W)`` of the picture.
        resized: ``(h, w)`` it is resized to.
        offset: ``(top, left)`` of the resized picture on the canvas (negative: cropped).
        framing: which rule produced it.
        canvas: ``(H, W)`` of the canvas (the official 432 x 768 unless a test asks for a smaller one).
    """

    source: tuple[int, int]
    resized: tuple[int, int]
    offset: tuple[int, int]
    framing: Framing
    canvas: tuple[int, int] = CANVAS

    @classmethod
    def create(cls, height: int, width: int, framing: Framing, canvas: tuple[int, int] = CANVAS) -> Placement:
        """The placement of a ``height x width`` picture under ``framing`` on ``canvas``.

        Raises:
            ValueError: an unknown framing, or a canvas the networks cannot run on (the width must be a multiple of
                32 and the height of 16).
        """
        ch, cw = canvas
        if cw % 32 or ch % 16 or ch < 32:
            raise ValueError(f"the canvas {ch}x{cw} needs a width divisible by 32 and a height divisible by 16")
        if framing == "official":  # the official CenterPad, its integer arithmetic included
            if height / width == ch / cw:
                resized = (height, width) if height == ch else (int(height * ch / height), int(width * ch / height))
            elif height / width > ch / cw:
                resized = (int(height * cw / width), int(width * cw / width))
            else:
                resized = (int(height * ch / height), int(width * ch / height))
            offset = (-((resized[0] - ch) // 2), -((resized[1] - cw) // 2))
        elif framing == "fit":
            scale = min(ch / height, cw / width)
            resized = (min(ch, max(1, round(height * scale))), min(cw, max(1, round(width * scale))))
            offset = ((ch - resized[0]) // 2, (cw - resized[1]) // 2)
        else:
            raise ValueError(f"unknown framing {framing!r}: use 'fit' or 'official'")
        return cls((height, width), resized, offset, framing, canvas)

    @property
    def canvas_box(self) -> tuple[slice, slice]:
        """The canvas rows and columns the picture covers."""
        (top, left), (h, w) = self.offset, self.resized
        return slice(max(top, 0), min(top + h, self.canvas[0])), slice(max(left, 0), min(left + w, self.canvas[1]))

    def _pads(self) -> tuple[int, int, int, int]:
        """Canvas padding around the picture: ``(top, bottom, left, right)`` (0 where it is cropped)."""
        rows, cols = self.canvas_box
        return rows.start, self.canvas[0] - rows.stop, cols.start, self.canvas[1] - cols.stop

    def _crop(self) -> tuple[slice, slice]:
        """The part of the resized picture that is on the canvas."""
        rows, cols = self.canvas_box
        top, left = self.offset
        return slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left)

    def rgb_to_canvas(self, rgb: np.ndarray) -> np.ndarray:
        """``H x W x 3`` uint8 -> the ``432 x 768 x 3`` uint8 canvas (resize truncated to uint8, as officially)."""
        resized = rgb if rgb.shape[:2] == self.resized else resize_like_skimage(rgb, *self.resized)
        if self.framing == "fit":
            resized = np.round(resized)  # our own framing rounds instead of truncating
        rows, cols = self._crop()
        top, bottom, left, right = self._pads()
        canvas = np.asarray(resized[rows, cols]).astype(np.uint8)
        return np.pad(canvas, ((top, bottom), (left, right), (0, 0)), mode="edge")

    def planes_to_canvas(self, planes: torch.Tensor) -> torch.Tensor:
        """``B x C x H x W`` float planes -> ``B x C x 432 x 768`` (antialiased bilinear resize, edge padding)."""
        x = planes
        if tuple(x.shape[-2:]) != self.resized:
            x = F.interpolate(x, size=self.resized, mode="bilinear", align_corners=False, antialias=True)
        rows, cols = self._crop()
        top, bottom, left, right = self._pads()
        return F.pad(x[..., rows, cols], (left, right, top, bottom), mode="replicate")

    def canvas_to_source(self, planes: torch.Tensor) -> torch.Tensor:
        """``B x C x 432 x 768`` -> ``B x C x H x W``: the picture's part, cropped borders filled from its edge."""
        rows, cols = self.canvas_box
        x = planes[..., rows, cols]
        crop_rows, crop_cols = self._crop()
        h, w = self.resized
        missing = (crop_cols.start, w - crop_cols.stop, crop_rows.start, h - crop_rows.stop)
        if any(missing):
            x = F.pad(x, missing, mode="replicate")
        if tuple(x.shape[-2:]) != self.source:
            x = F.interpolate(x, size=self.source, mode="bilinear", align_corners=False)
        return x

    def valid_grid(self, stride: int = 8) -> torch.Tensor | None:
        """Flattened mask of the matching grid (canvas stride ``stride``) whose cells lie on the picture.

        None when the picture covers the whole canvas.
        """
        rows, cols = self.canvas_box
        if (rows.start, rows.stop, cols.start, cols.stop) == (0, self.canvas[0], 0, self.canvas[1]):
            return None
        centres_y = torch.arange(self.canvas[0] // stride) * stride + stride / 2
        centres_x = torch.arange(self.canvas[1] // stride) * stride + stride / 2
        inside_y = (centres_y >= rows.start) & (centres_y < rows.stop)
        inside_x = (centres_x >= cols.start) & (centres_x < cols.stop)
        mask = inside_y[:, None] & inside_x[None, :]
        if not mask.any():  # a sliver thinner than one cell: keep the cells it touches
            inside_y = (centres_y + stride / 2 > rows.start) & (centres_y - stride / 2 < rows.stop)
            inside_x = (centres_x + stride / 2 > cols.start) & (centres_x - stride / 2 < cols.stop)
            mask = inside_y[:, None] & inside_x[None, :]
        return mask.flatten()
