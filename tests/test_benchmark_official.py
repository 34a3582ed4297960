"""The same-machine comparison with the official code: its figures, commands and report, without the official code.

Nothing here needs the official harness; the part's own run is a benchmark (``python -m benchmarks --only
official``), never a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import official
from benchmarks.report import render_markdown, render_table
from colormnet.cli.parser import build_parser
from colormnet.exemplar_spec import parse_exemplars
from tests.test_benchmarks import fake_run


def test_compare_counts_lsb_values_and_pixels() -> None:
    a = [np.zeros((10, 10, 3), np.uint8), np.full((10, 10, 3), 255, np.uint8)]
    b = [a[0].copy(), a[1].copy()]
    b[0][0, 0] = (3, 2, 0)  # one pixel: a value 3 LSB off, one 2 LSB off
    b[0][5, 5, 1] = 1  # 1 LSB: neither share counts it
    b[1][9, 9, 2] = 253  # 2 LSB below 255, no uint8 wrap-around
    q = official.compare(a, b)
    assert q["frames"] == 2 and q["max_lsb"] == 3
    assert q["mean_lsb"] == pytest.approx(8 / 600)
    assert q["share_values_over_2_lsb"] == 1 / 600
    assert q["share_pixels_at_2_lsb"] == 2 / 200
    assert not official.quality_met(q)  # 3 LSB is over the limit
    assert official.quality_met(official.compare(a, a))


def test_compare_refuses_outputs_that_do_not_pair_up() -> None:
    with pytest.raises(ValueError, match="frame count or size"):
        official.compare([np.zeros((4, 4, 3), np.uint8)], [np.zeros((4, 6, 3), np.uint8)])
    with pytest.raises(ValueError, match="frame count or size"):
        official.compare([np.zeros((4, 4, 3), np.uint8)], [])


def test_the_part_skips_in_one_line_without_the_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_WORK", str(tmp_path / "nowhere"))
    monkeypatch.setenv("OFFICIAL_HARNESS", str(tmp_path))
    result = official.run(quick=True)
    assert set(result) == {"skipped"} and "run_official.py" in result["skipped"]
    (tmp_path / "run_official.py").write_text("")
    result = official.run(quick=True)
    assert "the official code is not at" in result["skipped"]
    section = official.render_markdown(result).strip().splitlines()
    assert section[0] == "## Against the official code, same machine" and section[-1].startswith("Not measured: ")
    assert len(section) == 3 and official.target_rows(result) == []
    assert official.render_line(result).startswith("official: not measured (")


def test_a_failing_side_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "official" / "model").mkdir(parents=True)
    (tmp_path / "random_seed0.pth").write_bytes(b"")
    (tmp_path / "run_official.py").write_text("import sys; sys.exit('no official code here')")
    monkeypatch.setenv("PARITY_WORK", str(tmp_path))
    monkeypatch.setenv("OFFICIAL_HARNESS", str(tmp_path))
    result = official.run(quick=True)
    assert result == {"error": "run_official.py failed (exit status 1): no official code here"}
    assert official.render_markdown(result).strip().endswith("Not measured: " + result["error"])
    assert official.target_rows(result) == []


def test_both_sides_run_the_same_mode_precision_and_size(tmp_path: Path) -> None:
    harness = official.Harness(tmp_path / "run_official.py", tmp_path, tmp_path / "random_seed0.pth")
    frames, exemplar, out = tmp_path / "frames", tmp_path / "ex.png", tmp_path / "out"
    theirs = official.official_command(harness, frames, exemplar, out, threads=2)
    assert "--first-frame-is-exemplar" not in theirs  # the script's default: a reference exemplar
    assert theirs[theirs.index("--threads") + 1] == "2"
    ours = official.our_command(harness.checkpoint, frames, exemplar, out, short_side=536)
    args = build_parser().parse_args(ours[ours.index("colorize"):])
    assert (args.device, args.precision, args.process_size, args.shots, args.codec) == ("cpu", "fp32", 536, "off",
                                                                                          "png")
    assert Path(args.weights) == harness.checkpoint
    [spec] = parse_exemplars(args.exemplar, args.extra_reference, args.kind)
    assert (spec.frame, spec.kind, spec.image) == (0, "reference", exemplar)


def test_a_process_is_timed_whole_and_a_failure_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; from PIL import Image; p = Path(sys.argv[1]); p.mkdir(); "
            "Image.new('RGB', (4, 4)).save(p / '00000.png'); sum(range(10**6))")
    timing = official.timed_process([sys.executable, "-c", code, str(out)], out, env={})
    assert timing["frames"] == 1 and timing["cpu_s"] > 0 and 0 < timing["to_last_png_s"] <= timing["wall_s"] + 0.01
    assert len(timing["load"]) == 2 and len(timing["load"][0]) == 3
    with pytest.raises(RuntimeError, match=r"exit status 3\): boom"):
        official.timed_process([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"],
                               tmp_path / "none", env={})


def test_inputs_are_grayscale_frames_and_a_colour_exemplar(tmp_path: Path) -> None:
    frames, exemplar = official.write_inputs(tmp_path, "96x54", 3)
    pngs = official.read_pngs(frames)
    assert len(pngs) == 3 and pngs[0].shape == (54, 96, 3)
    assert all(np.array_equal(p[..., 0], p[..., 2]) for p in pngs) and pngs[1].std() > 5
    [colour] = official.read_pngs(exemplar.parent)  # the folder holds the exemplar alone
    assert colour.shape == (54, 96, 3) and np.abs(colour[..., 0].astype(int) - colour[..., 2]).mean() > 1


def result(fastest_official: float = 80.0, max_lsb: int = 1, quick: bool = False) -> dict:
    load = [1.0, 1.2, 1.4]

    def side(walls: tuple[float, float], cpus: tuple[float, float]) -> dict:
        runs = [{"wall_s": w, "cpu_s": c, "to_last_png_s": w - 1, "frames": 8, "load": [load, load]}
                for w, c in zip(walls, cpus, strict=True)]
        return {"runs": runs, "wall_s": sum(walls) / 2, "cpu_s": sum(cpus) / 2, "to_last_png_s": sum(walls) / 2 - 1}

    return {
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.x", "threads": 2, "native_bf16": False},
        "quick": quick, "source": "cockatoo.mp4 frames 0-7, 960x536, grayscale", "size": "960x536", "frames": 8,
        "rounds": 2,
        "precision": "fp32", "mode": official.MODE, "measured": "2026-12-06 04:00 UTC",
        "official": side((fastest_official, 120.0), (150.0, 230.0)),
        "ours": side((40.0, 40.0), (76.0, 76.0)),
        "speedup_wall": 2.5, "speedup_cpu": 2.5,
        "quality": {"frames": 8, "mean_lsb": 0.01, "max_lsb": max_lsb, "share_values_over_2_lsb": 0.0,
                    "share_pixels_at_2_lsb": 0.0},
        "load": [load, load],
    }


def test_targets_are_judged_only_on_the_targets_run() -> None:
    rows = official.target_rows(result())  # judged on the fastest runs: 80 s / 40 s
    assert "official 80.0 s / ours 40.0 s = x2.00 (fastest of 2 each; medians x2.50, CPU time x2.50) | met |" in rows[0]
    assert "max 1 LSB, 0.000 % of pixels at 2 LSB | met |" in rows[1]
    rows = official.target_rows(result(fastest_official=79.0, max_lsb=3))
    assert rows[0].endswith("| not met |") and rows[1].endswith("| not met |")
    quick = result(quick=True)
    assert all(row.endswith("| not judged |") for row in official.target_rows(quick))


def test_the_report_uses_the_same_machine_official_figure_and_lists_inexact_options() -> None:
    run = fake_run()
    text = render_markdown(run)
    fallback = "the specification quotes 7.7-7.9 s/frame for the official code on another machine"
    assert fallback in text
    assert "not judged: the official code was not timed on this machine" in text
    assert "## Against the official code, same machine" not in text
    run["results"]["official"] = result()
    text = render_markdown(run)
    assert fallback not in text and "x2.00 (fastest of 2 each; medians x2.50, CPU time x2.50) | met |" in text
    assert "## Against the official code, same machine" in text and "Test CPU (2 cores, without native bf16)" in text
    assert "| official code | **80.0** | 100.0 | 190.0 | 99.0 | 80.0 / 150.0 (1.0/1.2/1.4 -> 1.0/1.2/1.4); 120" in text
    assert "Speed-up: **x2.00** between the fastest runs of each side, x2.50 between the medians, x2.50 in CPU" in text
    assert "## Inexact options and their quality cost" in text
    assert "against the official code's PNGs: mean 1.0e-02 LSB, max 1 LSB" in text
    assert "| `--precision bf16` on the CPU" in text and "not measured in this run (`--only bf16`)" in text
    assert "official 80.0 s, ours 40.0 s whole process (fastest runs): x2.00 (medians x2.50, CPU x2.50)" in \
        render_table(run)
    run["results"]["official"] = {"skipped": "the official code is not at /x"}
    text = render_markdown(run)
    assert "Not measured: the official code is not at /x." in text and fallback in text


def test_every_speed_figure_names_its_precision() -> None:
    run = fake_run()
    assert "| 960x536 | cpu, fp32 | **3.00** |" in render_markdown(run)
    run["results"]["speed"][0] |= {"device": "cuda", "precision": "fp16"}
    assert "| 960x536 | cuda, fp16 | **3.00** |" in render_markdown(run)
