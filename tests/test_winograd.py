"""Winograd F(4x4, 3x3) and F(2x2, 3x3) convolutions of the fast path against the direct convolution, and where
they are used."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from colormnet.engines.colormnet.model import winograd
from colormnet.engines.colormnet.model.blocks import GroupResBlock, broadcast_cat
from colormnet.engines.colormnet.model.decoder import Decoder
from colormnet.engines.colormnet.model.rewrites import conv_of_broadcast_cat
from colormnet.engines.colormnet.model.winograd import (
    F2,
    F4,
    WinogradConv2d,
    conv3x3,
    conv3x3_transforming,
    transform_weight,
)
from tests.conftest import literal_path

MIN_TILES = winograd.MIN_TILES  # the module's own rule, before the fixture below lowers it


@pytest.fixture(autouse=True)
def winograd_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The modules below take Winograd on their small maps too; the size rule has a test of its own."""
    monkeypatch.setattr(winograd, "MIN_TILES", 1)


def _exact(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The convolution in float64: what both fp32 forms approximate."""
    return F.conv2d(x.double(), weight.double(), None if bias is None else bias.double(), padding=1)


@pytest.mark.parametrize(
    ("shape", "with_bias"),
    [
        ((1, 8, 4, 4), True),  # one tile
        ((2, 6, 7, 9), True),  # ragged last tile row and column
        ((3, 5, 1, 1), False),  # a single pixel: everything but the centre tap is padding
        ((1, 4, 30, 13), True),  # several bands of tile rows
        ((2, 16, 17, 64), False),
    ],
)
@pytest.mark.parametrize("scheme", [F4, F2], ids=["F4", "F2"])
def test_winograd_convolution_equals_the_direct_one(
    shape: tuple[int, int, int, int], with_bias: bool, scheme: winograd.Scheme
) -> None:
    torch.manual_seed(0)
    n, c, h, w = shape
    x = torch.randn(n, c, h, w)
    weight, bias = torch.randn(11, c, 3, 3), torch.randn(11) if with_bias else None
    exact = _exact(x, weight, bias)
    got = conv3x3(x, transform_weight(weight, scheme), bias)
    assert got.shape == (n, 11, h, w) and got.dtype == torch.float32 and got.is_contiguous()
    scale = exact.abs().max().item()
    assert (got.double() - exact).abs().max().item() <= 1e-5 * scale
    # as close to the exact value as the direct fp32 convolution, within a small factor
    direct = F.conv2d(x, weight, bias, padding=1)
    assert (got.double() - exact).abs().max() <= 20 * (direct.double() - exact).abs().max() + 1e-6 * scale


def test_f2_rounds_like_a_dot_product_and_f4_does_not() -> None:
    """F(2x2)'s transforms are exact in binary (0, +-1, +-1/2): its error is that of a plain fp32 dot product over
    the same 2304 terms; F(4x4)'s is several times larger. What fuse1 relies on: its output becomes the memory keys.

    The yardstick is the dot product (unfold and one matrix product), not oneDNN's direct convolution, whose rounding
    depends on the CPU's kernel: on an AVX2-only CPU it is about ten times the dot product's.
    """
    torch.manual_seed(10)
    x, weight, bias = torch.randn(1, 256, 18, 30), torch.randn(64, 256, 3, 3) / 48, torch.randn(64)
    exact = _exact(x, weight, bias)

    def error(y: torch.Tensor) -> float:
        return (y.double() - exact).abs().max().item()

    columns = F.unfold(x, 3, padding=1)[0]  # 2304 x pixels
    dot = error((weight.reshape(64, -1) @ columns).reshape(1, 64, 18, 30) + bias[:, None, None])
    f2, f4 = error(conv3x3(x, transform_weight(weight, F2), bias)), error(conv3x3(x, transform_weight(weight), bias))
    assert f2 <= 2 * dot
    assert f4 >= 4 * dot


@pytest.mark.parametrize(
    "layout",
    [lambda x: x.to(memory_format=torch.channels_last), lambda x: x.transpose(2, 3).contiguous().transpose(2, 3)],
)
def test_inputs_in_other_memory_layouts_give_the_same_convolution(
    layout: Callable[[torch.Tensor], torch.Tensor],
) -> None:
    torch.manual_seed(1)
    x, weight, bias = torch.randn(2, 6, 9, 13), torch.randn(5, 6, 3, 3), torch.randn(5)
    expected = conv3x3(x, transform_weight(weight), bias)
    torch.testing.assert_close(conv3x3(layout(x), transform_weight(weight), bias), expected, rtol=0, atol=1e-6)


def test_bands_cover_the_image_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forcing one tile row per band gives what one band for the whole image gives."""
    torch.manual_seed(1)
    x, weight, bias = torch.randn(2, 3, 21, 10), torch.randn(4, 3, 3, 3), torch.randn(4)
    u = transform_weight(weight)
    whole = conv3x3(x, u, bias)
    monkeypatch.setattr(winograd, "_MIN_BAND_TILES", 1)
    monkeypatch.setattr(winograd, "_BAND_BYTES", 1)
    banded = conv3x3(x, u, bias)
    scale = whole.abs().max().item()  # the bands' products are summed in other orders: rounding differs
    torch.testing.assert_close(banded, whole, atol=1e-5 * scale, rtol=0)
    torch.testing.assert_close(banded, F.conv2d(x, weight, bias, padding=1), atol=1e-5 * scale, rtol=0)


def test_bands_hold_a_bounded_transformed_input() -> None:
    """A band's transformed input (36 x C_in x tiles) stays within the byte budget, down to the minimum band."""
    budget, least = winograd._BAND_BYTES, winograd._MIN_BAND_TILES
    counts = {}
    for channels in (64, 256, 512, 1600):
        counts[channels] = tiles = winograd._band_tiles(torch.empty(1, channels, 8, 8), budget)
        per_tile = 36 * channels * 4
        assert tiles >= least
        assert tiles == least or tiles * per_tile <= budget < (tiles + 1) * per_tile
    assert counts[64] > counts[256] > counts[512] >= least


def test_the_kernel_transform_is_g_g_gt_of_every_kernel() -> None:
    torch.manual_seed(6)
    weight = torch.randn(5, 7, 3, 3, dtype=torch.float64)
    g = torch.tensor(F4.g, dtype=torch.float64)
    expected = torch.einsum("ia,oxab,jb->ijox", g, weight, g).reshape(36, 5, 7)
    torch.testing.assert_close(transform_weight(weight), expected, rtol=0, atol=1e-14)
    # a slice along the input channels (not contiguous) transforms like a copy of it
    torch.testing.assert_close(transform_weight(weight[:, 2:5]), expected[:, :, 2:5], rtol=0, atol=1e-14)
    g2 = torch.tensor(F2.g, dtype=torch.float64)
    expected2 = torch.einsum("ia,oxab,jb->ijox", g2, weight, g2).reshape(16, 5, 7)
    torch.testing.assert_close(transform_weight(weight, F2), expected2, rtol=0, atol=1e-14)


def test_fuse1_convolves_by_f2_and_the_upsampled_blocks_by_taps(golden_network) -> None:
    """fuse1's convolution (on the DINOv2 grid, its output the memory keys) is an F(2x2) Winograd convolution that
    keeps its transforms (16 x 1024 x 1536); fuse2 and fuse3 keep plain convolutions (conv_after_upsample reads
    their kernels); the checkpoint's keys are those of nn.Conv2d."""
    encoder = golden_network.key_encoder
    conv = encoder.fuse1.encode_enc
    assert isinstance(conv, WinogradConv2d) and conv.scheme is F2 and conv.keeps_transforms
    assert type(encoder.fuse2.encode_enc) is torch.nn.Conv2d and type(encoder.fuse3.encode_enc) is torch.nn.Conv2d
    assert {k for k in encoder.fuse1.state_dict() if k.startswith("encode_enc")} == {
        "encode_enc.weight",
        "encode_enc.bias",
    }
    x = torch.randn(1, 1536, 4, 6)
    with torch.inference_mode():
        direct = F.conv2d(x, conv.weight, conv.bias, padding=1)
        fast = conv(x)
        assert conv.transformed().shape == (16, 1024, 1536)
    assert not torch.equal(fast, direct)  # the other algorithm ...
    torch.testing.assert_close(fast, direct, atol=1e-5 * direct.abs().max().item(), rtol=0)  # ... to the same values


@pytest.mark.parametrize(("chunk", "band_bytes"), [(128, 64 * 2**20), (3, 1)])
def test_transforming_during_the_call_gives_the_kept_transforms_convolution(
    monkeypatch: pytest.MonkeyPatch, chunk: int, band_bytes: int
) -> None:
    """In one piece, or in chunks of 3 output channels over bands of one tile row (ragged last chunk and band)."""
    torch.manual_seed(7)
    x, weight, bias = torch.randn(2, 6, 13, 10), torch.randn(8, 6, 3, 3), torch.randn(8)
    monkeypatch.setattr(winograd, "_CHUNK", chunk)
    monkeypatch.setattr(winograd, "_MIN_BAND_TILES", 1)
    monkeypatch.setattr(winograd, "_BAND_BYTES", band_bytes)
    got = conv3x3_transforming(x, weight, bias)
    exact = _exact(x, weight, bias)
    assert got.shape == exact.shape and got.is_contiguous()
    scale = exact.abs().max().item()
    assert (got.double() - exact).abs().max().item() <= 1e-5 * scale
    torch.testing.assert_close(got, conv3x3(x, transform_weight(weight), bias), rtol=0, atol=1e-5 * scale)


def test_wide_convolutions_keep_no_transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond 512 x 512 channels the module transforms during each call and keeps nothing; below, it keeps them."""
    monkeypatch.setattr(winograd, "_WIDEST", 6 * 6)
    torch.manual_seed(8)
    wide, narrow = WinogradConv2d(6, 7).eval(), WinogradConv2d(6, 6).eval()
    x = torch.randn(1, 6, 9, 11)
    with torch.inference_mode():
        for conv in (wide, narrow):
            direct = F.conv2d(x, conv.weight, conv.bias, padding=1)
            fast = conv(x)
            assert not torch.equal(fast, direct)  # Winograd's rounding, not the direct convolution's
            torch.testing.assert_close(fast, direct, rtol=0, atol=1e-5 * direct.abs().max().item())
    assert not wide.keeps_transforms and wide._transformed is None
    assert narrow.keeps_transforms and narrow._transformed is not None


@pytest.mark.parametrize("widest", [6 * 6, 512 * 512])  # transforming during the call / kept transforms
def test_of_relu_convolves_the_rectified_input_band_by_band(monkeypatch: pytest.MonkeyPatch, widest: int) -> None:
    monkeypatch.setattr(winograd, "_WIDEST", widest)
    monkeypatch.setattr(winograd, "_MIN_BAND_TILES", 1)
    monkeypatch.setattr(winograd, "_BAND_BYTES", 1)  # one tile row per band: the ReLU meets every band and halo
    torch.manual_seed(9)
    conv = WinogradConv2d(6, 7).eval()
    x = torch.randn(2, 6, 13, 10)
    keep = x.clone()
    with torch.inference_mode():
        fast = conv.of_relu(x)
        exact = _exact(F.relu(x), conv.weight, conv.bias)
        assert torch.equal(x, keep)  # the input itself is not rectified
        assert (fast.double() - exact).abs().max().item() <= 1e-5 * exact.abs().max().item()
        conv.fast = False  # the literal path: the direct convolution of F.relu(x)
        torch.testing.assert_close(conv.of_relu(x), F.conv2d(F.relu(x), conv.weight, conv.bias, padding=1))


def test_a_share_of_the_input_channels_uses_a_slice_of_the_transform() -> None:
    torch.manual_seed(2)
    block = GroupResBlock(16 + 8, 12).eval()
    x, g = torch.randn(1, 16, 6, 9), torch.randn(1, 2, 8, 6, 9)
    conv = block.conv1
    assert isinstance(conv, WinogradConv2d) and conv.keeps_transforms
    with torch.inference_mode():
        literal = F.conv2d(broadcast_cat(x, g).flatten(0, 1), conv.weight, conv.bias, padding=1).view(1, 2, 12, 6, 9)
        torch.testing.assert_close(conv_of_broadcast_cat(conv, x, g), literal, atol=1e-5, rtol=0)
        torch.testing.assert_close(block.forward_shared(x, g), block(broadcast_cat(x, g)), atol=1e-5, rtol=0)


def test_the_module_chooses_the_direct_convolution_where_winograd_does_not_serve() -> None:
    torch.manual_seed(3)
    conv = WinogradConv2d(6, 5).eval()
    x = torch.randn(1, 6, 8, 8)
    direct = F.conv2d(x, conv.weight, conv.bias, padding=1)
    with torch.inference_mode():
        fast = conv(x)
        conv.fast = False  # the literal path convolves directly: bit for bit the direct result
        assert torch.equal(conv(x), direct)
        conv.fast = True
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert conv(x).dtype == torch.bfloat16  # autocast's own bf16 convolution
        assert not winograd.applies(x.double()) and winograd.applies(x)
    assert not torch.equal(fast, direct)  # the fast path did take the other algorithm ...
    torch.testing.assert_close(fast, direct, atol=1e-5, rtol=0)  # ... to the same values
    # gradients wanted: the direct convolution, so training through the module works as for nn.Conv2d
    x.requires_grad_(True)
    conv(x).sum().backward()
    assert x.grad is not None and conv.weight.grad is not None


def test_maps_of_fewer_tiles_than_the_rule_take_the_direct_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winograd, "MIN_TILES", MIN_TILES)
    taken: list[torch.Size] = []
    real = winograd.conv3x3

    def counted(x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        taken.append(x.shape)
        return real(x, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(winograd, "conv3x3", counted)
    torch.manual_seed(6)
    conv = WinogradConv2d(8, 8).eval()
    small = torch.randn(2, 8, 4, 4 * (MIN_TILES - 1))  # a tile short per image (the rule is per image, not batch)
    large = torch.randn(1, 8, 4, 4 * MIN_TILES - 3)  # the last tile ragged: exactly the rule
    assert winograd.tiles_per_image(small) < MIN_TILES <= winograd.tiles_per_image(large)
    with torch.inference_mode():
        assert torch.equal(conv(small), F.conv2d(small, conv.weight, conv.bias, padding=1))  # bit for bit direct
        torch.testing.assert_close(conv(large), F.conv2d(large, conv.weight, conv.bias, padding=1), atol=1e-5, rtol=0)
        assert conv.of_relu(small).shape == small.shape
    assert taken == [large.shape]  # only the large map went through the transforms


def test_the_transformed_kernels_follow_the_weights() -> None:
    torch.manual_seed(4)
    conv = WinogradConv2d(4, 4).eval()
    x = torch.randn(1, 4, 9, 9)
    with torch.inference_mode():
        before = conv(x)
        assert conv.transformed() is conv.transformed()  # kept while the weights stay the same
        conv.load_state_dict({"weight": torch.randn(4, 4, 3, 3), "bias": torch.zeros(4)})
        after = conv(x)
    direct = F.conv2d(x, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(after, direct, atol=1e-5 * direct.abs().max().item(), rtol=0)
    assert not torch.allclose(after, before)
    assert set(conv.state_dict()) == {"weight", "bias"}  # the checkpoint's keys: nothing added


def test_the_decoder_runs_its_3x3_convolutions_by_winograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 3x3 convolution of the decoder's fusion and upsampling blocks goes through Winograd on the CPU in fp32
    (fast path): up to 512 x 512 channels from kept transforms, the wider ones transforming theirs during the call;
    with ``fast = False`` all convolve directly; the outputs agree."""
    torch.manual_seed(5)
    decoder = Decoder().eval()
    kept: list[tuple[int, int]] = []
    transforming: list[tuple[int, int]] = []
    real_kept, real_transforming = winograd.conv3x3, winograd.conv3x3_transforming

    def counted_kept(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None, relu: bool = False) -> torch.Tensor:
        kept.append((u.shape[2], u.shape[1]))
        return real_kept(x, u, bias, relu)

    def counted_transforming(
        x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, relu: bool = False, *scheme: winograd.Scheme
    ) -> torch.Tensor:
        transforming.append((weight.shape[1], weight.shape[0]))
        return real_transforming(x, weight, bias, relu, *scheme)

    monkeypatch.setattr(winograd, "conv3x3", counted_kept)
    monkeypatch.setattr(winograd, "conv3x3_transforming", counted_transforming)
    h, w = 2, 3
    f16, f8, f4 = torch.randn(1, 1024, h, w), torch.randn(1, 512, 2 * h, 2 * w), torch.randn(1, 256, 4 * h, 4 * w)
    readout, hidden = torch.randn(1, 2, 512, h, w) * 0.1, torch.zeros(1, 2, 64, h, w)
    with torch.inference_mode():
        _, fast = decoder(f16, f8, f4, readout, hidden, True)
        calls = len(kept) + len(transforming)
        literal_path(decoder)
        _, literal = decoder(f16, f8, f4, readout, hidden, True)
    assert calls == len(kept) + len(transforming)  # the literal path took neither
    # fuser: block1's conv2, block2's conv1 and conv2; per upsampling block: the skip conv, conv1, conv2 and, where
    # the width changes, the shortcut
    assert len(kept) == 3 + 4 + 3
    assert sorted(set(kept)) == [(256, 256), (512, 256), (512, 512)]
    # block1's conv1 and shortcut take 1024 shared + 576 per-object channels: each share once
    assert sorted(transforming) == [(576, 512), (576, 512), (1024, 512), (1024, 512)]
    assert not decoder.fuser.block1.conv1.keeps_transforms and decoder.up_8_4.out_conv.conv1.keeps_transforms
    torch.testing.assert_close(fast, literal, atol=1e-4, rtol=0)


def test_the_speed_benchmark_prints_both_forms_and_their_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import winograd_speed

    monkeypatch.setattr(winograd_speed, "SHAPES", [((2, 8, 6, 9, 13), "tiny")])
    winograd_speed.main(["--rounds", "1", "--threads", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 2 x 8 -> 6")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[1] == "tiny" and float(cells[2]) >= 0 and cells[4].startswith("x")
    assert 0 < float(cells[6]) < 1e-4 and float(cells[5]) < 1e-4  # Winograd's error, the direct one's
