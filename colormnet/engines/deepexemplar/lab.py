"""Lab conversions of the Deep Exemplar pipeline.

The networks see "centred Lab": ``L - 50`` (L in 0..100) and raw ``a``, ``b``. Frames and references enter through
:func:`colormnet.color.rgb_to_lab` (the scikit-image formulas in float64); the reference goes back to RGB for VGG
through the official code's own float32 torch conversion (:func:`centred_lab_to_rgb`), whose rounding differs
from scikit-image's and is kept for parity.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from colormnet import color

__all__ = [
    "L_CENTRE",
    "centred_lab",
    "centred_lab_to_rgb",
    "gray_rgb",
    "gray_uint8",
    "guide_uint8",
    "half_size",
]

L_CENTRE = 50.0
_RGB_FROM_XYZ = (
    (3.24048134, -1.53715152, -0.49853633),
    (-0.96925495, 1.87599, 0.04155593),
    (0.05564664, -0.20404134, 1.05731107),
)
_WHITE = (0.95047, 1.0, 1.08883)


def centred_lab(rgb: np.ndarray) -> torch.Tensor:
    """``H x W x 3`` RGB (uint8, or float in [0, 1]) -> ``1 x 3 x H x W`` float32 centred Lab."""
    lab = torch.from_numpy(np.ascontiguousarray(color.rgb_to_lab(rgb).transpose(2, 0, 1))).float()[None]
    lab[:, 0] -= L_CENTRE
    return lab


def half_size(lab: torch.Tensor) -> torch.Tensor:
    """The network-size planes: bilinear x0.5 (a 2x2 mean), as the official code resizes."""
    return F.interpolate(lab, scale_factor=0.5, mode="bilinear", align_corners=False)


def centred_lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """``1 x 3 x H x W`` centred Lab -> RGB in [0, 1] with the official float32 formulas (channels-last memory).

    The memory layout matters: the official VGG pass on the reference receives a channels-last tensor, which
    changes the CPU convolution's rounding.
    """
    fy = (lab[:, 0:1] + L_CENTRE + 16.0) / 116.0
    fx = lab[:, 1:2] / 500.0 + fy
    fz = (fy - lab[:, 2:3] / 200.0).clamp(min=0)
    f = torch.cat([fx, fy, fz], 1)
    xyz = torch.where(f > 0.2068966, f**3.0, (f - 16.0 / 116.0) / 7.787)
    xyz = xyz * torch.tensor(_WHITE, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    b, _, h, w = xyz.shape
    matrix = torch.tensor(_RGB_FROM_XYZ, dtype=lab.dtype, device=lab.device)
    linear = (xyz.permute(0, 2, 3, 1).reshape(-1, 3) @ matrix.t()).reshape(b, h, w, 3)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=0) ** (1 / 2.4) - 0.055, 12.92 * linear)
    return rgb.clamp(0, 1).permute(0, 3, 1, 2)


def gray_rgb(l_centred: torch.Tensor) -> torch.Tensor:
    """``1 x 1 x H x W`` centred L -> the grey ``1 x 3 x H x W`` RGB in [0, 1] that VGG sees for a target frame."""
    gray = (l_centred + L_CENTRE) / 100.0
    return gray.expand(-1, 3, -1, -1).contiguous()


def guide_uint8(lightness: np.ndarray) -> np.ndarray:
    """L in 0..100 (``H x W``) -> the 8-bit guide of the WLS filter, truncated in float32 like the official code."""
    return (np.asarray(lightness, dtype=np.float32) * np.float32(255) / np.float32(100)).astype(np.uint8)


def gray_uint8(lightness: np.ndarray) -> np.ndarray:
    """L in 0..100 (``H x W``) -> the 8-bit grey RGB (``H x W x 3``) whose L* it is (inverse of sRGB and L*).

    For an 8-bit grey frame this gives back its pixel values exactly.
    """
    lum = np.asarray(lightness, dtype=np.float64)
    fy = (lum + 16.0) / 116.0
    y = np.where(fy > 0.2068966, fy**3, (fy - 16.0 / 116.0) / 7.787)
    v = np.where(y > 0.0031308, 1.055 * np.power(np.maximum(y, 0.0031308), 1 / 2.4) - 0.055, 12.92 * y)
    gray = np.clip(np.round(v * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)
