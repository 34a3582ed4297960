"""Local attention from the current frame to the last memory frame ("short-term" propagation).

Every query pixel attends to the ``(2r+1) x (2r+1)`` window (r = 7) around its own position in the previous memory
frame. The logits are the scaled key correlation plus a learnt relative-position term computed from the query;
the aggregated value goes through a depthwise 5x5 conv and a per-pixel linear projection.

:class:`LocalAttention` needs no compiled extension and no dense ``(hw) x (hw)`` matrix. Its fast path (the
default) treats one image row at a time: the window positions of a row's pixels form a band in the ``2r+1`` padded
rows around it, so the correlation and the weighted sum of values become batched matrix products with banded
matrices instead of ``(2r+1)^2`` passes over the 1024-channel value map. With ``fast = False`` it loops over the
window offsets. :func:`dense_local_attention` is the literal computation of the official code (the window scattered
into a dense affinity matrix), kept as the reference for tests and benchmarks.

Legend: ``q``/``k`` keys ``B x C_k x h x w``; ``v`` values ``B x C_v x h x w`` (both objects folded into channels);
``S = 2r + 1`` the window side, ``Wp = w + 2r`` the padded width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

OUTSIDE_LOGIT = -1e8  # logit of a window position outside the image (its weight is exactly 0 after softmax)


class DepthwiseConv(nn.Module):
    """Depthwise 5x5 convolution without bias, under the key ``dw_conv.conv``."""

    def __init__(self, channels: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def window_offsets(radius: int) -> list[tuple[int, int]]:
    """Offsets (dy, dx) of the window, dy-major: index ``(dy + r) * (2r + 1) + (dx + r)``."""
    side = range(-radius, radius + 1)
    return [(dy, dx) for dy in side for dx in side]


def outside_mask(h: int, w: int, radius: int, device: torch.device) -> torch.Tensor:
    """``(2r+1)^2 x h x w`` boolean: True where the window position falls outside the image."""
    d = torch.arange(-radius, radius + 1, device=device)
    y_out = torch.arange(h, device=device)[None, :] + d[:, None]  # S x h
    x_out = torch.arange(w, device=device)[None, :] + d[:, None]  # S x w
    y_out, x_out = (y_out < 0) | (y_out >= h), (x_out < 0) | (x_out >= w)
    return (y_out[:, None, :, None] | x_out[None, :, None, :]).reshape(-1, h, w)


def band_rows(x: torch.Tensor, radius: int) -> torch.Tensor:
    """The ``2r+1`` zero-padded rows around every row of ``x`` (``C x h x w``), one matrix per row.

    Returns:
        ``h x C x S*Wp`` with ``out[y, c, i * Wp + j] = pad(x)[c, y + i, j]`` (an overlapping view, no copy).
    """
    c, h, w = x.shape
    side, wp = 2 * radius + 1, w + 2 * radius
    padded = F.pad(x, (radius, radius, radius, radius)).contiguous()  # C x (h + 2r) x Wp
    return padded.as_strided((h, c, side * wp), (wp, padded.stride(0), 1))


def window_correlation(q: torch.Tensor, k: torch.Tensor, radius: int) -> torch.Tensor:
    """``corr[d, y, x] = sum_c q[c, y, x] k[c, y + dy, x + dx]`` (zero outside), ``S^2 x h x w``, row by row.

    Args:
        q: ``C x h x w``.
        k: ``C x h x w``.
    """
    _, h, w = q.shape
    side, wp = 2 * radius + 1, w + 2 * radius
    full = torch.bmm(q.permute(1, 2, 0), band_rows(k, radius))  # h x w x S*Wp: every row against its band
    # full[y, x, i * Wp + x + j] is window position (i, j) of pixel (y, x)
    band = full.as_strided((side, side, h, w), (wp, 1, full.stride(0), side * wp + 1))
    return band.reshape(side * side, h, w)


def window_sum(attn: torch.Tensor, v: torch.Tensor, radius: int) -> torch.Tensor:
    """``out[c, y, x] = sum_d attn[d, y, x] v[c, y + dy, x + dx]`` (zero outside), ``C x h x w``, row by row.

    Args:
        attn: ``S^2 x h x w`` weights.
        v: ``C x h x w``.
    """
    _, h, w = v.shape
    side, wp = 2 * radius + 1, w + 2 * radius
    weights = attn.new_zeros(h, side * wp, w)  # per row, a banded (S*Wp) x w matrix
    # weights[y, i * Wp + x + j, x] = attn[(i, j), y, x]
    band = weights.as_strided((side, side, h, w), (wp * w, w, side * wp * w, w + 1))
    band.copy_(attn.view(side, side, h, w))
    out = torch.bmm(band_rows(v, radius), weights)  # h x C x w
    return out.permute(1, 0, 2)


class LocalAttention(nn.Module):
    """Windowed attention to the previous memory frame (the checkpoint's ``short_term_attn``).

    Args:
        key_dim: channels of the keys.
        value_dim: channels of the values (both objects together).
        radius: maximum displacement (window side ``2 * radius + 1``).
    """

    def __init__(self, key_dim: int = 64, value_dim: int = 1024, radius: int = 7) -> None:
        super().__init__()
        self.fast = True
        self.radius = radius
        self.window = (2 * radius + 1) ** 2
        self.scale = 1 / math.sqrt(key_dim)
        self.relative_emb_k = nn.Conv2d(key_dim, self.window, 1)
        self.dw_conv = DepthwiseConv(value_dim)
        self.projection = nn.Linear(value_dim, value_dim)

    def attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Softmax weights over the window: ``B x (2r+1)^2 x h x w``."""
        h, w = q.shape[-2:]
        r = self.radius
        qs = q * self.scale
        if self.fast:
            corr = torch.stack([window_correlation(qs[i], k[i], r) for i in range(q.shape[0])])
        else:
            k_pad = F.pad(k, (r, r, r, r))  # zero outside the image
            corr = torch.stack(
                [(qs * k_pad[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1) for dy, dx in window_offsets(r)],
                dim=1,
            )
        logits = (corr + self.relative_emb_k(q)).float()
        logits = logits.masked_fill(outside_mask(h, w, r, q.device), OUTSIDE_LOGIT)
        return logits.softmax(dim=1).to(q.dtype)

    def aggregate(self, attn: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Window-weighted sum of the values: ``B x C_v x h x w``."""
        h, w = v.shape[-2:]
        r = self.radius
        if self.fast:
            return torch.stack([window_sum(attn[i], v[i], r) for i in range(v.shape[0])])
        v_pad = F.pad(v, (r, r, r, r))
        out = torch.zeros_like(v)
        for d, (dy, dx) in enumerate(window_offsets(r)):
            out.addcmul_(attn[:, d : d + 1], v_pad[..., r + dy : r + dy + h, r + dx : r + dx + w])
        return out

    def project(self, agg: torch.Tensor) -> torch.Tensor:
        """Depthwise conv then per-pixel linear projection."""
        return self.projection(self.dw_conv(agg).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Returns the attention output ``B x C_v x h x w``."""
        return self.project(self.aggregate(self.attention(q, k), v))


def dense_local_attention(module: LocalAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reference: the official computation, through a dense ``(hw) x (hw)`` affinity matrix.

    The window correlation is taken offset by offset (as the official correlation sampler does), every window
    entry is scattered to its absolute key position (positions outside the image get no weight), and the values
    are aggregated by one dense product with the ``(hw) x (hw)`` affinity.
    """
    b, _, h, w = q.shape
    r = module.radius
    n = h * w
    qf, k_pad = q.float() * module.scale, F.pad(k.float(), (r, r, r, r))
    corr = torch.stack(
        [(qf * k_pad[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1) for dy, dx in window_offsets(r)], dim=1
    )
    window_logits = (corr + module.relative_emb_k(q).float()).flatten(2)  # B x S^2 x hw
    inside = ~outside_mask(h, w, r, q.device).flatten(1)  # S^2 x hw
    offsets = torch.tensor([dy * w + dx for dy, dx in window_offsets(r)], device=q.device)
    query = torch.arange(n, device=q.device).expand(len(offsets), n)
    key = query + offsets[:, None]
    logits = torch.full((b, n, n), float("-inf"), dtype=torch.float32, device=q.device)  # query x key
    logits[:, query[inside], key[inside]] = window_logits[:, inside]
    attn = logits.softmax(dim=2)  # B x query x key
    agg = (v.flatten(2).float() @ attn.transpose(1, 2)).view(b, -1, h, w)
    return module.project(agg.to(v.dtype))
