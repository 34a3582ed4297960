"""The key encoder's channels-last fast path on the CPU: the same values as the literal layout, the usual layout out."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from colormnet.engines.colormnet.model.blocks import LayerNorm2d, is_channels_last
from colormnet.engines.colormnet.model.dinov2 import VisionTransformer
from colormnet.engines.colormnet.model.key_encoder import CrossChannelAttention, Fuse, KeyEncoder, _column_norms
from colormnet.engines.colormnet.model.value_encoder import ValueEncoder
from tests.conftest import literal_path

CL = torch.channels_last


def _randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``module`` in eval mode with every parameter drawn at random (LayerNorm's ones and zeros would hide a mix-up
    of weight and bias)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return module.eval()


def test_is_channels_last_tells_the_layouts_apart() -> None:
    x = torch.randn(1, 4, 3, 5)
    assert not is_channels_last(x)
    assert is_channels_last(x.contiguous(memory_format=CL))
    assert not is_channels_last(torch.randn(1, 1, 3, 5).contiguous(memory_format=CL))  # both layouts at once


def test_layer_norm_of_a_channels_last_map_equals_the_literal_formula() -> None:
    norm = _randomised(LayerNorm2d(12), 0)
    x = torch.randn(2, 12, 5, 7) * 3 + 1
    with torch.inference_mode():
        fast = norm(x.contiguous(memory_format=CL))
        norm.fast = False
        literal = norm(x)
    assert is_channels_last(fast)
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)


@pytest.mark.parametrize("rows", [1024, 3])
def test_column_norms_in_blocks_equal_the_norms(rows: int) -> None:
    x = torch.randn(100, 7)
    torch.testing.assert_close(_column_norms(x, rows), x.norm(dim=0), atol=1e-5, rtol=1e-6)


def test_column_norms_of_bf16_values_are_summed_in_fp32() -> None:
    x = torch.randn(20000, 4).bfloat16()
    norms = _column_norms(x, 1000)
    assert norms.dtype == torch.float32
    torch.testing.assert_close(norms, x.double().norm(dim=0).float(), atol=0, rtol=1e-5)


@pytest.mark.parametrize("batch", [1, 2])
def test_channel_attention_on_channels_last_maps_equals_the_literal_one(batch: int) -> None:
    attention = _randomised(CrossChannelAttention(16, num_heads=4), 1)
    x, context = torch.randn(batch, 16, 6, 9), torch.randn(batch, 16, 6, 9)
    with torch.inference_mode():
        fast = attention(x.contiguous(memory_format=CL), context.contiguous(memory_format=CL))
        literal = attention(x, context)  # row-major maps take the literal form
    assert fast.shape == literal.shape == (batch, 16, 6, 9)
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)


@pytest.mark.parametrize("batch", [1, 2])
def test_channel_attention_under_cpu_bf16_autocast_takes_each_heads_own_channels(batch: int) -> None:
    attention = _randomised(CrossChannelAttention(16, num_heads=4), 3)
    exact_attention = copy.deepcopy(attention).double()
    x, context = torch.randn(batch, 16, 6, 9), torch.randn(batch, 16, 6, 9)
    seen = []
    attention.to_q.register_forward_hook(lambda _m, _args, out: seen.append(out.dtype))
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = attention(x.contiguous(memory_format=CL), context.contiguous(memory_format=CL))
        exact = exact_attention(x.double(), context.double())
    assert seen == [torch.bfloat16]  # the affinities come from bf16 maps
    assert fast.shape == (batch, 16, 6, 9)
    torch.testing.assert_close(fast.double(), exact, atol=0.03 * exact.abs().max().item(), rtol=0)


@pytest.mark.parametrize("ratio", [1, 2])
def test_fuse_block_runs_channels_last_inside_and_returns_the_usual_layout(ratio: int) -> None:
    fuse = _randomised(Fuse(16, dino_dim=24), 2)
    dino, resnet = torch.randn(1, 24, 4, 5), torch.randn(1, 16, 4 * ratio, 5 * ratio)
    seen = []
    fuse.crossattn.register_forward_hook(lambda _m, args, _out: seen.append(all(map(is_channels_last, args))))
    with torch.inference_mode():
        fast = fuse(dino, resnet, ratio)
        literal_path(fuse)
        literal = fuse(dino, resnet, ratio)
    assert seen == [True, False]
    assert fast.is_contiguous()
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)
    assert F.relu(fast).equal(fast)


def test_fuse_block_under_cpu_bf16_autocast_returns_what_the_literal_path_returns() -> None:
    fuse = _randomised(Fuse(16, dino_dim=24), 5)
    dino, resnet = torch.randn(1, 24, 4, 5), torch.randn(1, 16, 16, 20)
    with torch.inference_mode():
        exact = fuse(dino, resnet, 4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = fuse(dino, resnet, 4)
            literal_path(fuse)
            literal = fuse(dino, resnet, 4)
    assert fast.dtype == literal.dtype == torch.float32
    scale = exact.abs().max().item()
    fast_error, literal_error = (fast - exact).abs().max().item(), (literal - exact).abs().max().item()
    assert fast_error <= max(2 * literal_error, 0.02 * scale)


def test_value_encoder_trunk_runs_channels_last_with_the_literal_values() -> None:
    encoder = _randomised(ValueEncoder(value_dim=32, hidden_dim=8), 3)
    for m in encoder.modules():  # batch norms need a positive running variance
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2.0)
    image, chroma = torch.rand(1, 1, 64, 48), torch.rand(1, 2, 64, 48) * 2 - 1
    f16, hidden = torch.randn(1, 1024, 4, 3), torch.randn(1, 2, 8, 4, 3)
    seen = []
    encoder.layer1.register_forward_pre_hook(lambda _m, args: seen.append(is_channels_last(args[0])))
    with torch.inference_mode():
        value, new_hidden = encoder(image, f16, hidden, chroma, True)
        literal_path(encoder)
        literal_value, literal_hidden = encoder(image, f16, hidden, chroma, True)
    assert seen == [True, False]
    assert value.is_contiguous() and new_hidden.is_contiguous()
    torch.testing.assert_close(value, literal_value, atol=1e-4 * literal_value.abs().max().item(), rtol=0)
    torch.testing.assert_close(new_hidden, literal_hidden, atol=1e-5, rtol=0)


def test_key_encoder_trunk_runs_channels_last_and_returns_row_major_features() -> None:
    torch.manual_seed(4)
    encoder = KeyEncoder(VisionTransformer(dim=384, depth=4, num_heads=6, pos_grid=4)).eval()
    seen = []
    encoder.res2.register_forward_pre_hook(lambda _m, args: seen.append(is_channels_last(args[0])))
    x = torch.rand(1, 1, 112, 112)
    with torch.inference_mode():
        fast = encoder(x)
        literal_path(encoder)
        literal = encoder(x)
    assert seen == [True, False]
    for got, expected in zip(fast, literal, strict=True):
        assert got.is_contiguous()
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
