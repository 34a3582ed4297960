"""The bf16 kernel benchmark: its oneDNN setting is put back, and its forms compute what they claim."""

import pytest
import torch

from benchmarks import bf16_kernels


def _precisions() -> tuple[str, str]:
    return torch.backends.mkldnn.conv.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision


def test_fpmath_is_restored_even_after_an_error():
    before = _precisions()
    with pytest.raises(RuntimeError), bf16_kernels.fpmath("bf16", "bf16"):
        assert _precisions() == ("bf16", "bf16")
        raise RuntimeError("stop")
    assert _precisions() == before


def test_each_form_is_timed_and_checked_against_float64(monkeypatch, capsys):
    monkeypatch.setattr(bf16_kernels, "CONV", (1, 8, 8, 12, 16))
    monkeypatch.setattr(bf16_kernels, "LINEAR", (32, 16, 24))
    monkeypatch.setattr(bf16_kernels, "ATTENTION", (2, 40, 8))
    before = _precisions()
    bf16_kernels.main(["--rounds", "1", "--threads", "1"])
    assert _precisions() == before
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] != "kernel, form" and not cells[0].startswith("---"):
            rows[cells[0]] = float(cells[3])
    assert len(rows) == 12
    assert all(error < 1e-5 for label, error in rows.items() if label.endswith(("fp32", "fp32 channels-last")))
    # bf16 operands keep 8 bits of mantissa: a relative error of a few 1e-3, whether computed natively or emulated
    # the split too: each of its three bf16 convolutions returns a bf16 result
    rounded = [error for label, error in rows.items() if "bf16" in label and "fpmath" not in label]
    assert len(rounded) == 5 and all(1e-4 < error < 5e-2 for error in rounded)
