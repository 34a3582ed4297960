"""The correspondence subnet (``nonlocal_net_iter_76000.pth``): warps reference colours onto the target frame.

Legend (network input ``H x W``, default 216 x 384): ``f4`` = stride 4, the matching grid (54 x 96, ``N`` = 5184
positions). ``A`` is the target frame, ``B`` a reference. Both go through the same four branches (one per VGG
level, all brought to ``f4``) and the same residual trunk; ``theta`` embeds the target, ``phi`` the reference.

Matching (:func:`match`): centred and L2-normalised embeddings give cosine similarities ``C`` (``N x M``); the
similarity map is the row maximum and the warped colour is the softmax of ``C / tau`` over the reference positions
applied to the references' 4x4-pooled colours. With the official ``tau = 1e-10`` that softmax is a one-hot at the
best match. Several references are matched jointly by concatenating their positions (``M = K * N``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.deepexemplar.vgg import VGGFeatures

__all__ = ["TEMPERATURE", "CorrespondenceNet", "ReferenceTable", "ResidualBlock", "match"]

TEMPERATURE = 1e-10  # tau of the official test script (the softmax becomes an argmax)
_EPS = sys.float_info.epsilon
_MAX_CHUNK = 1 << 25  # correlation entries computed at once (128 MiB of float32)


def _conv_in_prelu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    """Reflection pad, 3x3 conv, instance norm, PReLU (four Sequential slots: pad, conv, norm, act)."""
    return [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3, stride=stride), nn.InstanceNorm2d(c_out), nn.PReLU()]


class ResidualBlock(nn.Module):
    """``prelu(norm(conv2(pad(prelu(norm(conv1(pad(x))))))) + x)`` with one PReLU slope for both activations."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(channels, channels, 3)
        self.conv2 = nn.Conv2d(channels, channels, 3)
        self.norm = nn.InstanceNorm2d(channels)
        self.prelu = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.prelu(self.norm(self.conv1(self.pad(x))))
        y = self.norm(self.conv2(self.pad(y)))
        return self.prelu(y + x)


@dataclass(frozen=True)
class ReferenceTable:
    """What the matching needs from one or more references, concatenated along the position axis.

    Attributes:
        keys: ``256 x M`` centred, L2-normalised ``phi`` embeddings.
        colours: ``M x 3`` 4x4-pooled centred Lab of the references.
        valid: ``M`` booleans, False for positions that lie in padding (never matched); None when all are valid.
    """

    keys: torch.Tensor
    colours: torch.Tensor
    valid: torch.Tensor | None = None

    @staticmethod
    def concat(tables: list[ReferenceTable]) -> ReferenceTable:
        """Joins several references into one table (one reference is returned as is)."""
        if len(tables) == 1:
            return tables[0]
        valid = None
        if any(t.valid is not None for t in tables):
            valid = torch.cat([t.valid if t.valid is not None else t.keys.new_ones(t.keys.shape[1], dtype=torch.bool)
                               for t in tables])
        return ReferenceTable(torch.cat([t.keys for t in tables], 1), torch.cat([t.colours for t in tables]), valid)


def centre_normalize(x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``C x N`` embeddings minus their mean over the (valid) positions, then L2-normalised per position."""
    mean = x.mean(dim=-1, keepdim=True) if valid is None else x[:, valid].mean(dim=-1, keepdim=True)
    x = x - mean
    return x / (torch.norm(x, 2, 0, keepdim=True) + _EPS)


class CorrespondenceNet(nn.Module):
    """The official "WarpNet" without its training-only parts."""

    def __init__(self, channels: int = 256) -> None:
        super().__init__()
        branch = 64
        self.layer2_1 = nn.Sequential(*_conv_in_prelu(128, 128), *_conv_in_prelu(128, branch, stride=2))
        self.layer3_1 = nn.Sequential(*_conv_in_prelu(256, 128), *_conv_in_prelu(128, branch))
        self.layer4_1 = nn.Sequential(
            *_conv_in_prelu(512, 256), *_conv_in_prelu(256, branch), nn.Upsample(scale_factor=2)
        )
        self.layer5_1 = nn.Sequential(
            *_conv_in_prelu(512, 256), nn.Upsample(scale_factor=2), *_conv_in_prelu(256, branch),
            nn.Upsample(scale_factor=2),
        )
        self.layer = nn.Sequential(*(ResidualBlock(channels) for _ in range(3)))
        self.theta = nn.Conv2d(channels, channels, 1)
        self.phi = nn.Conv2d(channels, channels, 1)

    def trunk(self, feats: VGGFeatures) -> torch.Tensor:
        """Normalised VGG features -> the shared ``1 x 256 x H/4 x W/4`` embedding."""
        f2 = self.layer2_1(feats.r22)
        f3 = self.layer3_1(feats.r32)
        f4 = self.layer4_1(feats.r42)
        f5 = self.layer5_1(feats.r52)
        if f5.shape[-2:] != f2.shape[-2:]:  # r52 lost rows to the floor pooling: replicate one row each side
            f5 = F.pad(f5, (0, 0, 1, 1), mode="replicate")
        return self.layer(torch.cat([f2, f3, f4, f5], 1))

    def target_keys(self, feats: VGGFeatures, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``256 x N`` centred, normalised theta embeddings of the target frame."""
        return centre_normalize(self.theta(self.trunk(feats)).flatten(2)[0], valid)

    def reference_table(
        self, feats: VGGFeatures, lab: torch.Tensor, valid: torch.Tensor | None = None
    ) -> ReferenceTable:
        """The matching table of one reference.

        Args:
            feats: normalised VGG features of the reference's RGB.
            lab: ``1 x 3 x H x W`` centred Lab of the reference at the network size.
            valid: ``N`` booleans of the ``f4`` positions that show the picture (None: all).
        """
        keys = centre_normalize(self.phi(self.trunk(feats)).flatten(2)[0], valid)
        colours = F.avg_pool2d(lab, 4).flatten(2)[0].t()
        return ReferenceTable(keys, colours, valid)


def match(
    theta: torch.Tensor, table: ReferenceTable, grid: tuple[int, int], tau: float = TEMPERATURE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Warps the reference colours onto the target grid.

    Args:
        theta: ``256 x N`` target embeddings (:meth:`CorrespondenceNet.target_keys`).
        table: the references.
        grid: ``(H/4, W/4)`` with ``H/4 * W/4 = N``.
        tau: softmax temperature.

    Returns:
        ``(warped, similarity)``: ``1 x 3 x H x W`` warped centred Lab and ``1 x 1 x H x W`` best cosine similarity,
        both enlarged x4 by nearest neighbour.
    """
    theta_t = theta.t().float()
    keys = table.keys.float()
    colours = table.colours.float()
    n, m = theta_t.shape[0], keys.shape[1]
    rows = max(1, min(n, _MAX_CHUNK // max(m, 1)))
    warped, similarity = [], []
    for start in range(0, n, rows):
        corr = theta_t[start : start + rows] @ keys  # rows x M
        if table.valid is not None:
            corr = corr.masked_fill(~table.valid, float("-inf"))
        similarity.append(corr.max(-1).values)
        warped.append(F.softmax(corr / tau, dim=-1) @ colours)
    lab = torch.cat(warped).t().reshape(1, 3, *grid)
    sim = torch.cat(similarity).reshape(1, 1, *grid)
    return F.interpolate(lab, scale_factor=4), F.interpolate(sim, scale_factor=4)
