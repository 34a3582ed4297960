"""Exact rewrites of convolutions that the network evaluates wastefully, used by the fast path.

Each function returns what the literal computation returns, up to float rounding (the sums are merely taken in
another order); the literal forms stay in the modules, selected by their ``fast`` flag.

* :func:`conv_after_upsample` -- a 3x3 convolution over a bilinearly upsampled map. Upsampling is linear, the same
  for every channel and its weights sum to one, so ``conv(up(x)) = bias + sum_taps shift(up(W_tap x))``: the 1x1
  channel mixes ``W_tap x`` run at the low resolution and only their (narrower) outputs are upsampled, one
  direction at a time.
* :func:`conv_of_broadcast_cat` -- a convolution over ``concat[x, g_i]`` for every object ``i``: the share of the
  shared channels ``x`` is the same for all objects and is computed once.
* :func:`conv_of_gray` -- a convolution whose RGB input is one luminance plane repeated: the kernels are summed over
  the repeated channels and the plane is convolved once.
* :func:`conv_bn` -- a convolution followed by an inference-mode batch norm, folded into one convolution.
* :func:`conv_by_taps` -- a convolution with very few output channels as one matrix product of its taps with the
  input and shifted sums of the products: oneDNN runs the decoder's 256 -> 1 3x3 prediction at ~5 GFLOPS.

Legend: ``O`` objects (grouped tensors ``B x O x C x H x W``), ``r`` the upsampling ratio.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.winograd import WinogradConv2d


def conv_after_upsample(conv: nn.Conv2d, x: torch.Tensor, ratio: int) -> torch.Tensor:
    """``conv(F.interpolate(x, scale_factor=ratio, mode="bilinear"))`` for a 3x3, stride 1, padding 1 conv.

    Bilinear interpolation is separable (along the width, then along the height) and a shift along the width passes
    through the interpolation along the height, so the taps of each kernel row are interpolated along the width at
    the low height, shifted and summed, and only those sums (``kh`` maps, not ``kh * kw``) go to the full height:
    interpolating each along the height, shifting it and adding it are one linear map of the stacked sums, applied
    as a single matrix product along the height (the bias rides on a row of ones).

    Args:
        conv: the convolution (3x3 kernel, padding 1, stride 1, with bias).
        x: ``B x C_in x h x w`` low-resolution input.
        ratio: the integer upsampling factor.

    Returns:
        ``B x C_out x (r h) x (r w)``.
    """
    weight = conv.weight
    c_out, _, kh, kw = weight.shape
    b, _, h, w = x.shape
    taps = _tap_rows(weight)[:, :, None, None]  # as 1x1 kernels
    mixed = F.conv2d(x, taps).view(b, kh, kw, c_out, h, w)  # oneDNN's convolution outruns MKL's matrix product
    height, width = h * ratio, w * ratio
    # per kernel row ky: sum over dx of shift_dx(up_width(mixed)); summed at the weights' precision at least, as the
    # literal convolution's bias makes it
    rows = x.new_zeros(b, c_out, kh * h + 1, width, dtype=torch.promote_types(x.dtype, weight.dtype))
    if conv.bias is not None:
        rows[:, :, -1] = conv.bias[:, None]
    for ky in range(kh):
        row = rows[:, :, ky * h : (ky + 1) * h]
        for kx in range(kw):
            dx = kx - kw // 2  # row[y, x] += wide[y, x + dx]
            wide = F.interpolate(
                mixed[:, ky, kx].reshape(b, c_out * h, w), size=width, mode="linear", align_corners=False
            )
            into, source = _shift(dx, width)
            row[..., into] += wide.view(b, c_out, h, width)[..., source]
    operator = _up_and_shift_rows(h, height, kh, x.device).to(rows.dtype)
    with torch.autocast(x.device.type, enabled=False):  # a sum of interpolations: no lower precision than before
        return torch.matmul(operator, rows)


def _up_and_shift_rows(h: int, height: int, kh: int, device: torch.device) -> torch.Tensor:
    """``height x (kh h + 1)``: row y sums, over the kernel rows ky, row ``y + dy`` of the bilinear interpolation of
    the ky-th ``h`` rows to ``height`` (``dy = ky - kh // 2``, zero beyond the edge), plus the last input row (ones)."""
    eye = torch.eye(h, device=device).view(h, 1, h)  # h signals of length h, one per low row
    up = F.interpolate(eye, size=height, mode="linear", align_corners=False)[:, 0].t()  # height x h
    operator = up.new_zeros(height, kh * h + 1)
    for ky in range(kh):
        into, source = _shift(ky - kh // 2, height)
        operator[into, ky * h : (ky + 1) * h] = up[source]
    operator[:, -1] = 1.0
    return operator


def _tap_rows(weight: torch.Tensor) -> torch.Tensor:
    """The kernels ``C_out x C_in x kh x kw`` as ``(kh kw C_out) x C_in`` rows, ordered (tap row, tap column, out)."""
    c_out, c_in, kh, kw = weight.shape
    return weight.permute(2, 3, 0, 1).reshape(kh * kw * c_out, c_in)


def _shift(d: int, n: int) -> tuple[slice, slice]:
    """``out[into] += src[source]`` adds ``src[i + d]`` to ``out[i]`` along an axis of length ``n`` (nothing from
    beyond the edge)."""
    start, stop = max(0, -d), min(n, n - d)
    return slice(start, stop), slice(start + d, stop + d)


def conv_of_broadcast_cat(conv: nn.Conv2d, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``conv(concat[x, g_i])`` for every object, the shared part once.

    Args:
        conv: a stride-1 convolution over ``C_x + C_g`` channels.
        x: ``B x C_x x H x W``, shared by every object.
        g: ``B x O x C_g x H x W``.

    Returns:
        ``B x O x C_out x H x W``.
    """
    c_x = x.shape[1]
    b, o = g.shape[:2]
    if isinstance(conv, WinogradConv2d):
        shared = conv.part(x, 0, c_x, conv.bias)
        own = conv.part(g.flatten(0, 1), c_x, conv.in_channels, None)
    else:
        shared = F.conv2d(x, conv.weight[:, :c_x], conv.bias, padding=conv.padding)  # B x C_out x H x W
        own = F.conv2d(g.flatten(0, 1), conv.weight[:, c_x:], None, padding=conv.padding)  # (B*O) x C_out x H x W
    return own.view(b, o, *own.shape[1:]) + shared.unsqueeze(1)


def conv_of_gray(conv: nn.Conv2d, gray: torch.Tensor, rest: torch.Tensor | None = None) -> torch.Tensor:
    """``conv(concat[gray, gray, gray, rest])`` with the kernels of the three repeated channels summed.

    Args:
        conv: a convolution whose first three input channels receive the same plane.
        gray: ``B x 1 x H x W``.
        rest: ``B x C x H x W`` further input channels, or ``None``.

    Returns:
        What ``conv`` returns on the repeated input.
    """
    inputs = gray if rest is None else torch.cat([gray, rest], dim=1)
    return F.conv2d(inputs, gray_kernels(conv), conv.bias, stride=conv.stride, padding=conv.padding)


def conv_bn(
    conv: nn.Conv2d, bn: nn.BatchNorm2d, x: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """``bn(conv(x))`` with the inference-mode batch norm folded into the convolution's weights and bias.

    Args:
        conv: the convolution.
        bn: the batch norm after it (running statistics).
        x: the input.
        weight: replaces ``conv.weight`` (e.g. kernels summed by the luminance rewrite).
    """
    assert bn.running_var is not None and bn.running_mean is not None, "needs running statistics"
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    weight = conv.weight if weight is None else weight
    return F.conv2d(x, weight * scale[:, None, None, None], bias, conv.stride, conv.padding, conv.dilation, conv.groups)


def gray_kernels(conv: nn.Conv2d) -> torch.Tensor:
    """The weights of ``conv`` for an input whose first three channels are one repeated plane."""
    return torch.cat([conv.weight[:, :3].sum(1, keepdim=True), conv.weight[:, 3:]], dim=1)


def conv_by_taps(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` for a stride-1, "same"-padded, ungrouped convolution with an odd kernel, as
    ``sum_taps shift(W_tap x)``: the ``kh * kw * C_out`` tap rows multiply the input in one matrix product.

    Args:
        conv: the convolution (worth it for a handful of output channels).
        x: ``N x C_in x H x W``.

    Returns:
        ``N x C_out x H x W``.
    """
    weight = conv.weight
    c_out, c_in, kh, kw = weight.shape
    n, _, h, w = x.shape
    products = (_tap_rows(weight) @ x.reshape(n, c_in, h * w)).view(n, kh, kw, c_out, h, w)
    bias = conv.bias if conv.bias is not None else weight.new_zeros(c_out)
    total = torch.promote_types(products.dtype, torch.float32)  # nine terms summed in fp32 at least
    out = bias.view(1, c_out, 1, 1).expand(n, c_out, h, w).to(total, copy=True)
    for ky in range(kh):
        rows_into, rows_from = _shift(ky - kh // 2, h)
        for kx in range(kw):
            cols_into, cols_from = _shift(kx - kw // 2, w)
            out[..., rows_into, cols_into] += products[:, ky, kx, :, rows_from, cols_from]
    return out.to(products.dtype)  # the dtype the convolution would return (lower under autocast)
