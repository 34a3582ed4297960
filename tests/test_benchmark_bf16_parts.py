"""The bf16 parts benchmark keeps the parts it names in fp32, and only while it measures."""

import torch

from benchmarks.bf16_parts import inner_parts_in_fp32, measure
from colormnet.engines.colormnet.model.key_encoder import KeyProjection


def test_named_modules_run_in_fp32_under_autocast_and_are_restored():
    module = KeyProjection(in_dim=8, key_dim=4).eval()
    x = torch.randn(1, 8, 5, 5)
    forward = KeyProjection.forward
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert module(x)[0].dtype == torch.bfloat16
        with inner_parts_in_fp32({"key_projection"}):
            assert module(x)[0].dtype == torch.float32
        assert module(x)[0].dtype == torch.bfloat16
    assert KeyProjection.forward is forward


def test_measure_reports_the_difference_to_fp32(random_weights):
    rows = measure(random_weights, 2, ["memory+decoder+dino", ""])
    assert [r["fp32_parts"] for r in rows] == ["memory+decoder+dino", "nothing"]
    for r in rows:
        assert 0 <= r["mean_lsb"] <= r["max_lsb"] <= 255
        assert 0 <= r["share_over_2_lsb"] <= 1
