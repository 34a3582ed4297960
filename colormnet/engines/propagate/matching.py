"""Colour for pixels the flow cannot carry: nearest neighbours in a luminance-texture feature space.

Every exemplar pixel on a regular grid is described by its luminance, its local means at two scales, its local
contrast and gradient strength, and (weakly) its position. A pixel of another frame that no motion path connects
to the exemplar (a disocclusion, a cut, a scratch) takes the softly weighted chroma of its ``k`` nearest exemplar
samples. Luminance is brought to the exemplar's mean and spread first, so exposure flicker does not change which
samples match.

Shapes: lightness planes are ``H x W`` L* in [0, 100] (float32); chroma ``2 x H x W`` normalised a', b'.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from colormnet.engines.propagate.flow import exposure_gain

__all__ = ["ExemplarMatcher", "texture_features"]


def texture_features(lightness: np.ndarray, position_weight: float) -> np.ndarray:
    """``H x W x 7`` float32 features of a luminance plane, in L* units.

    Channels: L, Gaussian means at sigma 2 and 6, local standard deviation (sigma 3), gradient magnitude
    (sigma 1), and x and y scaled so that crossing the frame's longer side costs ``position_weight``.
    """
    plane = lightness.astype(np.float32, copy=False)
    height, width = plane.shape
    mean2 = cv2.GaussianBlur(plane, (0, 0), 2.0)
    mean6 = cv2.GaussianBlur(plane, (0, 0), 6.0)
    mean3 = cv2.GaussianBlur(plane, (0, 0), 3.0)
    var3 = cv2.GaussianBlur(plane * plane, (0, 0), 3.0) - mean3 * mean3
    smooth = cv2.GaussianBlur(plane, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) * 0.25
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) * 0.25
    scale = position_weight / max(height, width)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack(
        [plane, mean2, mean6, 2.0 * np.sqrt(np.maximum(var3, 0.0)), 2.0 * np.sqrt(gx * gx + gy * gy),
         xs * scale, ys * scale],
        axis=-1,
    )


def match_statistics(lightness: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``lightness`` brought to a given mean and standard deviation (gain limited to [0.5, 2])."""
    gain = exposure_gain(float(lightness.std()), std)
    return ((lightness - float(lightness.mean())) * gain + mean).astype(np.float32)


class ExemplarMatcher:
    """Soft k-nearest-neighbour chroma transfer from one exemplar.

    Args:
        lightness: ``H x W`` L* of the exemplar at the working size.
        ab: ``2 x H x W`` its normalised chroma.
        samples: how many exemplar pixels (on a regular grid) to search.
        neighbours: ``k``.
        position_weight: cost, in L* units, of a match across the whole frame (0: position is ignored).
        bandwidth: softness of the neighbour weights, in L* units.
    """

    def __init__(self, lightness: np.ndarray, ab: np.ndarray, *, samples: int = 4096, neighbours: int = 8,
                 position_weight: float = 20.0, bandwidth: float = 4.0) -> None:
        height, width = lightness.shape
        self._mean = float(lightness.mean())
        self._std = float(lightness.std())
        self._position_weight = position_weight
        self._k = neighbours
        self._bandwidth = bandwidth
        stride = max(1, int(np.ceil(np.sqrt(height * width / samples))))
        offset = stride // 2
        feats = texture_features(lightness, position_weight)[offset::stride, offset::stride].reshape(-1, 7)
        self._refs = torch.from_numpy(np.ascontiguousarray(feats))
        self._ref_sq = (self._refs * self._refs).sum(1)
        self._ref_ab = torch.from_numpy(np.ascontiguousarray(ab[:, offset::stride, offset::stride].reshape(2, -1).T))
        self._ref_xy = torch.from_numpy(np.stack(np.meshgrid(np.arange(offset, width, stride),
                                                             np.arange(offset, height, stride)), -1)
                                        .reshape(-1, 2).astype(np.float32))

    def match(self, lightness: np.ndarray, mask: np.ndarray | None = None, stride: int = 2
              ) -> tuple[np.ndarray, np.ndarray]:
        """Chroma for a frame from its nearest exemplar samples.

        Args:
            lightness: ``H x W`` L* of the frame (any exposure; it is matched to the exemplar's statistics).
            mask: ``H x W`` bool, the pixels that need a colour (``None``: all); others get zero confidence.
            stride: the search runs on every ``stride``-th pixel and is upsampled bilinearly.

        Returns:
            ``2 x H x W`` chroma and ``H x W`` confidence in [0, 1] (1: a sample matches exactly).
        """
        height, width = lightness.shape
        feats = texture_features(match_statistics(lightness, self._mean, self._std), self._position_weight)
        coarse = feats[::stride, ::stride]
        ch, cw = coarse.shape[:2]
        if mask is None:
            need = np.ones((ch, cw), dtype=bool)
        else:
            grown = cv2.dilate(mask.astype(np.uint8), np.ones((2 * stride + 1, 2 * stride + 1), np.uint8))
            need = grown[::stride, ::stride].astype(bool)
        ab = np.zeros((2, ch, cw), dtype=np.float32)
        conf = np.zeros((ch, cw), dtype=np.float32)
        if need.any():
            query = torch.from_numpy(np.ascontiguousarray(coarse[need]))
            got_ab, got_conf = self._search(query)
            ab[:, need] = got_ab.T
            conf[need] = got_conf
        if (ch, cw) != (height, width):
            ab = np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in ab])
            conf = np.asarray(cv2.resize(conf, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
        return ab, conf

    def _search(self, query: torch.Tensor, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """``N x 7`` features -> ``N x 2`` chroma and ``N`` confidence."""
        k = min(self._k, self._refs.shape[0])
        abs_out, conf_out = [], []
        for part in query.split(chunk):
            dist = (part * part).sum(1, keepdim=True) + self._ref_sq[None] - 2.0 * part @ self._refs.T
            best, idx = torch.topk(dist, k, dim=1, largest=False)
            best = best.clamp_min(0.0)
            weights = torch.exp(-(best - best[:, :1]) / (2.0 * self._bandwidth**2))
            weights = weights / weights.sum(1, keepdim=True)
            abs_out.append((weights[..., None] * self._ref_ab[idx]).sum(1))
            conf_out.append(torch.exp(-best[:, 0] / (2.0 * self._bandwidth**2)))
        return torch.cat(abs_out).numpy(), torch.cat(conf_out).numpy()
