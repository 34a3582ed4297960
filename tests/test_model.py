"""The network's modules: checkpoint layout, shapes at one padding unit, and the official intermediate outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet.engines.colormnet.model.local_attention import LocalAttention, dense_local_attention
from colormnet.engines.colormnet.model.network import ColorMNet
from colormnet.engines.colormnet.weights import read_key_manifest
from tests.conftest import GOLDEN


def test_state_dict_matches_the_official_manifest_exactly() -> None:
    ours = [(k, tuple(v.shape), v.dtype) for k, v in ColorMNet().state_dict().items()]
    assert ours == [(k, tuple(s), d) for k, s, d in read_key_manifest()]


def test_random_checkpoint_reloads_strictly(random_weights) -> None:
    from colormnet.engines.colormnet.weights import load_weights

    loaded = load_weights(random_weights)
    network = ColorMNet()
    result = network.load_state_dict(loaded.state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert loaded.is_random


def test_module_shapes_at_one_padding_unit(golden_network: ColorMNet) -> None:
    torch.manual_seed(0)
    image = torch.randn(1, 3, 112, 112)
    with torch.inference_mode():
        f16, f8, f4, key, shrinkage, selection = golden_network.encode_key(image)
        assert f16.shape == (1, 1024, 7, 7) and f8.shape == (1, 512, 14, 14) and f4.shape == (1, 256, 28, 28)
        assert key.shape == selection.shape == (1, 64, 7, 7) and shrinkage.shape == (1, 1, 7, 7)
        assert shrinkage.min() >= 1 and selection.min() > 0 and selection.max() < 1
        hidden = golden_network.init_hidden(key)
        value, hidden2 = golden_network.encode_value(image, f16, hidden, torch.zeros(1, 2, 112, 112), True)
        assert value.shape == (1, 2, 512, 7, 7) and hidden2.shape == (1, 2, 64, 7, 7)
        local = golden_network.local_readout(key, key, value)
        assert local.shape == value.shape
        new_hidden, ab = golden_network.decode((f16, f8, f4), value, hidden2, update_hidden=True)
        assert ab.shape == (1, 2, 112, 112) and new_hidden.shape == hidden.shape
        assert ab.abs().max() <= 1
        same_hidden, _ = golden_network.decode((f16, f8, f4), value, hidden2, update_hidden=False)
        assert same_hidden is hidden2


def test_a_memory_key_is_the_frames_key_without_the_decoders_features(golden_network: ColorMNet) -> None:
    """An exemplar's pass skips fuse2 and fuse3 (f8, f4 feed only the decoder); what it returns is bit for bit the
    full pass's, on the fast and the literal path."""
    torch.manual_seed(2)
    image = torch.rand(1, 1, 112, 224)
    ran: list[str] = []
    hooks = [
        getattr(golden_network.key_encoder, name).register_forward_hook(lambda *_, name=name: ran.append(name))
        for name in ("fuse1", "fuse2", "fuse3")
    ]
    try:
        with torch.inference_mode():
            for fast in (True, False):
                golden_network.fast = fast
                f16, _, _, *projected = golden_network.encode_key(image)
                ran.clear()
                memory = golden_network.encode_memory_key(image)
                assert ran == ["fuse1"]
                assert all(torch.equal(a, b) for a, b in zip(memory, (f16, *projected), strict=True))
    finally:
        golden_network.fast = True
        for hook in hooks:
            hook.remove()


@pytest.mark.parametrize("size", [(7, 7), (9, 14), (3, 20)])
def test_windowed_local_attention_equals_the_dense_reference(size: tuple[int, int]) -> None:
    torch.manual_seed(1)
    module = LocalAttention(key_dim=16, value_dim=32, radius=7).eval()
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)
    q, k = torch.randn(1, 16, *size), torch.randn(1, 16, *size)
    v = torch.randn(1, 32, *size)
    with torch.inference_mode():
        fast = module(q, k, v)
        dense = dense_local_attention(module, q, k, v)
    assert torch.allclose(fast, dense, atol=1e-5), (fast - dense).abs().max()


def test_local_attention_ignores_positions_outside_the_image() -> None:
    torch.manual_seed(2)
    module = LocalAttention(key_dim=8, value_dim=4, radius=2).eval()
    q = torch.randn(1, 8, 3, 3)
    attn = module.attention(q, torch.randn(1, 8, 3, 3))
    assert torch.allclose(attn.sum(1), torch.ones(1, 3, 3))
    # the top-left pixel cannot see offsets with dy < 0 or dx < 0
    assert attn[0, 0, 0, 0] == 0 and attn[0, 12, 0, 0] > 0


def record_calls(network: ColorMNet) -> tuple[dict[str, list], list]:
    """Forward hooks storing the outputs of the four modules the golden data records.

    The key encoder's f16 is its ``fuse1`` output: an exemplar's pass computes only that one of the three.
    """
    calls: dict[str, list] = {"key_encoder": [], "key_proj": [], "value_encoder": [], "decoder": []}
    handles = []
    for name, store in calls.items():
        module = network.key_encoder.fuse1 if name == "key_encoder" else getattr(network, name)
        handles.append(module.register_forward_hook(lambda m, i, o, store=store: store.append(o)))
    return calls, handles


def test_intermediate_outputs_match_the_official_first_calls(golden_network: ColorMNet) -> None:
    from colormnet.config import InferenceConfig
    from colormnet.engines.base import ExemplarInput
    from colormnet.engines.colormnet.inference.engine import InferenceEngine

    inputs = np.load(GOLDEN / "official_inputs.npz")
    golden = np.load(GOLDEN / "official_first_calls_reference.npz")
    calls, handles = record_calls(golden_network)
    try:
        engine = InferenceEngine(golden_network, InferenceConfig())
        exemplar = ExemplarInput(np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB")), "reference")
        engine.step(inputs["frames_L"][0] * np.float32(50) + np.float32(50), exemplar)
        engine.step(inputs["frames_L"][1] * np.float32(50) + np.float32(50))
    finally:
        for h in handles:
            h.remove()
    checked = 0
    for name in golden.files:
        module, call, out = name.rsplit("_", 2)
        ours = calls[module][int(call[4:])]
        ours = ours if module == "key_encoder" else ours[int(out[3:])]  # f16 alone
        np.testing.assert_allclose(ours.numpy(), golden[name], atol=1e-4, rtol=0, err_msg=name)
        checked += 1
    assert checked == len(golden.files) == 15
