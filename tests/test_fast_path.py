"""The fast path (exact rewrites) against the literal reference computation: pieces, then the engine on a real clip."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colormnet import color
from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.colormnet.inference.memory_manager import similarity, sparse_top_k_readout, top_k_affinity
from colormnet.engines.colormnet.model import winograd
from colormnet.engines.colormnet.model.blocks import GroupResBlock, broadcast_cat
from colormnet.engines.colormnet.model.local_attention import LocalAttention, dense_local_attention
from colormnet.engines.colormnet.model.network import ColorMNet
from colormnet.engines.colormnet.model.rewrites import (
    conv_after_upsample,
    conv_bn,
    conv_by_taps,
    conv_of_broadcast_cat,
    conv_of_gray,
)
from colormnet.video import VideoReader


@pytest.fixture
def reference_mode(golden_network: ColorMNet) -> Iterator[ColorMNet]:
    """The shared golden network, switched back to the fast path whatever the test does."""
    yield golden_network
    golden_network.fast = True


@pytest.mark.parametrize(("ratio", "bias"), [(2, True), (4, True), (4, False)])
def test_conv_after_upsample_equals_conv_of_the_upsampled_map(ratio: int, bias: bool) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(48, 24, 3, padding=1, bias=bias)
    x = torch.randn(2, 48, 5, 7)
    with torch.inference_mode():
        literal = conv(F.interpolate(x, scale_factor=ratio, mode="bilinear", align_corners=False))
        fast = conv_after_upsample(conv, x, ratio)
    assert fast.shape == literal.shape == (2, 24, 5 * ratio, 7 * ratio)
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)


def test_conv_after_upsample_keeps_the_literal_dtypes() -> None:
    """float64 stays float64; under CPU bf16 autocast the sum is fp32, as the literal convolution's bias makes it."""
    torch.manual_seed(4)
    conv = torch.nn.Conv2d(16, 8, 3, padding=1).double()
    x = torch.randn(1, 16, 5, 6, dtype=torch.float64)
    with torch.inference_mode():
        literal = conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        fast = conv_after_upsample(conv, x, 2)
        assert fast.dtype == torch.float64
        torch.testing.assert_close(fast, literal, atol=1e-12, rtol=0)
        conv.float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = conv_after_upsample(conv, x.float(), 2)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low.double(), literal, atol=0.05 * literal.abs().max().item(), rtol=0)


@pytest.mark.parametrize(("c_out", "kernel", "bias"), [(1, 3, True), (2, 3, False), (3, 5, True)])
def test_conv_by_taps_equals_the_convolution(c_out: int, kernel: int, bias: bool) -> None:
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(16, c_out, kernel, padding=kernel // 2, bias=bias)
    x = torch.randn(2, 16, 7, 4)  # narrower than the 5x5 kernel's reach on one side: shifts clip
    with torch.inference_mode():
        torch.testing.assert_close(conv_by_taps(conv, x), conv(x), atol=1e-5, rtol=0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low, literal = conv_by_taps(conv, x), conv(x)
    assert low.dtype == literal.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), literal.float(), atol=0.05 * literal.abs().max().item(), rtol=0)


def test_decoder_predicts_by_taps_on_the_cpu_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.engines.colormnet.model import decoder

    calls = []
    monkeypatch.setattr(decoder, "conv_by_taps", lambda conv, x: calls.append(x.shape) or conv(x))
    net = decoder.Decoder(value_dim=16, hidden_dim=4).eval()
    f16, f8, f4 = torch.randn(1, 1024, 2, 3), torch.randn(1, 512, 4, 6), torch.randn(1, 256, 8, 12)
    readout, hidden = torch.randn(1, 2, 16, 2, 3), torch.randn(1, 2, 4, 2, 3)
    with torch.inference_mode():
        net(f16, f8, f4, readout, hidden, False)
        net.fast = False
        net(f16, f8, f4, readout, hidden, False)
    assert calls == [(2, 256, 8, 12)]  # both objects in one call, on the fast path only


def test_shared_share_of_a_grouped_conv_is_computed_once_with_the_same_result() -> None:
    torch.manual_seed(1)
    block = GroupResBlock(16 + 8, 12).eval()
    x, g = torch.randn(1, 16, 6, 9), torch.randn(1, 2, 8, 6, 9)
    with torch.inference_mode():
        torch.testing.assert_close(block.forward_shared(x, g), block(broadcast_cat(x, g)), atol=1e-5, rtol=0)
        conv = block.conv1
        literal = conv(broadcast_cat(x, g).flatten(0, 1)).view(1, 2, 12, 6, 9)
        torch.testing.assert_close(conv_of_broadcast_cat(conv, x, g), literal, atol=1e-5, rtol=0)


def test_gray_input_convolves_once_with_summed_kernels() -> None:
    torch.manual_seed(2)
    conv = torch.nn.Conv2d(5, 8, 7, stride=2, padding=3, bias=False)
    gray, rest = torch.randn(2, 1, 20, 18), torch.randn(2, 2, 20, 18)
    with torch.inference_mode():
        literal = conv(torch.cat([gray.expand(-1, 3, -1, -1), rest], dim=1))
        torch.testing.assert_close(conv_of_gray(conv, gray, rest), literal, atol=1e-5, rtol=0)


def test_batch_norm_folded_into_the_convolution() -> None:
    torch.manual_seed(5)
    conv, bn = torch.nn.Conv2d(6, 8, 3, stride=2, padding=1), torch.nn.BatchNorm2d(8).eval()
    for t in (bn.weight, bn.bias, bn.running_mean):
        torch.nn.init.normal_(t)
    bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 6, 15, 16)
    with torch.inference_mode():
        torch.testing.assert_close(conv_bn(conv, bn, x), bn(conv(x)), atol=1e-5, rtol=0)


@pytest.mark.parametrize("size", [(1, 1), (4, 23), (17, 6)])
def test_banded_local_attention_equals_the_dense_reference(size: tuple[int, int]) -> None:
    torch.manual_seed(3)
    module = LocalAttention(key_dim=8, value_dim=12, radius=7).eval()
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)
    q, k, v = torch.randn(1, 8, *size), torch.randn(1, 8, *size), torch.randn(1, 12, *size)
    with torch.inference_mode():
        fast = module(q, k, v)
        module.fast = False
        looped = module(q, k, v)
        dense = dense_local_attention(module, q, k, v)
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=0)
    torch.testing.assert_close(looped, dense, atol=1e-5, rtol=0)


def test_sparse_readout_equals_the_dense_affinity_product() -> None:
    torch.manual_seed(4)
    n, hw, c_k, c = 300, 1100, 16, 10  # more queries than one chunk
    mem_key, query_key = torch.randn(c_k, n), torch.randn(c_k, hw)
    shrinkage, selection = torch.rand(1, n) + 1, torch.rand(c_k, hw)
    value = torch.randn(c, n)
    affinity = top_k_affinity(similarity(mem_key, shrinkage, query_key, selection), top_k=30)
    readout, usage, mass = sparse_top_k_readout(mem_key, shrinkage, value.t().contiguous(), query_key, selection, 30)
    torch.testing.assert_close(readout, value @ affinity, atol=1e-5, rtol=0)
    torch.testing.assert_close(usage, affinity.sum(1), atol=1e-4, rtol=0)
    # the share of the full softmax held by the top-k, computed the long way
    sim = similarity(mem_key, shrinkage, query_key, selection)  # N x HW
    full = torch.softmax(sim, dim=0)
    expected = (full * (affinity > 0)).sum(0)
    torch.testing.assert_close(mass, expected, atol=1e-5, rtol=0)
    assert mass.min() > 0 and mass.max() <= 1


def clip_lightness(path: str, frames: int) -> tuple[list[np.ndarray], np.ndarray]:
    """L* of the first frames of a clip, and the first frame's RGB."""
    with VideoReader(path) as reader:
        rgb = [frame for _, frame in reader.frames(0, frames)]
    return [color.luminance(f) for f in rgb], rgb[0]


def run_engine(
    network: ColorMNet, planes: list[np.ndarray], exemplar: ExemplarInput, cfg: InferenceConfig, size: tuple[int, int]
) -> tuple[torch.Tensor, InferenceEngine]:
    """Runs the engine at the processing size ``size``; its chroma at that size."""
    engine = InferenceEngine(network, cfg)
    out = [engine.step(p, exemplar if t == 0 else None, end=t == len(planes) - 1, work_size=size, size=size).ab
           for t, p in enumerate(planes)]
    return torch.from_numpy(np.stack(out)), engine


@pytest.mark.parametrize(
    ("mode", "winograd_everywhere"), [("reference", False), ("keyframe", False), ("reference", True)]
)
def test_fast_engine_matches_the_reference_on_a_real_clip(
    reference_mode: ColorMNet, realshort, mode: str, winograd_everywhere: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the test size most maps are too small for Winograd; ``winograd_everywhere`` takes it on every map, so
    that fuse1's F(2x2) (the memory keys) and the decoder's F(4x4) meet the top-k readout on a real clip."""
    if winograd_everywhere:
        monkeypatch.setattr(winograd, "MIN_TILES", 1)
    network = reference_mode
    size = (104, 110)  # one padding unit (112 x 112): a 7 x 7 grid, so the window reaches past every border
    planes, first_rgb = clip_lightness(str(realshort), 8)
    exemplar = ExemplarInput(first_rgb, mode)  # type: ignore[arg-type]
    # a short schedule, so that 8 frames go through memory frames, consolidation and long-term memory
    cfg = InferenceConfig(mem_every=2, max_mid_term_frames=3, min_mid_term_frames=2, num_prototypes=16)
    assert network.fast
    fast, fast_engine = run_engine(network, planes, exemplar, cfg, size)
    network.fast = False
    assert not network.decoder.fuser.fast and not network.short_term_attn.fast
    reference, ref_engine = run_engine(network, planes, exemplar, cfg, size)
    assert fast_engine.memory.long_term.size > 0  # consolidation happened on both paths
    assert fast_engine.memory.long_term.size == ref_engine.memory.long_term.size
    assert torch.isfinite(fast).all() and fast.abs().max() <= 1
    difference = (fast - reference).abs().max().item()
    assert difference <= 1e-4, difference
    assert np.ptp(fast[1:].numpy()) > 0  # a real prediction, not a constant
