"""The processing-size benchmark: its chroma-upsampling figure and its place in the report (no timing asserted)."""

from __future__ import annotations

import numpy as np

from benchmarks.measure import SHORT_CLIP
from benchmarks.process_size import _spread_frames, chroma_loss, render_markdown
from benchmarks.report import render_markdown as render_report
from tests.test_benchmarks import fake_run


def test_chroma_at_the_source_size_costs_nothing_and_smaller_costs_more() -> None:
    frames = _spread_frames(SHORT_CLIP, 2)
    assert len(frames) == 2 and frames[0].shape == (240, 320, 3)
    assert not np.array_equal(frames[0], frames[1])  # spread over the clip, not its first frame twice
    same = chroma_loss(frames, 240)
    assert same["max_lsb"] == 0
    two_thirds, half = chroma_loss(frames, 160), chroma_loss(frames, 120)
    assert 0 < two_thirds["mean_lsb"] < half["mean_lsb"]
    assert two_thirds["share_over_2_lsb"] < half["share_over_2_lsb"]


def _result() -> dict:
    row = {"mean_lsb": 0.5, "p999_lsb": 9.0, "max_lsb": 30, "share_over_2_lsb": 0.02}
    return {"machine": {"threads": 2}, "source": "cockatoo.mp4 1280x720", "frames": 8,
            "load": [[1.0, 1.0, 1.0], [1.5, 1.0, 1.0]],
            "rows": [{"process_size": 720, "seconds_per_frame": 12.0},
                     {"process_size": 540, "seconds_per_frame": 7.0, **row},
                     {"process_size": 360, "seconds_per_frame": 3.0, **row, "mean_lsb": 1.25}]}


def test_section_and_inexact_option_row() -> None:
    text = render_markdown(_result())
    assert text.startswith("## Processing size") and "(at the source's own 720: 12.00 s/frame)" in text
    assert "| 540 | 7.00 | 0.500 | 9.0 | 30 | 2.00 % |" in text and "| 360 | 3.00 | 1.250 |" in text
    assert "Not measured" in render_markdown(None)
    run = fake_run()
    assert "## Processing size" not in render_report(run)
    assert "not measured in this run (`--only size`)" in render_report(run)
    run["results"]["size"] = _result()
    report = render_report(run)
    assert "## Processing size" in report
    assert "every colour right: mean 0.500 LSB, max 30 LSB, 2.00 % of values more than 2 LSB off" in report
