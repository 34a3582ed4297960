"""The bf16 parts benchmark keeps the parts it names in fp32, and only while it measures."""

import pytest
import torch

from benchmarks.bf16_parts import inner_parts_in_fp32, measure
from colormnet.engines.colormnet.model.key_encoder import Fuse


def test_named_modules_run_in_fp32_under_autocast_and_are_restored():
    module = Fuse(8, dino_dim=16).eval()
    dino, resnet = torch.randn(1, 16, 5, 5), torch.randn(1, 8, 5, 5)  # at ratio 1 both on one grid
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


def test_measure_reports_the_difference_to_fp32(random_weights, emulated_bf16):
    rows = measure(random_weights, 2, ["memory+decoder+dino", ""], process_size=112)  # emulated bf16 is slow
    assert [r["fp32_parts"] for r in rows] == ["memory+decoder+dino", "nothing"]
    for r in rows:
        assert 0 <= r["mean_lsb"] <= r["max_lsb"] <= 255
        assert 0 <= r["share_over_2_lsb"] <= 1
    assert rows[1]["max_lsb"] > 0  # it did run in bf16


def test_a_cpu_without_native_bf16_has_nothing_to_compare(monkeypatch, capsys):
    from benchmarks import bf16_parts

    monkeypatch.setattr(bf16_parts.engine_precision, "native_cpu_bf16", lambda: False)
    with pytest.raises(SystemExit) as ended:
        bf16_parts.main([])
    assert ended.value.code == 1 and "no native bf16" in capsys.readouterr().err


def test_speed_alternates_the_choices_and_keeps_every_round(random_weights, monkeypatch):
    from benchmarks import bf16_parts

    order = []
    monkeypatch.setattr(bf16_parts, "source_video", lambda folder, size, frames: folder / "clip.mp4")
    monkeypatch.setattr(bf16_parts, "session_seconds",
                        lambda video, weights, precision, parts, frames: order.append((precision, parts)) or len(order))
    rows = bf16_parts.speed(random_weights, "64x48", 1, ["memory", ""], rounds=2)
    assert [p for p, _ in order] == ["fp32", "bf16", "bf16"] * 2
    assert [r["choice"] for r in rows] == ["fp32", "memory", "nothing"]
    assert [r["seconds"] for r in rows] == [[1, 4], [2, 5], [3, 6]]
    assert all(len(r["load"]) == 2 for r in rows)


def test_excerpt_takes_the_frames_from_start(tmp_path):
    import av

    from benchmarks.bf16_parts import excerpt
    from benchmarks.measure import SHORT_CLIP

    clip = excerpt(tmp_path, f"{SHORT_CLIP}:3", 2)
    with av.open(str(clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 2
    with pytest.raises(SystemExit, match="PATH:START"):
        excerpt(tmp_path, str(SHORT_CLIP), 2)
