"""Building blocks shared by the encoders and the decoder.

Legend: ``O`` = number of objects (2: the a and b chroma channels), ``f16``/``f8``/``f4`` = features at 1/16, 1/8
and 1/4 of the padded frame size. Grouped tensors carry the objects on dim 1: ``B x O x C x H x W``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.rewrites import conv_of_broadcast_cat
from colormnet.engines.colormnet.model.winograd import WinogradConv2d

_T = TypeVar("_T")


def upsample_groups(g: torch.Tensor, ratio: int) -> torch.Tensor:
    """Bilinear x``ratio`` upsampling of a grouped ``B x O x C x H x W`` tensor."""
    b, o = g.shape[:2]
    up = F.interpolate(g.flatten(0, 1), scale_factor=ratio, mode="bilinear", align_corners=False)
    return up.view(b, o, *up.shape[1:])


def downsample_groups(g: torch.Tensor, ratio: int) -> torch.Tensor:
    """Area (average) downsampling of a grouped tensor by ``ratio``."""
    b, o = g.shape[:2]
    down = F.interpolate(g.flatten(0, 1), scale_factor=1 / ratio, mode="area")
    return down.view(b, o, *down.shape[1:])


def _float(value: Any) -> Any:
    """``value`` with its tensors (also inside a tuple) in fp32."""
    if isinstance(value, torch.Tensor):
        return value.float()
    return tuple(_float(v) for v in value) if isinstance(value, tuple) else value


def in_fp32(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)`` outside the CPU's autocast, the tensors in ``args`` (also inside tuples) made fp32: a
    part whose inputs must not be rounded to bf16 (see
    :attr:`~colormnet.engines.colormnet.inference.engine.InferenceEngine.fp32_parts`, kept under CPU bf16 only)."""
    with torch.autocast("cpu", enabled=False):
        return fn(*(_float(a) for a in args), **kwargs)


def grouped(conv: Callable[[torch.Tensor], torch.Tensor], g: torch.Tensor) -> torch.Tensor:
    """Applies a 2-D module to each object of a grouped tensor (objects folded into the batch)."""
    b, o = g.shape[:2]
    out = conv(g.flatten(0, 1))
    return out.view(b, o, *out.shape[1:])


def broadcast_cat(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``concat[x, g_i]`` for every object i: x ``B x C x H x W`` is shared, g is grouped."""
    return torch.cat([x.unsqueeze(1).expand(-1, g.shape[1], -1, -1, -1), g], dim=2)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether the 4-D ``x`` is laid out channels-last (and not also row-major, as a 1-channel map is)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class LayerNorm2d(nn.Module):
    """Per-pixel LayerNorm over channels (biased variance, eps inside the square root).

    On the fast path a channels-last map, whose channels lie contiguous, is normalised by ``F.layer_norm`` in one pass
    (the literal formula takes six passes of reductions and element-wise operations across strided channels).
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.fast = True
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast and is_channels_last(x):
            # B x H x W x C, contiguous; in the dtype the formula's last step promotes to (fp32 for a bf16 map)
            pixels = x.permute(0, 2, 3, 1).to(torch.result_type(x, self.weight))
            return F.layer_norm(pixels, (x.shape[1],), self.weight, self.bias, self.eps).permute(0, 3, 1, 2)
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class GroupResBlock(nn.Module):
    """Pre-activation residual block on grouped tensors; a 3x3 conv shortcut when the width changes."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.downsample = WinogradConv2d(in_dim, out_dim) if in_dim != out_dim else nn.Identity()
        self.conv1 = WinogradConv2d(in_dim, out_dim)
        self.conv2 = WinogradConv2d(out_dim, out_dim)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        out = grouped(self.conv1.of_relu, g)  # conv1(relu(g))
        out = grouped(self.conv2.of_relu, out)
        return out + grouped(self.downsample, g)

    def forward_shared(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``forward(broadcast_cat(x, g))`` with the shared channels' share of each conv computed once.

        Needs a width change (a conv shortcut); ``x`` is ``B x C_x x H x W``, ``g`` grouped.
        """
        assert isinstance(self.downsample, nn.Conv2d), "the shared-share rewrite needs a conv shortcut"
        out = conv_of_broadcast_cat(self.conv1, F.relu(x), F.relu(g))
        out = grouped(self.conv2.of_relu, out)
        return out + conv_of_broadcast_cat(self.downsample, x, g)


class ChannelGate(nn.Module):
    """CBAM channel attention: a shared MLP over average- and max-pooled features."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        # Index 0 (flatten) and 2 (ReLU) hold no parameters; keys are mlp.1 and mlp.3.
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))
        return x * torch.sigmoid(att)[:, :, None, None]


class SpatialConv(nn.Module):
    """Holds the spatial gate's 7x7 convolution under the key ``spatial.conv``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """CBAM spatial attention from the channel-wise max and mean."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = SpatialConv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Convolutional block attention: channel gate then spatial gate."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels, reduction)
        self.SpatialGate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FusionBlock(nn.Module):
    """Fuses shared features ``x`` with per-object features ``g``: two residual blocks around a CBAM."""

    def __init__(self, x_in: int, g_in: int, mid: int, out: int) -> None:
        super().__init__()
        self.fast = True  # compute x's share of block1 once for all objects
        self.block1 = GroupResBlock(x_in + g_in, mid)
        self.attention = CBAM(mid)
        self.block2 = GroupResBlock(mid, out)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        g = self.block1.forward_shared(x, g) if self.fast else self.block1(broadcast_cat(x, g))
        g = g + grouped(self.attention, g)
        return self.block2(g)


def gated_update(gates: torch.Tensor, h: torch.Tensor, hidden_dim: int) -> torch.Tensor:
    """The hidden-state gate of the official code (kept as is: not a textbook GRU).

    ``h' = f * h * (1 - z) + z * c`` with ``f, z = sigmoid(...)`` and ``c = tanh(...)``.
    """
    forget = torch.sigmoid(gates[:, :, :hidden_dim])
    update = torch.sigmoid(gates[:, :, hidden_dim : 2 * hidden_dim])
    candidate = torch.tanh(gates[:, :, 2 * hidden_dim :])
    return forget * h * (1 - update) + update * candidate


class HiddenReinforcer(nn.Module):
    """Deep update of the hidden state from a freshly encoded value (memory frames)."""

    def __init__(self, value_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.transform = nn.Conv2d(value_dim + hidden_dim, hidden_dim * 3, 3, padding=1)

    def forward(self, value: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gates = grouped(self.transform, torch.cat([value, h], dim=2))
        return gated_update(gates, h, self.hidden_dim)


class HiddenUpdater(nn.Module):
    """Updates the hidden state from the decoder's three scales (non-memory frames)."""

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.g16_conv = nn.Conv2d(g_dims[0], mid_dim, 1)
        self.g8_conv = nn.Conv2d(g_dims[1], mid_dim, 1)
        self.g4_conv = nn.Conv2d(g_dims[2], mid_dim, 1)
        self.transform = nn.Conv2d(mid_dim + hidden_dim, hidden_dim * 3, 3, padding=1)

    def forward(self, g16: torch.Tensor, g8: torch.Tensor, g4: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        g = (
            grouped(self.g16_conv, g16)
            + grouped(self.g8_conv, downsample_groups(g8, 2))
            + grouped(self.g4_conv, downsample_groups(g4, 4))
        )
        gates = grouped(self.transform, torch.cat([g, h], dim=2))
        return gated_update(gates, h, self.hidden_dim)
