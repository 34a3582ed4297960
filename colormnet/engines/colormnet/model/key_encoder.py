"""Key encoder: a ResNet-50 trunk fused with frozen DINOv2 features, and the key projection.

On the CPU's fast path the ResNet trunk (from its max pooling on) and the fusion blocks run on channels-last maps:
oneDNN convolves them without reordering, max pooling and LayerNorm2d read each pixel's channels contiguously. The
fused features leave in the usual layout.

Legend: ``f16``/``f8``/``f4`` = fused features at 1/16, 1/8, 1/4 of the padded size ``Hp x Wp`` (both multiples of
112); ``h = Hp / 16``, ``w = Wp / 16``; ``d16`` = the projected DINOv2 features resized onto the /16 grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.blocks import LayerNorm2d, in_fp32, is_channels_last
from colormnet.engines.colormnet.model.dinov2 import VisionTransformer
from colormnet.engines.colormnet.model.resnet import bottleneck_layer
from colormnet.engines.colormnet.model.rewrites import conv_after_upsample, conv_bn, gray_kernels
from colormnet.engines.colormnet.model.winograd import F2, WinogradConv2d


class CrossChannelAttention(nn.Module):
    """Transposed ("channel") attention: queries from one stream, keys and values from another.

    Each head attends over its channels (``c x c`` affinities) with L2-normalised spatial vectors and a learnt
    per-head temperature.
    """

    def __init__(self, dim: int, num_heads: int = 8) -> None:
        super().__init__()
        self.fast = True
        inner = dim * 2
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.to_q = nn.Conv2d(dim, inner, 1)
        self.to_q_dw = nn.Conv2d(inner, inner, 3, padding=1, groups=inner)
        self.to_k = nn.Conv2d(dim, inner, 1)
        self.to_k_dw = nn.Conv2d(inner, inner, 3, padding=1, groups=inner)
        self.to_v = nn.Conv2d(dim, inner, 1)
        self.to_v_dw = nn.Conv2d(inner, inner, 3, padding=1, groups=inner)
        self.to_out = nn.Sequential(nn.Conv2d(inner, dim, 1))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if self.fast and is_channels_last(x) and is_channels_last(context):
            return self._channels_last(x, context)
        b, _, h, w = x.shape
        heads = self.num_heads
        q = self.to_q_dw(self.to_q(x)).view(b, heads, -1, h * w)  # B x heads x c x hw
        k = self.to_k_dw(self.to_k(context)).view(b, heads, -1, h * w)
        v = self.to_v_dw(self.to_v(context)).view(b, heads, -1, h * w)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)  # B x heads x c x c
        return self.to_out((attn @ v).view(b, -1, h, w))

    def _channels_last(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` on channels-last maps, with two passes over the full-size maps folded into small products.

        ``F.normalize``'s division becomes a division of the ``c x c`` affinities by the norms' outer product, and
        ``to_out(attn @ v)`` one 1x1 convolution of ``v`` whose kernels are ``to_out``'s mixed by ``attn``:
        ``W_eff[o, head, j] = sum_c W[o, head, c] attn[head, c, j]``. The output is channels-last.
        """
        b, _, h, w = x.shape
        heads = self.num_heads
        q = self.to_q_dw(self.to_q(x))  # B x inner x h x w, channels-last like its input
        k = self.to_k_dw(self.to_k(context))
        v = self.to_v_dw(self.to_v(context))
        out_conv = self.to_out[0]
        assert isinstance(out_conv, nn.Conv2d)
        out_kernels = out_conv.weight.view(out_conv.out_channels, heads, -1)  # dim x heads x c
        outputs = []
        for i in range(b):
            q_rows, k_rows = q[i].permute(1, 2, 0).reshape(h * w, -1), k[i].permute(1, 2, 0).reshape(h * w, -1)
            q_norm = _column_norms(q_rows).clamp_min(1e-12).view(heads, -1, 1)
            k_norm = _column_norms(k_rows).clamp_min(1e-12).view(heads, 1, -1)
            affinities = _head_affinities(q_rows, k_rows, heads)
            attn = (affinities / (q_norm * k_norm) * self.temperature).softmax(dim=-1)
            kernels = torch.einsum("ohc,hcj->ohj", out_kernels, attn).reshape(out_conv.out_channels, -1, 1, 1)
            outputs.append(F.conv2d(v[i : i + 1], kernels, out_conv.bias))
        return outputs[0] if b == 1 else torch.cat(outputs)


def _head_affinities(q_rows: torch.Tensor, k_rows: torch.Tensor, heads: int) -> torch.Tensor:
    """``heads x c x c``: each head's ``q k^T`` over the pixels, from one image's maps as pixels x channels matrices
    (views of channels-last maps).

    In fp32 one batched product reads the ``heads x c x hw`` views in place. In bf16 the batched product copies both
    strided operands first (a pass over each full-size map: 95 ms for ``fuse3``'s 512 channels at 1/4 of 1008x560,
    the copies 0.13 s of a 1.35 s key pass), so each head's product runs on its columns of the pixels x channels
    matrices, which the 2-D product reads in place (10 ms)."""
    if q_rows.dtype == torch.float32:
        hw = q_rows.shape[0]
        return q_rows.t().view(heads, -1, hw) @ k_rows.t().view(heads, -1, hw).transpose(-2, -1)
    c = q_rows.shape[1] // heads
    return torch.stack([q_rows[:, j * c : (j + 1) * c].T @ k_rows[:, j * c : (j + 1) * c] for j in range(heads)])


def _column_norms(x: torch.Tensor, rows: int = 1024) -> torch.Tensor:
    """The L2 norms of the columns of the contiguous ``N x C`` matrix ``x``, summed over blocks of ``rows`` rows that
    stay in cache (a reduction over the outer dimension of the whole matrix runs at a fraction of memory speed)."""
    total = torch.promote_types(x.dtype, torch.float32)  # summed in fp32 at least (a bf16 sum of thousands drifts)
    sums = x.new_zeros(x.shape[1], dtype=total)
    for start in range(0, x.shape[0], rows):
        block = x[start : start + rows].to(total)
        sums += (block * block).sum(0)
    return sums.sqrt_()


class Fuse(nn.Module):
    """Fuses DINOv2 features (queries) with ResNet features (keys/values) at one scale.

    The DINOv2 features arrive on the /16 grid and are upsampled bilinearly by ``ratio`` to the ResNet scale. The
    fast path never builds the upsampled 1536-channel map (:func:`~.rewrites.conv_after_upsample`).
    """

    def __init__(self, dim: int, dino_dim: int = 1536, on_dino_grid: bool = False) -> None:
        super().__init__()
        self.fast = True
        # On the DINOv2 grid (fuse1) the convolution runs by Winograd F(2x2, 3x3) on the fast path, whose rounding is
        # a direct convolution's: f16 becomes the memory keys, where F(4x4)'s larger rounding (1e-5 against 3e-7) is
        # not wanted (the top-k selection turns a flipped near-tie into a jump in the chroma). The upsampled blocks
        # convolve by taps (conv_after_upsample).
        self.encode_enc = (
            WinogradConv2d(dino_dim, dim, scheme=F2) if on_dino_grid else nn.Conv2d(dino_dim, dim, 3, padding=1)
        )
        self.norm1 = LayerNorm2d(dim)
        self.norm2 = LayerNorm2d(dim)
        self.crossattn = CrossChannelAttention(dim)
        self.norm3 = LayerNorm2d(dim)

    def forward(self, dino: torch.Tensor, resnet: torch.Tensor, ratio: int = 1) -> torch.Tensor:
        if ratio == 1:
            enc = self.encode_enc(dino)
        elif self.fast:
            enc = conv_after_upsample(self.encode_enc, dino, ratio)
        else:
            enc = self.encode_enc(F.interpolate(dino, scale_factor=ratio, mode="bilinear", align_corners=False))
        if self.fast and enc.device.type == "cpu":
            enc = enc.contiguous(memory_format=torch.channels_last)
            resnet = resnet.contiguous(memory_format=torch.channels_last)  # no copy from the fast trunk
        out = self.crossattn(self.norm1(enc), self.norm2(resnet))
        return F.relu(self.norm3(out + enc)).contiguous()  # row-major again (no copy on the literal path)


class DinoBranch(nn.Module):
    """Frozen ViT-S/14; its last four layers are concatenated, projected 1x1 and resized onto the /16 grid."""

    def __init__(self, vit: VisionTransformer, out_dim: int = 1536) -> None:
        super().__init__()
        self.fast = True  # batch norm folded into conv3
        self.backbone = vit
        self.conv3 = nn.Conv2d(out_dim, out_dim, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``B x 3 x Hp x Wp`` (or the ``B x 1`` luminance plane) -> ``B x 1536 x h x w``."""
        feats = torch.cat(self.backbone.get_intermediate_layers(x, n=4), dim=1)  # B x 1536 x Hp/14 x Wp/14
        feats = F.relu(conv_bn(self.conv3, self.bn3, feats) if self.fast else self.bn3(self.conv3(feats)))
        gh, gw = feats.shape[-2:]
        size = (gh * 14 // 16, gw * 14 // 16)
        return F.interpolate(feats, size=size, mode="bilinear", align_corners=False)


class KeyEncoder(nn.Module):
    """ResNet-50 (to layer3) + DINOv2 branch, fused at /16, /8 and /4.

    The input is ``B x 3 x Hp x Wp`` (the luminance repeated) or, on the fast path, the ``B x 1 x Hp x Wp`` plane
    itself, which the first convolutions take with their kernels summed over the repeated channels.

    Returns:
        f16 ``B x 1024 x h x w``, f8 ``B x 512 x 2h x 2w``, f4 ``B x 256 x 4h x 4w``.
    """

    def __init__(self, vit: VisionTransformer) -> None:
        super().__init__()
        self.fast = True
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res2 = bottleneck_layer(64, 64, 3, stride=1)
        self.layer2 = bottleneck_layer(256, 128, 4, stride=2)
        self.layer3 = bottleneck_layer(512, 256, 6, stride=2)
        self.network2 = DinoBranch(vit)
        self.fuse1 = Fuse(1024, on_dino_grid=True)
        self.fuse2 = Fuse(512)
        self.fuse3 = Fuse(256)

    def forward(self, x: torch.Tensor, dino_in_fp32: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``dino_in_fp32``: the DINOv2 branch runs outside autocast (its bf16 features cost the most precision)."""
        r4, r8, r16, d16 = self._trunks(x, dino_in_fp32)
        # fuse2/fuse3 see d16 upsampled x2 / x4
        return self.fuse1(d16, r16), self.fuse2(d16, r8, ratio=2), self.fuse3(d16, r4, ratio=4)

    def f16(self, x: torch.Tensor, dino_in_fp32: bool = False) -> torch.Tensor:
        """Only f16 of :meth:`forward`: all a memory entry needs (f8 and f4 feed the decoder alone)."""
        _, _, r16, d16 = self._trunks(x, dino_in_fp32)
        return self.fuse1(d16, r16)

    def _trunks(
        self, x: torch.Tensor, dino_in_fp32: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ResNet features r4, r8, r16 and the DINOv2 features d16 ``B x 1536 x h x w``."""
        if x.shape[1] == 1 and not self.fast:
            x = x.expand(-1, 3, -1, -1)
        if self.fast:
            weight = self.conv1.weight if x.shape[1] == 3 else gray_kernels(self.conv1)
            r = conv_bn(self.conv1, self.bn1, x, weight)
        else:
            r = self.bn1(self.conv1(x))
        if self.fast and r.device.type == "cpu":
            r = r.contiguous(memory_format=torch.channels_last)  # r4, r8, r16 follow: see the module's docstring
        r = self.maxpool(F.relu(r))
        r4 = self.res2(r)  # B x 256 x Hp/4
        r8 = self.layer2(r4)  # B x 512 x Hp/8
        r16 = self.layer3(r8)  # B x 1024 x Hp/16
        d16 = in_fp32(self.network2, x) if dino_in_fp32 else self.network2(x)
        return r4, r8, r16, d16


class KeyProjection(nn.Module):
    """Projects f16 to the memory key, its shrinkage (>= 1) and its selection (in (0, 1))."""

    def __init__(self, in_dim: int = 1024, key_dim: int = 64) -> None:
        super().__init__()
        self.key_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        self.d_proj = nn.Conv2d(in_dim, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)

    def forward(self, f16: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = self.key_proj(f16)
        shrinkage = self.d_proj(f16) ** 2 + 1
        selection = torch.sigmoid(self.e_proj(f16))
        return key, shrinkage, selection
