"""The tensor side of the engine boundary, shared by the torch engines (ColorMNet and Deep Exemplar).

Engines take the frame's luminance and the exemplar as NumPy arrays and return chroma as NumPy arrays (see
:mod:`colormnet.engines.base`); everything between, on the engine's device, goes through here: the luminance
normalised and resized to the processing size, the exemplar's Lab at that size, the chroma (and confidence) resized
to the size asked for, padding to the network's multiple, and the device's failures as the library's errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from colormnet import color
from colormnet.engines.base import ExemplarInput
from colormnet.errors import ColorMNetError, DeviceOutOfMemoryError, InferenceError

__all__ = ["device_errors", "exemplar_lab", "lightness_plane", "pad", "resize_plane", "to_numpy", "unpad"]


def resize_plane(plane: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resizes ``(C, H, W)`` planes with antialiased bilinear filtering (any direction)."""
    if plane.shape[-2:] == (height, width):
        return plane
    return F.interpolate(plane[None], size=(height, width), mode="bilinear", align_corners=False, antialias=True)[0]


def pad(x: torch.Tensor, amounts: tuple[int, int, int, int]) -> torch.Tensor:
    """Zero-pads the last two dims by ``(left, right, top, bottom)`` (value 0 = mid-gray, no chroma)."""
    if not any(amounts):
        return x
    return F.pad(x, amounts)


def unpad(x: torch.Tensor, amounts: tuple[int, int, int, int]) -> torch.Tensor:
    """Crops what :func:`pad` added."""
    left, right, top, bottom = amounts
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


def lightness_plane(lightness: np.ndarray, device: torch.device, size: tuple[int, int] | None) -> torch.Tensor:
    """``H x W`` L* in [0, 100] -> ``1 x h x w`` normalised L' on ``device`` at ``size`` (None: as given).

    Normalised in NumPy and resized on the device (antialiased bilinear), so a GPU engine resizes on the GPU.
    """
    plane = torch.from_numpy(np.ascontiguousarray(color.normalize_l(lightness))).to(device)[None]
    return plane if size is None else resize_plane(plane, *size)


def exemplar_lab(exemplar: ExemplarInput, device: torch.device, height: int, width: int) -> torch.Tensor:
    """``3 x height x width`` normalised Lab of the exemplar, stretched as the reference does, on ``device``."""
    return torch.from_numpy(exemplar.lab(height, width)).to(device)


def to_numpy(planes: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """``C x h x w`` planes on any device -> ``C x H x W`` float32 NumPy at ``size`` (bilinear, on the device)."""
    if tuple(planes.shape[-2:]) != size:
        planes = F.interpolate(planes[None].float(), size=size, mode="bilinear", align_corners=False)[0]
    return np.ascontiguousarray(planes.float().cpu().numpy())


@contextlib.contextmanager
def device_errors(device: torch.device) -> Iterator[None]:
    """Work on ``device``: running out of GPU memory becomes :class:`DeviceOutOfMemoryError` (the session retries
    smaller or on the CPU), any other failure of torch one :class:`InferenceError` line."""
    try:
        yield
    except ColorMNetError:
        raise
    except torch.cuda.OutOfMemoryError as exc:
        if device.type == "cpu":
            raise InferenceError("Out of memory: lower the processing size or close other programs.") from exc
        raise DeviceOutOfMemoryError(f"The {device.type.upper()} ran out of memory.") from exc
    except RuntimeError as exc:
        raise InferenceError(f"The model failed on this frame: {exc}") from exc
