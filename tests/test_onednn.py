"""Linear layers through oneDNN's 1x1 convolution: the same values, the same parameters, the literal path kept."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colormnet.engines.colormnet.model.dinov2 import VisionTransformer
from colormnet.engines.colormnet.model.onednn import Linear, linear


@pytest.mark.parametrize("shape", [(7, 12), (2, 9, 12), (1, 1, 12), (3, 1, 4, 12)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_equals_f_linear(shape: tuple[int, ...], with_bias: bool) -> None:
    torch.manual_seed(0)
    x, weight = torch.randn(*shape), torch.randn(20, 12)
    bias = torch.randn(20) if with_bias else None
    with torch.inference_mode():
        out = linear(x, weight, bias)
    assert out.shape == (*shape[:-1], 20)
    assert out.is_contiguous()
    torch.testing.assert_close(out, F.linear(x, weight, bias), atol=1e-5, rtol=0)


def test_linear_runs_a_convolution_not_a_matrix_product() -> None:
    x, weight, bias = torch.randn(2, 9, 12), torch.randn(20, 12), torch.randn(20)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        linear(x, weight, bias)
    ops = {event.key for event in prof.key_averages()}
    assert "aten::convolution" in ops
    assert not ops & {"aten::addmm", "aten::mm", "aten::matmul", "aten::linear"}


def test_a_strided_input_takes_f_linear_with_the_same_result() -> None:
    torch.manual_seed(1)
    x = torch.randn(12, 9).t()  # 9 x 12, not contiguous: no channels-last view of it exists
    weight, bias = torch.randn(5, 12), torch.randn(5)
    torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=0, rtol=0)


def test_an_empty_input_gives_an_empty_output() -> None:
    out = linear(torch.empty(0, 12), torch.randn(5, 12), torch.randn(5))
    assert out.shape == (0, 5)


def test_linear_under_cpu_bf16_autocast_computes_in_bf16() -> None:
    torch.manual_seed(2)
    x, weight, bias = torch.randn(30, 16), torch.randn(8, 16), torch.randn(8)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out, literal = linear(x, weight, bias), F.linear(x, weight, bias)
    assert out.dtype == literal.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), literal.float(), atol=0.1, rtol=0.02)


def test_linear_module_keeps_nn_linear_parameters_and_its_literal_path() -> None:
    torch.manual_seed(3)
    layer, plain = Linear(12, 6), torch.nn.Linear(12, 6)
    plain.load_state_dict(layer.state_dict(), strict=True)  # the checkpoint's names and shapes
    x = torch.randn(4, 5, 12)
    with torch.inference_mode():
        torch.testing.assert_close(layer(x), plain(x), atol=1e-5, rtol=0)
        layer.fast = False
        torch.testing.assert_close(layer(x), plain(x), atol=0, rtol=0)  # the literal path is nn.Linear itself


def test_vit_routes_every_linear_layer_through_onednn_on_the_fast_path() -> None:
    vit = VisionTransformer(dim=24, depth=2, num_heads=2, pos_grid=4)
    linears = [m for m in vit.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 2 * 4  # qkv, proj, fc1, fc2 per block
    assert all(isinstance(m, Linear) and m.fast for m in linears)
