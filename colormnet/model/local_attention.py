"""Local attention from the current frame to the last memory frame ("short-term" propagation).

Every query pixel attends to the ``(2r+1) x (2r+1)`` window (r = 7) around its own position in the previous memory
frame. The logits are the scaled key correlation plus a learnt relative-position term computed from the query;
the aggregated value goes through a depthwise 5x5 conv and a per-pixel linear projection.

:class:`LocalAttention` computes the window directly (one shifted product per offset), with no compiled
extension and no dense ``(hw) x (hw)`` matrix. :func:`dense_local_attention` is the literal reference (the
window scattered into a dense affinity matrix), kept for tests and benchmarks.

Legend: ``q``/``k`` keys ``B x C_k x h x w``; ``v`` values ``B x C_v x h x w`` (both objects folded into channels).
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


def shift_window(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``out[..., y, x] = x[..., y + dy, x + dx]``, zero outside."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    ys, ye = max(0, -dy), min(h, h - dy)
    xs, xe = max(0, -dx), min(w, w - dx)
    if ys < ye and xs < xe:
        out[..., ys:ye, xs:xe] = x[..., ys + dy : ye + dy, xs + dx : xe + dx]
    return out


def outside_mask(h: int, w: int, radius: int, device: torch.device) -> torch.Tensor:
    """``(2r+1)^2 x h x w`` boolean: True where the window position falls outside the image."""
    ones = torch.ones(1, h, w, device=device)
    inside = torch.cat([shift_window(ones, dy, dx) for dy, dx in window_offsets(radius)])
    return inside == 0


class LocalAttention(nn.Module):
    """Windowed attention to the previous memory frame (the checkpoint's ``short_term_attn``).

    Args:
        key_dim: channels of the keys.
        value_dim: channels of the values (both objects together).
        radius: maximum displacement (window side ``2 * radius + 1``).
    """

    def __init__(self, key_dim: int = 64, value_dim: int = 1024, radius: int = 7) -> None:
        super().__init__()
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
        k_pad = F.pad(k, (r, r, r, r))  # zero outside the image
        corr = torch.stack(
            [(qs * k_pad[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1) for dy, dx in window_offsets(r)], dim=1
        )
        logits = (corr + self.relative_emb_k(q)).float()
        logits = logits.masked_fill(outside_mask(h, w, r, q.device), OUTSIDE_LOGIT)
        return logits.softmax(dim=1).to(q.dtype)

    def aggregate(self, attn: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Window-weighted sum of the values: ``B x C_v x h x w``."""
        h, w = v.shape[-2:]
        r = self.radius
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
    """Reference: the same computation through a dense ``(hw) x (hw)`` affinity matrix (slow, for tests).

    Every window entry is scattered to its absolute key position; positions outside the image get no weight.
    """
    b, _, h, w = q.shape
    r = module.radius
    n = h * w
    rel = module.relative_emb_k(q).flatten(2)  # B x window x hw
    logits = torch.full((b, n, n), float("-inf"), dtype=torch.float32, device=q.device)  # query x key
    qf, kf = q.flatten(2).float() * module.scale, k.flatten(2).float()
    for y in range(h):
        for x in range(w):
            p = y * w + x
            for d, (dy, dx) in enumerate(window_offsets(r)):
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w:
                    kp = yy * w + xx
                    logits[:, p, kp] = (qf[:, :, p] * kf[:, :, kp]).sum(1) + rel[:, d, p]
    attn = logits.softmax(dim=2)  # B x query x key
    agg = (v.flatten(2).float() @ attn.transpose(1, 2)).view(b, -1, h, w)
    return module.project(agg.to(v.dtype))
