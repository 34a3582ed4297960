"""The bf16 parts benchmark keeps the parts it names in fp32, and only while it measures."""

import torch

from benchmarks.bf16_parts import inner_parts_in_fp32, measure
from colormnet.engines.colormnet.model.key_encoder import Fuse


def test_named_modules_run_in_fp32_under_autocast_and_are_restored():
    module = Fuse(8, dino_dim=16).eval()
    dino, resnet = torch.randn(1, 16, 5, 5), torch.randn(1, 8, 10, 10)
    seen = []
    module.encode_enc.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))  # a convolution inside
    forward = Fuse.forward
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        module(dino, resnet, ratio=1)
        with inner_parts_in_fp32({"fuse"}):
            module(dino, resnet, ratio=1)
        module(dino, resnet, ratio=1)
    assert seen == [torch.bfloat16, torch.float32, torch.bfloat16]
    assert Fuse.forward is forward


def test_measure_reports_the_difference_to_fp32(random_weights):
    rows = measure(random_weights, 2, ["memory+decoder+dino", ""])
    assert [r["fp32_parts"] for r in rows] == ["memory+decoder+dino", "nothing"]
    for r in rows:
        assert 0 <= r["mean_lsb"] <= r["max_lsb"] <= 255
        assert 0 <= r["share_over_2_lsb"] <= 1
