"""sRGB <-> CIELAB on an engine's device, the formulas of :mod:`colormnet.color` as torch operations.

A GPU engine that returns a whole frame (see :class:`~colormnet.engines.base.ComposingEngine`) computes the source's
L*, and puts it together with the predicted chroma, on the GPU instead of in NumPy on the CPU. Both follow the NumPy
code step for step, in float64 with the same constants and the same order of operations, and cast to float32 where
it does: L* is cast to float32 before it is normalised, the chroma is scaled in float32, the RGB is clipped in
float64 and cast to float32, and the 8-bit frame is truncated from that float32 like
:func:`~colormnet.color.to_uint8_truncated`. Only rounding inside ``pow`` (torch has no ``cbrt``) and the 3x3
products differ, at about 1e-16; the float32 results agree but for a rare last bit (tested against NumPy).

The transfers between host and device live here too: on CUDA through pinned (page-locked) host memory with
non-blocking copies, so the host goes on queuing work while the copies run, and waits once, when it needs the
frame (:class:`HostFrames`).
"""

from __future__ import annotations

import numpy as np
import torch

from colormnet import color

__all__ = ["HostFrames", "compose_rgb", "luminance", "normalize_l", "to_uint8_truncated", "upload"]

_TABLES: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def _linear_table(device: torch.device) -> torch.Tensor:
    """The 256 linear-light float64 values of 8-bit sRGB levels, built by :func:`colormnet.color.linear_rgb`."""
    key = (torch.uint8, device)
    table = _TABLES.get(key)
    if table is None:
        levels = color.linear_rgb(np.arange(256, dtype=np.uint8))
        table = _TABLES.setdefault(key, torch.from_numpy(levels).to(device))
    return table


def luminance(frame: torch.Tensor) -> torch.Tensor:
    """CIE L* of ``H x W x 3`` uint8 RGB on its device -> ``H x W`` float32 in [0, 100] (:func:`color.luminance`)."""
    if frame.dtype != torch.uint8:
        raise TypeError(f"Expected 8-bit RGB, got {frame.dtype}.")
    linear = _linear_table(frame.device)[frame.long()]  # H x W x 3 float64
    m = color.XYZ_FROM_RGB[1].tolist()
    y = linear[..., 0] * m[0] + linear[..., 1] * m[1] + linear[..., 2] * m[2]
    f = torch.where(y > 0.008856, y.pow(1.0 / 3.0), 7.787 * y + 16.0 / 116.0)
    return (116.0 * f - 16.0).float()


def compose_rgb(lightness: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """``H x W`` L* and ``2 x H x W`` normalised chroma -> ``H x W x 3`` float32 RGB in [0, 1] (as
    :func:`color.compose_rgb`: the chroma scaled in its own precision, everything else in float64)."""
    lum = lightness.double()
    ab = ab_norm * color.AB_SCALE  # in the input's precision, as NumPy does
    fy = (lum + 16.0) / 116.0
    fx = ab[0].double() / 500.0 + fy
    fz = torch.clamp_min(fy - ab[1].double() / 200.0, 0.0)
    xyz = [torch.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787) * white
           for f, white in zip((fx, fy, fz), color.D65_WHITE.tolist(), strict=True)]
    channels = []
    for row in color.RGB_FROM_XYZ.tolist():
        linear = xyz[0] * row[0] + xyz[1] * row[1] + xyz[2] * row[2]
        gamma = 1.055 * torch.pow(torch.clamp_min(linear, 0.0031308), 1 / 2.4) - 0.055
        channels.append(torch.clamp(torch.where(linear > 0.0031308, gamma, linear * 12.92), 0.0, 1.0).float())
    return torch.stack(channels, dim=-1)


def normalize_l(lightness: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> L' in [-1, 1] in the input's precision, as :func:`colormnet.color.normalize_l`."""
    return (lightness - color.L_CENTER) / color.L_SCALE


def to_uint8_truncated(rgb: torch.Tensor) -> torch.Tensor:
    """Float RGB in [0, 1] -> uint8 by truncation, as :func:`colormnet.color.to_uint8_truncated`."""
    return (torch.clamp(rgb, 0.0, 1.0) * 255).to(torch.uint8)


def upload(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` on ``device``; on CUDA staged in pinned memory and copied without blocking the host.

    The caching host allocator keeps the staging block until the copy has run, so it may be dropped at once.
    """
    host = torch.from_numpy(np.ascontiguousarray(array))
    if device.type != "cuda":
        return host.to(device)
    staged = torch.empty(host.shape, dtype=host.dtype, pin_memory=True)
    staged.copy_(host)
    return staged.to(device, non_blocking=True)


class HostFrames:
    """Tensors on their way to host memory: on CUDA copied into pinned memory without blocking, then waited for
    once, by :meth:`arrays`.

    The arrays returned are views of the pinned blocks (no further copy); a block goes back to torch's cache when
    its array is dropped.
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        self._event: torch.cuda.Event | None = None
        if tensors and tensors[0].device.type == "cuda":
            self._host = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for t in tensors]
            for host, tensor in zip(self._host, tensors, strict=True):
                host.copy_(tensor, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._host = [t.cpu() for t in tensors]

    def arrays(self) -> list[np.ndarray]:
        """The NumPy arrays, once the copies have finished (the one point where the host waits for the device)."""
        if self._event is not None:
            self._event.synchronize()
        return [t.numpy() for t in self._host]
