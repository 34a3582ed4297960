"""The CPU bf16 benchmark's plumbing: its difference figures and its report section (no timing asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cpu_bf16 import difference, render_markdown
from benchmarks.report import render_markdown as render_report
from tests.test_benchmarks import fake_run


def test_difference_in_lsb() -> None:
    reference = [np.zeros((10, 10, 3), np.uint8), np.full((10, 10, 3), 255, np.uint8)]
    other = [reference[0].copy(), reference[1].copy()]
    other[0][0, 0] = (3, 2, 0)  # two values off, one of them by more than 2 LSB
    other[1][9, 9, 2] = 250  # below: no wrap-around of uint8
    d = difference(reference, other)
    assert d["max_lsb"] == 5
    assert d["share_over_2_lsb"] == 2 / 600
    assert abs(d["mean_lsb"] - 10 / 600) < 1e-12
    assert d["p999_lsb"] > 2


def _result() -> dict:
    load = [1.0, 1.5, 2.0]
    return {
        "native_bf16": True,
        "threads": 2,
        "quality": {"source": "realshort.mp4 320x240", "frames": 7, "load": load, "rows": [
            {"variant": "bf16", "mean_lsb": 0.1, "p999_lsb": 4.0, "max_lsb": 20, "share_over_2_lsb": 0.004},
        ]},
        "speed": [{"source": "480x272", "frames": 4, "load": [load, load, load], "fp32_seconds": 3.0,
                   "bf16_seconds": 1.5, "speedup": 2.0}],
    }


def test_section_states_speed_quality_and_target() -> None:
    text = render_markdown(_result())
    assert text.startswith("## CPU bf16") and "This CPU has native bf16" in text
    assert "| 480x272 | 3.00 | 1.50 | x2.00 | 1.0/1.5/2.0; 1.0/1.5/2.0; 1.0/1.5/2.0 |" in text
    assert "| bf16 | 0.100 | 4.0 | 20 | 0.40 % |" in text
    assert "at most 1 % of values more than 2 LSB off" in text
    assert "Not measured" in render_markdown(None)


def test_the_report_includes_the_section_when_measured() -> None:
    run = fake_run()
    assert "## CPU bf16" not in render_report(run)
    run["results"]["bf16"] = _result()
    assert "## CPU bf16" in render_report(run)


def test_section_names_the_cpu_it_was_measured_on() -> None:
    result = _result() | {"machine": {"cpu": "Test Xeon", "cores": 2, "threads": 2}}
    assert "This CPU (Test Xeon, 2 cores) has native bf16" in render_markdown(result)


def test_a_cpu_without_native_bf16_measures_nothing_and_says_why(monkeypatch) -> None:
    from benchmarks import cpu_bf16

    monkeypatch.setattr(cpu_bf16.engine_precision, "native_cpu_bf16", lambda: False)
    monkeypatch.setattr(cpu_bf16, "quality", lambda *args: pytest.fail("bf16 runs in fp32 here: nothing to compare"))
    result = cpu_bf16.run(quick=True)
    assert result["native_bf16"] is False and result["quality"] is None and result["speed"] == []
    text = render_markdown(result)
    assert "has no native bf16" in text and "runs in fp32 on it" in text and "| source |" not in text
    run = fake_run()
    run["results"]["bf16"] = result
    assert "none on this CPU: it has no native bf16" in render_report(run)  # the inexact options' table
