"""``colormnet eval``: loading and aligning PRED and GT (videos and image folders), the per-frame and summary
figures, JSON and CSV output, LPIPS and FID from weight files, and every mismatch ending in one clear error."""

from __future__ import annotations

import argparse
import csv
import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colormnet.cli.evaluate import add_eval_parser, cmd_eval
from colormnet.color import resize_rgb
from colormnet.errors import OutputError, VideoError
from colormnet.evaluate import FID_SKIPPED, LPIPS_SKIPPED, evaluate, parse_frames
from colormnet.metrics import channel_histograms, color_distribution_consistency, colorfulness, js_divergence
from colormnet.perceptual import LPIPS, InceptionFeatures
from colormnet.video import VideoReader, VideoWriter

N = 6  # frames of realshort.mp4 used as ground truth


def write_folder(path: Path, frames: Sequence[np.ndarray], codec: str = "png") -> Path:
    height, width = frames[0].shape[:2]
    with VideoWriter(path, codec, width=width, height=height) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def miscolor(frame: np.ndarray, k: int) -> np.ndarray:
    """A plausible wrong colorization: channels partly rotated, more so for later frames."""
    mixed = frame.astype(np.float64) * (1 - 0.1 * k) + frame[..., [2, 0, 1]].astype(np.float64) * 0.1 * k
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def clips(realshort: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("clips")
    with VideoReader(realshort) as reader:
        gt = [reader.read(i) for i in range(N)]
    pred = [miscolor(f, k) for k, f in enumerate(gt)]
    return {
        "gt": gt,
        "pred": pred,
        "gt_dir": write_folder(folder / "gt", gt),
        "pred_dir": write_folder(folder / "pred", pred),
        "gt_16bit_dir": write_folder(folder / "gt16", [f.astype(np.uint16) * 257 for f in gt], "png16"),
    }


def run_eval(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Parses ``colormnet eval ARGS`` with the subcommand's own parser and runs it."""
    parser = argparse.ArgumentParser(prog="colormnet")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true")
    add_eval_parser(parser.add_subparsers(dest="command", required=True), [common])
    code = cmd_eval(parser.parse_args(["eval", *(str(a) for a in args)]))
    out, err = capsys.readouterr()
    return code, out, err


def test_folders_scores_match_scikit_image_frame_by_frame(clips: dict) -> None:
    report = evaluate(clips["pred_dir"], clips["gt_dir"])
    assert [f.index for f in report.frames] == list(range(N)) == [f.gt_index for f in report.frames]
    assert (report.width, report.height, report.gt_resized) == (320, 240, False)
    assert report.frames[0].psnr == math.inf  # frame 0 is left as it was
    for k, f in enumerate(report.frames[1:], start=1):
        p, g = clips["pred"][k], clips["gt"][k]
        assert f.psnr == pytest.approx(peak_signal_noise_ratio(g, p, data_range=255), abs=1e-9)
        assert f.ssim == pytest.approx(structural_similarity(p, g, channel_axis=-1, data_range=255), abs=1e-6)
        assert f.colorfulness == pytest.approx(colorfulness(p)) and f.gt_colorfulness == pytest.approx(colorfulness(g))
        assert f.lpips is None
    assert report.frames[1].psnr > report.frames[-1].psnr  # the colours drift further frame by frame
    next_js = js_divergence(channel_histograms(clips["pred"][2]), channel_histograms(clips["pred"][3])).mean()
    assert report.frames[2].cdc_next == pytest.approx(next_js, abs=1e-12)
    assert math.isnan(report.frames[-1].cdc_next)
    summary = report.summary()
    finite = [f.psnr for f in report.frames[1:]]
    assert summary["psnr"] == pytest.approx(np.mean(finite)) and summary["psnr_identical_frames"] == 1
    assert summary["ssim"] == pytest.approx(np.mean([f.ssim for f in report.frames]))
    expected_cdc = color_distribution_consistency([channel_histograms(p) for p in clips["pred"]])
    assert summary["cdc"] == pytest.approx(expected_cdc.mean, abs=1e-12)
    assert summary["cdc_d4"] == pytest.approx(expected_cdc.by_dilation[4], abs=1e-12)
    assert summary["gt_cdc"] != summary["cdc"]
    assert summary["lpips"] is None and summary["fid"] is None
    assert report.notes == [LPIPS_SKIPPED, FID_SKIPPED]


def test_video_against_its_decoded_frames_and_16_bit_folders(realshort: Path, clips: dict) -> None:
    report = evaluate(realshort, clips["gt_dir"], frames=(0, N))
    assert [f.psnr for f in report.frames] == [math.inf] * N
    assert report.summary()["psnr"] == math.inf and report.summary()["ssim"] == pytest.approx(1.0)
    as16 = evaluate(clips["gt_16bit_dir"], clips["gt_dir"])
    assert [f.psnr for f in as16.frames] == [math.inf] * N  # 16-bit values round back to the 8-bit originals


def test_gt_start_pairs_pred_frame_zero_with_a_later_gt_frame(realshort: Path, clips: dict, tmp_path: Path) -> None:
    later = write_folder(tmp_path / "later", clips["gt"][2:5])
    with pytest.raises(VideoError, match="3 frames but GT has 34 from frame 2 on; pass --frames 0:3"):
        evaluate(later, realshort, gt_start=2)
    report = evaluate(later, realshort, gt_start=2, frames=(0, None))
    assert [(f.index, f.gt_index) for f in report.frames] == [(0, 2), (1, 3), (2, 4)]
    assert all(f.psnr == math.inf for f in report.frames)
    shifted = evaluate(later, realshort, gt_start=1, frames=(0, None))
    assert all(math.isfinite(f.psnr) for f in shifted.frames)


def test_a_rendered_range_numbered_from_its_source_frames_is_pointed_at_them(realshort: Path, clips: dict,
                                                                             tmp_path: Path) -> None:
    """``colorize --frames 2:5`` into a folder writes 00002.png to 00004.png: GT's frames 2 to 4, not 0 to 2."""
    rendered = tmp_path / "range"
    rendered.mkdir()
    for number, frame in enumerate(clips["gt"][2:5], start=2):
        Image.fromarray(frame).save(rendered / f"{number:05d}.png")
    with pytest.raises(VideoError, match=r"^PRED has 3 frames, numbered from 2, but GT has 36; pass --gt-start 2 "
                                         r"--frames 0:3 to compare them with GT's frames 2 to 4\.$"):
        evaluate(rendered, realshort)
    report = evaluate(rendered, realshort, gt_start=2, frames=(0, 3))
    assert all(f.psnr == math.inf for f in report.frames)


def test_a_rendered_range_in_a_video_file_is_pointed_at_its_source_frames_by_its_record(
        realshort: Path, clips: dict, tmp_path: Path) -> None:
    """``colorize --frames 2:5 -o range.mkv`` starts the file at source frame 2; its record says so."""
    rendered = tmp_path / "range.mkv"
    write_folder(rendered, clips["gt"][2:5], codec="ffv1")
    record = tmp_path / "range.mkv.colormnet.json"
    record.write_text(json.dumps({"program": "colormnet 0.1.0", "output": {"file": "range.mkv", "frames": [2, 5]}}))
    with pytest.raises(VideoError, match=r"^PRED has 3 frames, rendered from source frame 2 \(as "
                                         r"range\.mkv\.colormnet\.json records\), but GT has 36; pass --gt-start 2 "
                                         r"--frames 0:3 to compare them with GT's frames 2 to 4\.$"):
        evaluate(rendered, realshort)
    # a record that does not describe this file's frames is ignored
    record.write_text(json.dumps({"program": "colormnet 0.1.0", "output": {"file": "range.mkv", "frames": [2, 9]}}))
    with pytest.raises(VideoError, match=r"^PRED has 3 frames but GT has 36 from frame 0 on"):
        evaluate(rendered, realshort)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"PRED has 36 frames but GT has 6 from frame 0 on; pass --frames 0:6"),
        ({"frames": (0, 7)}, r"GT has no frame 6 to compare with PRED frame 6"),
        ({"frames": (5, 40)}, r"--frames 5:40 is outside PRED, which has frames 0 to 35"),
        ({"frames": (3, 3)}, r"--frames 3:3 holds no frame: A:B runs from PRED frame A up to, not including, B"),
        ({"frames": (7, 3)}, r"--frames 7:3 holds no frame"),
        ({"frames": (36, None)}, r"--frames 36:36 is outside PRED, which has frames 0 to 35"),
        ({"gt_start": 6}, r"--gt-start 6 is outside GT, which has frames 0 to 5"),
    ],
)
def test_frame_counts_that_do_not_match_are_refused(realshort: Path, clips: dict, kwargs: dict, message: str) -> None:
    with pytest.raises(VideoError, match=message):
        evaluate(realshort, clips["gt_dir"], **kwargs)


def test_sizes_are_matched_only_on_request_and_at_the_same_aspect(clips: dict, tmp_path: Path) -> None:
    small = [np.round(resize_rgb(f, 160, 120) * 255).astype(np.uint8) for f in clips["gt"]]
    small_dir = write_folder(tmp_path / "small", small)
    with pytest.raises(VideoError, match="PRED is 160x120 but GT is 320x240; pass --resize-gt"):
        evaluate(small_dir, clips["gt_dir"])
    report = evaluate(small_dir, clips["gt_dir"], resize_gt=True)
    assert report.gt_resized and (report.width, report.height) == (160, 120)
    assert all(f.psnr == math.inf for f in report.frames)  # GT resized exactly as PRED was made
    square = write_folder(tmp_path / "square", [f[:, :240] for f in clips["gt"]])
    with pytest.raises(VideoError, match="differ in aspect ratio"):
        evaluate(square, clips["gt_dir"], resize_gt=True)


def test_unreadable_inputs_and_bad_frame_text(clips: dict, tmp_path: Path) -> None:
    with pytest.raises(VideoError):
        evaluate(tmp_path / "missing.mp4", clips["gt_dir"])
    with pytest.raises(VideoError, match="Expected --frames A:B"):
        parse_frames("one:two")
    assert parse_frames("3") == (3, 4) and parse_frames(":5") == (0, 5) and parse_frames("2:") == (2, None)


def test_cancel_stops_between_frames(clips: dict) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            cancel.set()

    with pytest.raises(KeyboardInterrupt):
        evaluate(clips["pred_dir"], clips["gt_dir"], progress=progress, cancel=cancel)
    assert seen == [0, 1, 2]


# -- the command ---------------------------------------------------------------------------------------------------


def test_command_prints_the_table_and_summary_and_notes_skipped_metrics(capsys, clips: dict) -> None:
    code, out, err = run_eval(capsys, clips["pred_dir"], clips["gt_dir"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["frame", "gt", "PSNR", "dB", "SSIM", "colourf.", "GT", "col.", "JS", "next", "LPIPS"]
    assert lines[1].split()[:4] == ["0", "0", "inf", "1.0000"]
    assert len([line for line in lines if line[:6].strip().isdigit()]) == N
    assert "1 identical frame left out" in out and "CDC of GT" in out and "LPIPS" not in out.split("\n\n")[1]
    notes = [line for line in err.splitlines() if line.startswith("Note:")]
    assert notes == [f"Note: {LPIPS_SKIPPED}", f"Note: {FID_SKIPPED}"]
    _, summary_only, _ = run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--summary-only")
    assert summary_only.splitlines()[0].endswith(f"{N} frames at 320x240") and "JS next" not in summary_only


def test_command_json_is_strict_json_with_null_for_identical_frames(capsys, clips: dict) -> None:
    code, out, _ = run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert data["frames"][0]["psnr"] is None and data["frames"][1]["psnr"] > 20
    assert data["frames"][-1]["cdc_next"] is None
    assert data["summary"]["psnr_identical_frames"] == 1 and data["summary"]["frames"] == N
    assert set(data["summary"]) >= {"psnr", "ssim", "colorfulness", "gt_colorfulness", "cdc", "cdc_d1", "cdc_d2",
                                    "cdc_d4", "gt_cdc", "lpips", "fid"}
    assert (data["width"], data["height"], data["gt_resized"]) == (320, 240, False)
    assert data["notes"] == [LPIPS_SKIPPED, FID_SKIPPED]


def test_command_csv_per_frame_rows_and_output_checks(capsys, clips: dict, tmp_path: Path) -> None:
    out_csv = tmp_path / "scores.csv"
    code, _, err = run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", out_csv, "--summary-only")
    assert code == 0 and f"Wrote the per-frame scores to {out_csv}" in err
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["frame", "gt_frame", "psnr", "ssim", "colorfulness", "gt_colorfulness", "cdc_next",
                             "lpips"]
    assert len(rows) == N and rows[0]["psnr"] == "inf" and rows[0]["lpips"] == "" and rows[-1]["cdc_next"] == ""
    assert float(rows[3]["psnr"]) == pytest.approx(
        peak_signal_noise_ratio(clips["gt"][3], clips["pred"][3], data_range=255), abs=1e-9)
    with pytest.raises(OutputError, match="already exists"):
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", out_csv)
    assert run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", out_csv, "--overwrite")[0] == 0
    with pytest.raises(OutputError, match="does not exist"):
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", tmp_path / "no" / "x.csv")
    (tmp_path / "a folder.csv").mkdir()
    with pytest.raises(OutputError, match="names a folder or an input"):
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", tmp_path / "a folder.csv", "--overwrite")
    frames = sorted(Path(clips["gt_dir"]).iterdir())
    before = [frame.read_bytes() for frame in frames]
    with pytest.raises(OutputError, match=r"must end in \.csv, not '.*'"):  # --overwrite would have replaced it
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", frames[1], "--overwrite")
    with pytest.raises(OutputError, match="lies in a folder of frames this command reads"):
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", Path(clips["gt_dir"]) / "scores.csv")
    assert sorted(Path(clips["gt_dir"]).iterdir()) == frames and [f.read_bytes() for f in frames] == before
    assert not list(tmp_path.glob(".*partial*"))


def test_a_csv_folder_that_may_not_be_written_is_refused_before_the_scoring(capsys, clips: dict, tmp_path: Path,
                                                                            monkeypatch) -> None:
    import colormnet.evaluate
    from colormnet import output_guard

    read_only = tmp_path / "read-only"
    read_only.mkdir()
    monkeypatch.setattr(output_guard.os, "access", lambda path, mode: Path(path) != read_only)  # as root may
    monkeypatch.setattr(colormnet.evaluate, "evaluate", lambda *a, **k: pytest.fail("scored before the check"))
    with pytest.raises(OutputError, match="is not writable"):
        run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--csv", read_only / "x.csv")


def test_command_lpips_and_fid_from_weight_files(capsys, clips: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    lpips_state = LPIPS().state_dict()
    torch.save({k: v for k, v in lpips_state.items() if k.startswith("features.")}, tmp_path / "alexnet.pth")
    torch.save({f"{k[:4]}.model.1.weight": v.abs() for k, v in lpips_state.items() if k.startswith("lin")},
               tmp_path / "alex.pth")
    torch.save(InceptionFeatures().state_dict(), tmp_path / "inception.pth")
    weights = ["--lpips-weights", tmp_path / "alexnet.pth", "--lpips-weights", tmp_path / "alex.pth",
               "--fid-weights", tmp_path / "inception.pth", "--device", "cpu"]
    code, out, err = run_eval(capsys, clips["gt_dir"], clips["gt_dir"], "--frames", "0:2", "--json", *weights)
    assert code == 0 and "Note:" not in err
    data = json.loads(out)
    assert [f["lpips"] for f in data["frames"]] == [0.0, 0.0]
    assert data["summary"]["lpips"] == 0.0 and abs(data["summary"]["fid"]) < 1e-9 and data["notes"] == []
    code, out, err = run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--frames", "4:6", "--summary-only",
                              *weights[:4])
    assert "LPIPS" in out and "FID" not in out and f"Note: {FID_SKIPPED}" in err
    assert float(out.split("LPIPS")[1].split()[0]) > 0
    code, out, err = run_eval(capsys, clips["pred_dir"], clips["gt_dir"], "--frames", "4", *weights[4:6])
    assert "FID skipped: it compares frame distributions and needs at least 2 frames" in err


# -- through the colormnet command line ----------------------------------------------------------------------------


def _cut_short(folder: Path) -> Path:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"w": torch.ones(64, 64)}, buffer)
    path = folder / "cut.pth"
    path.write_bytes(buffer.getvalue()[:5000])
    return path


def test_colormnet_eval_end_to_end_and_user_errors_in_one_line(capsys, realshort: Path, clips: dict,
                                                                tmp_path: Path) -> None:
    from colormnet.cli import main

    assert main(["eval", str(clips["pred_dir"]), str(clips["gt_dir"]), "--summary-only", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"]["psnr_identical_frames"] == 1 and "Note: LPIPS skipped" in err
    for args, message in (
        ([str(realshort), str(clips["gt_dir"])], "PRED has 36 frames but GT has 6 from frame 0 on; pass --frames 0:6"),
        ([str(clips["pred_dir"]), str(clips["gt_dir"]), "--lpips-weights", str(tmp_path / "alex.pth")],
         "The LPIPS weights file"),
        ([str(tmp_path / "none.mp4"), str(clips["gt_dir"])], "none.mp4"),
        # a file that is no checkpoint, and one cut short: one sentence each, not torch's page of text
        ([*map(str, (clips["pred_dir"], clips["gt_dir"])), "--fid-weights", str(sorted(clips["gt_dir"].iterdir())[0])],
         "is not a PyTorch checkpoint; give the path of a local copy."),
        ([*map(str, (clips["pred_dir"], clips["gt_dir"])), "--lpips-weights", str(_cut_short(tmp_path))],
         "is damaged or incomplete (perhaps an interrupted download)"),
    ):
        assert main(["eval", *args]) == 1
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith("colormnet: error: ") and message in err and len(err) < 300, err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    assert all(option in usage for option in ("--json", "--csv", "--lpips-weights", "--fid-weights", "--resize-gt"))


def test_gray_ground_truth_is_told_and_colour_ground_truth_is_not(capsys, clips: dict, tmp_path: Path) -> None:
    gray = [np.repeat(f.mean(axis=2, keepdims=True).round().astype(np.uint8), 3, axis=2) for f in clips["gt"]]
    gray_dir = write_folder(tmp_path / "gray", gray)
    _, _, err = run_eval(capsys, clips["pred_dir"], gray_dir)
    assert "Note: GT has no colour (mean colourfulness 0.00)" in err, err
    _, _, err = run_eval(capsys, clips["pred_dir"], clips["gt_dir"])
    assert "no colour" not in err
