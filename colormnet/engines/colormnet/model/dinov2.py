"""DINOv2 ViT-S/14 (Oquab et al., 2023), inference only, with the parameter names of the released models.

No hub access and no downloads: weights come from the ColorMNet checkpoint. The positional embedding is resized
per input with the rule of the reference implementation (bicubic, driven by a *scale factor* with a 0.1 offset),
which differs from a size-driven resize by up to ~3e-2 and must be reproduced for parity.

Legend: ``T`` = number of tokens (1 class token + patches), ``D`` = embedding width (384).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.onednn import Linear
from colormnet.engines.colormnet.model.rewrites import conv_of_gray


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection: ``B x 3 x H x W -> B x (H/p * W/p) x D``."""

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``B x 3 x H x W``, or ``B x 1 x H x W`` standing for a plane repeated three times."""
        out = self.proj(x) if x.shape[1] == 3 else conv_of_gray(self.proj, x)
        return out.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention (scaled dot product)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = Linear(dim, dim * 3)
        self.proj = Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # B x heads x T x d_head
        return self.proj(out.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    """Two-layer MLP with exact (erf) GELU."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.fc2 = Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class LayerScale(nn.Module):
    """Per-channel residual scaling."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with layer scale."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class VisionTransformer(nn.Module):
    """DINOv2 ViT without register tokens.

    Args:
        patch_size: side of a patch in pixels.
        dim: embedding width.
        depth: number of blocks.
        num_heads: attention heads.
        pos_grid: side of the pretrained positional-embedding grid.
    """

    def __init__(self, patch_size: int = 14, dim: int = 384, depth: int = 12, num_heads: int = 6, pos_grid: int = 37):
        super().__init__()
        self.patch_size = patch_size
        self.pos_grid = pos_grid
        self.patch_embed = PatchEmbed(patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + pos_grid * pos_grid, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # used in pre-training only; kept for the checkpoint
        self.blocks = nn.ModuleList([Block(dim, num_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def interpolate_pos_embed(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """Positional embedding for a ``grid_h x grid_w`` patch grid: ``1 x T x D``."""
        pos = self.pos_embed.float()
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        m, dim = self.pos_grid, pos.shape[-1]
        if (grid_h, grid_w) == (m, m):
            return self.pos_embed
        grid = patch_pos.reshape(1, m, m, dim).permute(0, 3, 1, 2)
        # The reference rule: a scale factor with a 0.1 offset (not a target size), bicubic, no antialiasing.
        scale = ((grid_h + 0.1) / m, (grid_w + 0.1) / m)
        grid = F.interpolate(grid, scale_factor=scale, mode="bicubic", align_corners=False, antialias=False)
        if grid.shape[-2:] != (grid_h, grid_w):
            raise AssertionError(f"positional grid {tuple(grid.shape[-2:])} != {(grid_h, grid_w)}")
        patch_pos = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, dim)
        return torch.cat([cls_pos, patch_pos], dim=1).to(self.pos_embed.dtype)

    def get_intermediate_layers(self, x: torch.Tensor, n: int = 4) -> list[torch.Tensor]:
        """Normalised patch tokens of the last ``n`` blocks, each ``B x D x H/p x W/p``."""
        b, _, h, w = x.shape
        gh, gw = h // self.patch_size, w // self.patch_size
        tokens = torch.cat([self.cls_token.expand(b, -1, -1), self.patch_embed(x)], dim=1)
        tokens = tokens + self.interpolate_pos_embed(gh, gw)
        outputs = []
        first = len(self.blocks) - n
        for i, block in enumerate(self.blocks):
            tokens = block(tokens)
            if i >= first:
                outputs.append(tokens)
        return [self.norm(t)[:, 1:].transpose(1, 2).reshape(b, -1, gh, gw) for t in outputs]
