"""3x3 convolutions by Winograd's minimal filtering F(4x4, 3x3) and F(2x2, 3x3), for the fast path on the CPU.

A direct 3x3 convolution spends 9 multiply-adds per output value and input channel; F(4x4, 3x3) computes each 4x4
output tile from the 6x6 input tile around it with 36 (Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks", CVPR 2016): the input tile and the kernel are mapped by fixed linear transforms (``V = B^T d B``,
``U = G g G^T``), multiplied element-wise and summed over the input channels -- 36 independent matrix products
``U_xi @ V_xi`` -- and mapped back (``Y = A^T M A``). The arithmetic is exact; only the rounding differs from the
direct form (about 1e-5 of the output's magnitude in fp32, against about 3e-7 for the direct convolution:
``benchmarks/winograd_speed.py``), so the fast path's outputs still agree with the literal reference to float
rounding.

F(2x2, 3x3) computes a 2x2 tile from a 4x4 one with 16 (4 per output against 9). Its transforms hold only 0, +-1
and +-1/2, which binary floating point represents and scales exactly, so its rounding is that of a direct
convolution (a sum in another order): it serves where F(4x4)'s larger rounding is not wanted, the key encoder's
``fuse1``, whose output becomes the memory keys.

On the CPU the decoder's wide 3x3 convolutions (256 to 1600 channels) run near the machine's fp32 peak as direct
convolutions, which is why cutting their multiply-adds by 4 shows almost undiminished: the 36 products are large
matrix products, and the transforms are cheap next to them once the image is taken in bands of tile rows, so that a
band's transformed input is still in cache when the products read it. On small maps (fewer than ``MIN_TILES``
tiles per image, i.e. the coarse grids of frames processed below ~300 pixels) the products are too narrow to pay:
their time is then set by streaming the transformed kernels, 4x the weights, and for the widest convolutions by
transforming them, so the direct convolution serves there. CUDA's libraries pick their own algorithms
(Winograd among them), so the direct convolution stays there; so it does under autocast (bf16 has too few mantissa
bits for the transforms) and wherever gradients are wanted.

Legend: ``xi`` one of the 6x6 = 36 transform positions, ``L`` the tiles in a band.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Scheme:
    """One F(m x m, 3x3): ``tile`` = m, and its transforms ``B^T`` (alpha x alpha), ``G`` (alpha x 3), ``A^T``
    (m x alpha), alpha = m + 2."""

    tile: int
    bt: tuple[tuple[float, ...], ...]
    g: tuple[tuple[float, ...], ...]
    at: tuple[tuple[float, ...], ...]

    @property
    def alpha(self) -> int:
        """The input tile's side."""
        return self.tile + 2

    @property
    def positions(self) -> int:
        """The transform positions, alpha squared: one matrix product each."""
        return self.alpha * self.alpha

    @property
    def bias_position(self) -> int:
        """Column 1 of A^T is all ones: a constant added at position (1, 1) reaches every output of the tile once."""
        return self.alpha + 1


# F(4x4, 3x3) with the interpolation points 0, +-1, +-2 and infinity.
F4 = Scheme(
    4,
    bt=(
        (4.0, 0.0, -5.0, 0.0, 1.0, 0.0),
        (0.0, -4.0, -4.0, 1.0, 1.0, 0.0),
        (0.0, 4.0, -4.0, -1.0, 1.0, 0.0),
        (0.0, -2.0, -1.0, 2.0, 1.0, 0.0),
        (0.0, 2.0, -1.0, -2.0, 1.0, 0.0),
        (0.0, 4.0, 0.0, -5.0, 0.0, 1.0),
    ),
    g=(
        (1 / 4, 0.0, 0.0),
        (-1 / 6, -1 / 6, -1 / 6),
        (-1 / 6, 1 / 6, -1 / 6),
        (1 / 24, 1 / 12, 1 / 6),
        (1 / 24, -1 / 12, 1 / 6),
        (0.0, 0.0, 1.0),
    ),
    at=(
        (1.0, 1.0, 1.0, 1.0, 1.0, 0.0),
        (0.0, 1.0, -1.0, 2.0, -2.0, 0.0),
        (0.0, 1.0, 1.0, 4.0, 4.0, 0.0),
        (0.0, 1.0, -1.0, 8.0, -8.0, 1.0),
    ),
)
# F(2x2, 3x3) with the interpolation points 0, +-1 and infinity: every coefficient is exact in binary.
F2 = Scheme(
    2,
    bt=((1.0, 0.0, -1.0, 0.0), (0.0, 1.0, 1.0, 0.0), (0.0, -1.0, 1.0, 0.0), (0.0, 1.0, 0.0, -1.0)),
    g=((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0)),
    at=((1.0, 1.0, 1.0, 0.0), (0.0, 1.0, -1.0, -1.0)),
)
_SCHEMES = {scheme.positions: scheme for scheme in (F4, F2)}  # a transformed kernel's first dimension names it
# Bands: as many tiles as a transformed input (36 x C_in x L values) of at most _BAND_BYTES allows, and at least
# _MIN_BAND_TILES. The 36 products gain up to a few thousand columns (MKL packs each kernel matrix once per product):
# bands of 32 MB against bands of 128 tiles, 256 -> 256 channels at 1/4 of 1008x560 for two objects 263 -> 220 ms,
# 256 -> 512 460 -> 355 ms, 512 -> 512 at 1/16 56 -> 44 ms (``benchmarks/notes.md``).
_MIN_BAND_TILES = 128
_BAND_BYTES = 32 * 2**20
_WIDEST = 512 * 512  # in x out channels of the widest convolution whose transformed kernels are kept
# Convolutions wider than that transform their kernels during the call, this many output channels at a time (a
# chunk's 36 x 128 x C_in transforms, 28 MB at 1536 input channels, stay in the last-level cache for the products),
# once per band; their bands may hold twice _BAND_BYTES, which halves how often each chunk is transformed.
_CHUNK = 128
# Fewer tiles per image than this and the direct convolution is faster: per convolution on the decoder's shapes
# (256 to 1600 input channels, one or two objects) Winograd took 1.2-6x the direct time at 4-20 tiles, broke even at
# 20-48, and gained x1.2-1.7 from 70 on (``benchmarks/notes.md``). F(2x2) on fuse1's 1536 -> 1024 channels is
# about even with the direct convolution at 16-20 of its 2x2 tiles and gains x1.27 at 40, x1.6 at 576 (960x536).
MIN_TILES = 32

_constant_cache: dict[tuple[int, torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

KernelsOf = Callable[[int, int], torch.Tensor]


def _constants(scheme: Scheme, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The input transform as fixed ``alpha x alpha`` kernels ``positions x 1 x alpha x alpha``, and
    ``A^T (x) A^T`` as ``tile^2 x positions`` (for F(4x4): 36 kernels of 6x6, ``16 x 36``)."""
    key = (scheme.tile, device, dtype)
    if key not in _constant_cache:
        bt = torch.tensor(scheme.bt, dtype=torch.float64)
        at = torch.tensor(scheme.at, dtype=torch.float64)
        kernels = torch.kron(bt, bt).view(scheme.positions, 1, scheme.alpha, scheme.alpha)
        _constant_cache[key] = (kernels.to(device, dtype).contiguous(), torch.kron(at, at).to(device, dtype))
    return _constant_cache[key]


def transform_weight(weight: torch.Tensor, scheme: Scheme = F4) -> torch.Tensor:
    """``G g G^T`` of every 3x3 kernel: ``C_out x C_in x 3 x 3`` -> ``positions x C_out x C_in`` (36 for F(4x4),
    16 for F(2x2)), in the weights' dtype.

    Taken one axis at a time (``G`` on the kernel rows, then on its columns): for F(4x4) 162 multiply-adds per kernel
    instead of the 324 of the 36 x 9 matrix ``G (x) G``, as two products with the kernels' taps as rows.
    """
    g = torch.tensor(scheme.g, dtype=weight.dtype, device=weight.device)
    c_out, c_in = weight.shape[:2]
    taps = weight.permute(2, 3, 0, 1).reshape(3, 3 * c_out * c_in)  # kernel row x (column, out, in)
    rows = (g @ taps).view(scheme.alpha, 3, c_out * c_in)  # G g: alpha x 3 per kernel
    return torch.matmul(g, rows).view(scheme.positions, c_out, c_in)  # (G g) G^T, row-major over the positions


def conv3x3(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None, relu: bool = False) -> torch.Tensor:
    """A 3x3 convolution, stride 1, padding 1, from the transformed kernels ``u`` (:func:`transform_weight`).

    Args:
        x: ``N x C_in x H x W``.
        u: ``36 x C_out x C_in`` for F(4x4), ``16 x C_out x C_in`` for F(2x2) (a slice along ``C_in`` of a wider
            convolution's transform is fine).
        bias: ``C_out`` or ``None``.
        relu: convolve ``relu(x)`` instead, the ReLU applied to each band's copy (no full-size pass of its own).

    Returns:
        ``N x C_out x H x W``, what ``F.conv2d(x, weight, bias, padding=1)`` returns up to rounding.
    """
    scheme, c_out = _SCHEMES[u.shape[0]], u.shape[1]
    band_tiles = _band_tiles(x, _BAND_BYTES, scheme)
    return _convolve(x, c_out, lambda start, stop: u[:, start:stop], c_out, band_tiles, bias, relu, scheme)


def conv3x3_transforming(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, relu: bool = False, scheme: Scheme = F4
) -> torch.Tensor:
    """:func:`conv3x3` from the weights ``C_out x C_in x 3 x 3``, transformed during the call, ``_CHUNK`` output
    channels at a time: nothing is kept, and no more than one chunk's transforms exist at once."""
    c_out = weight.shape[0]
    band_tiles = _band_tiles(x, 2 * _BAND_BYTES, scheme)

    def kernels_of(start: int, stop: int) -> torch.Tensor:
        return transform_weight(weight[start:stop], scheme)

    return _convolve(x, c_out, kernels_of, _CHUNK, band_tiles, bias, relu, scheme)


def _band_tiles(x: torch.Tensor, budget: int, scheme: Scheme = F4) -> int:
    """Tiles per band for the input ``x``: a transformed input of at most ``budget`` bytes, and at least
    ``_MIN_BAND_TILES``."""
    return max(_MIN_BAND_TILES, budget // (scheme.positions * x.shape[1] * x.element_size()))


def _convolve(
    x: torch.Tensor,
    c_out: int,
    kernels_of: KernelsOf,
    chunk: int,
    band_tiles: int,
    bias: torch.Tensor | None,
    relu: bool = False,
    scheme: Scheme = F4,
) -> torch.Tensor:
    """The tiles of ``x`` (``relu(x)`` if ``relu``) in bands of about ``band_tiles`` (the images of the batch side by
    side), multiplied by ``kernels_of(start, stop)``, the ``positions x (stop - start) x C_in`` transforms of output
    channels ``start:stop``."""
    n, c, h, w = x.shape
    tile, positions = scheme.tile, scheme.positions
    rows, cols = math.ceil(h / tile), math.ceil(w / tile)
    band = max(1, math.ceil(band_tiles / (n * cols)))
    kernels, output_matrix = _constants(scheme, x.device, x.dtype)
    out = x.new_empty(n, c_out, rows * tile, cols * tile)
    for first in range(0, rows, band):
        count = min(band, rows - first)
        top, bottom = first * tile - 1, (first + count) * tile + 1  # input rows of the band's tiles, halo included
        piece = F.pad(
            x[:, :, max(top, 0) : min(bottom, h)],
            (1, cols * tile + 1 - w, max(0, -top), max(0, bottom - h)),
        )
        if relu:
            piece = piece.relu_()  # a copy of x's rows; ReLU keeps the zero padding zero
        # V = B^T d B for every tile and channel: N x C x positions x L
        tiles = F.conv2d(piece.reshape(n * c, 1, *piece.shape[-2:]), kernels, stride=tile)  # any input layout
        v = tiles.reshape(n, c, positions, count * cols)
        # Image by image, each image's V feeds the products as it lies; with kernels transformed during the call
        # (chunk < C_out), all images at once, so that each chunk is transformed once per band: 36 x C x (N L)
        if n == 1 or chunk >= c_out:
            groups = [(i, 1, v[i].transpose(0, 1)) for i in range(n)]
        else:
            groups = [(0, n, v.permute(2, 1, 0, 3).reshape(positions, c, n * count * cols))]
        rows_out = out[:, :, first * tile : (first + count) * tile]
        for image, images, vv in groups:
            for start in range(0, c_out, chunk):
                stop = min(c_out, start + chunk)
                m = torch.bmm(kernels_of(start, stop), vv)  # positions x C_chunk x (N L)
                if bias is not None:
                    m[scheme.bias_position] += bias[start:stop, None]
                y = (output_matrix @ m.view(positions, -1)).view(tile, tile, stop - start, images, count, cols)
                target = rows_out[image : image + images, start:stop]
                target.view(images, stop - start, count, tile, cols, tile).copy_(y.permute(3, 2, 4, 0, 5, 1))
    if rows * tile != h or cols * tile != w:
        out = out[..., :h, :w].contiguous()
    return out


def tiles_per_image(x: torch.Tensor, scheme: Scheme = F4) -> int:
    """How many output tiles (4x4 for F(4x4)) cover one image of ``x`` (``N x C x H x W``)."""
    return math.ceil(x.shape[-2] / scheme.tile) * math.ceil(x.shape[-1] / scheme.tile)


def applies(x: torch.Tensor) -> bool:
    """Whether :func:`conv3x3` serves ``x``: fp32 on the CPU, outside autocast, no gradients wanted."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.dim() == 4
        and not torch.is_autocast_enabled("cpu")
        and not (torch.is_grad_enabled() and x.requires_grad)
    )


class WinogradConv2d(nn.Conv2d):
    """A 3x3, stride 1, padding 1 ``nn.Conv2d`` (same parameters and checkpoint keys) that runs by Winograd on the
    fast path where :func:`applies` and the image has at least ``MIN_TILES`` tiles; the literal path
    (``fast = False``) convolves directly.

    F(4x4) by default. Its transformed kernels are 4x the weights' size: convolutions of at most 512 x 512 channels
    compute theirs on first use (and again after the weights change) and keep them (:func:`conv3x3`), ~320 MB for the
    decoder's. The wider ones (1024 to 1600 input channels, all on the /16 grid) would add ~650 MB kept, so they
    transform theirs during each call (:func:`conv3x3_transforming`), which costs a sixth to a quarter of what the
    products save. With ``scheme=F2`` the transforms are 16/9 of the weights and always kept (100 MB for 1536 ->
    1024 channels).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, scheme: Scheme = F4) -> None:
        super().__init__(in_channels, out_channels, 3, padding=1, bias=bias)
        self.fast = True
        self.scheme = scheme
        self.keeps_transforms = scheme is F2 or in_channels * out_channels <= _WIDEST
        self._transformed: tuple[tuple[object, ...], torch.Tensor] | None = None

    def transformed(self) -> torch.Tensor:
        """``positions x C_out x C_in``: :func:`transform_weight` of the current weights, kept while they stay the
        same."""
        weight = self.weight
        key = (weight.data_ptr(), weight._version, weight.device, weight.dtype)
        if self._transformed is None or self._transformed[0] != key:
            with torch.no_grad():
                self._transformed = (key, transform_weight(weight.detach(), self.scheme))
        return self._transformed[1]

    def _serves(self, x: torch.Tensor) -> bool:
        return self.fast and applies(x) and tiles_per_image(x, self.scheme) >= MIN_TILES

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.part(x, 0, self.in_channels, self.bias)

    def of_relu(self, x: torch.Tensor) -> torch.Tensor:
        """``self(F.relu(x))``; by Winograd the ReLU is applied band by band, with no full-size map of its own."""
        return self.part(x, 0, self.in_channels, self.bias, relu=True)

    def part(
        self, x: torch.Tensor, start: int, stop: int, bias: torch.Tensor | None, relu: bool = False
    ) -> torch.Tensor:
        """The convolution's share from its input channels ``start:stop`` (``x`` holds only those), plus ``bias``;
        of ``relu(x)`` if ``relu``."""
        if not self._serves(x):
            return F.conv2d(F.relu(x) if relu else x, self.weight[:, start:stop], bias, padding=self.padding)
        if self.keeps_transforms:
            return conv3x3(x, self.transformed()[:, :, start:stop], bias, relu)
        return conv3x3_transforming(x, self.weight.detach()[:, start:stop], bias, relu, self.scheme)
