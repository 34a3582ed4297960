"""The GPU pipeline benchmark runs anywhere with ``--quick`` (on the CPU here) and reports both figures and their
ratio (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import gpu_pipeline


def test_quick_run_reports_model_only_and_end_to_end_throughput(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gpu.json"
    result = gpu_pipeline.main(["--quick", "--device", "cpu", "--precision", "fp32", "--weights", str(random_weights),
                                "--json", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    (row,) = result["rows"]  # type: ignore[misc]
    assert row["source"] == "112x80" and row["processing"] == "112x80"
    assert row["model_seconds_per_frame"] > 0 and row["session_seconds_per_frame"] > 0
    assert row["ratio"] == pytest.approx(row["model_seconds_per_frame"] / row["session_seconds_per_frame"])
    printed = capsys.readouterr().out
    assert "112x80 (model at 112x80): model only" in printed and "of the model's pace (target 80%)" in printed
