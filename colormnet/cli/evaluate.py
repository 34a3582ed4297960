"""``colormnet eval PRED GT``: the command over :func:`colormnet.evaluate.evaluate`, its tables, JSON and CSV."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colormnet.errors import OutputError, quote_path
from colormnet.interrupts import stop_if_cancelled
from colormnet.metrics import CDC_DILATIONS
from colormnet.output_guard import check_output_folder
from colormnet.progress import ProgressBar

if TYPE_CHECKING:
    from colormnet.evaluate import EvaluationReport

CSV_COLUMNS = ("frame", "gt_frame", "psnr", "ssim", "colorfulness", "gt_colorfulness", "cdc_next", "lpips")


def _fmt(value: float | None, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "inf" if math.isinf(value) else format(value, spec)


def format_frames(report: EvaluationReport) -> str:
    """The per-frame table, one line per compared frame."""
    lines = [f"{'frame':>6} {'gt':>6} {'PSNR dB':>8} {'SSIM':>7} {'colourf.':>8} {'GT col.':>8} {'JS next':>8} "
             f"{'LPIPS':>7}"]
    for f in report.frames:
        lines.append(f"{f.index:>6} {f.gt_index:>6} {_fmt(f.psnr, '.2f'):>8} {_fmt(f.ssim, '.4f'):>7} "
                     f"{_fmt(f.colorfulness, '.2f'):>8} {_fmt(f.gt_colorfulness, '.2f'):>8} "
                     f"{_fmt(f.cdc_next, '.5f'):>8} {_fmt(f.lpips, '.4f'):>7}")
    return "\n".join(lines)


def format_summary(report: EvaluationReport) -> str:
    """The summary: means over the frames, CDC per frame distance, LPIPS and FID where measured."""
    s = report.summary()
    identical = int(s["psnr_identical_frames"] or 0)
    left_out = f"; {identical} identical frame{'s' if identical != 1 else ''} left out" if identical else ""
    if identical and identical == s["frames"]:
        left_out = "; every frame identical"
    size = f"{report.width}x{report.height}" + (", GT resized" if report.gt_resized else "")

    def cdc_line(prefix: str) -> str:
        parts = ", ".join(f"d={d} {_fmt(s[f'{prefix}cdc_d{d}'], '.5f')}" for d in CDC_DILATIONS)
        return f"{_fmt(s[f'{prefix}cdc'], '.5f')} ({parts})"

    lines = [
        f"{report.pred} against {report.gt}: {s['frames']} frames at {size}",
        f"  PSNR           {_fmt(s['psnr'], '.2f')} dB (mean over frames{left_out})",
        f"  SSIM           {_fmt(s['ssim'], '.4f')}",
        f"  colourfulness  {_fmt(s['colorfulness'], '.2f')} (GT {_fmt(s['gt_colorfulness'], '.2f')})",
        f"  CDC            {cdc_line('')}",
        f"  CDC of GT      {cdc_line('gt_')}",
    ]
    if s["lpips"] is not None:
        lines.append(f"  LPIPS          {_fmt(s['lpips'], '.4f')}")
    if s["fid"] is not None:
        lines.append(f"  FID            {_fmt(s['fid'], '.2f')} (over {s['frames']} frames; short clips read high)")
    return "\n".join(lines)


def write_csv(report: EvaluationReport, path: Path) -> None:
    """Writes the per-frame scores as CSV (``inf`` for identical frames, empty cells for what was not measured)."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return repr(value) if isinstance(value, float) else str(value)

    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for f in report.frames:
                row = asdict(f)
                writer.writerow([cell(row["index"]), cell(row["gt_index"]), *(cell(row[c]) for c in CSV_COLUMNS[2:])])
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# -- command line -------------------------------------------------------------------------------------------------


def add_eval_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Adds the ``eval`` subcommand to an argparse subparsers object.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.
        parents: Parent parsers whose options every subcommand shares.
    """
    p = subparsers.add_parser(
        "eval", parents=list(parents), help="score a colorized clip against the true colours",
        description="Scores PRED against GT frame by frame on 8-bit RGB: PSNR, SSIM, colourfulness (Hasler and "
                    "Süsstrunk), CDC (TCVC's colour distribution consistency) and, given their weights, LPIPS and "
                    "FID. In --json output null stands for a value that is not finite (PSNR of identical frames).")
    p.add_argument("pred", help="the colorized video file or folder of numbered images")
    p.add_argument("gt", help="the ground truth, a video file or folder of numbered images")
    p.add_argument("--frames", metavar="A:B", help="compare only PRED frames A to B-1 (default: all, and GT must "
                                                   "have as many)")
    p.add_argument("--gt-start", type=int, default=0, metavar="N", help="the GT frame matching PRED frame 0")
    p.add_argument("--resize-gt", action="store_true", help="scale GT to PRED's size when they differ")
    p.add_argument("--json", action="store_true", help="print everything as one JSON object")
    p.add_argument("--csv", metavar="FILE", help="also write the per-frame scores to this CSV file")
    p.add_argument("--summary-only", action="store_true", help="print the summary without the per-frame table")
    p.add_argument("--lpips-weights", action="append", default=[], metavar="FILE",
                   help="LPIPS weights: torchvision's AlexNet and LPIPS's alex.pth (repeat), or one merged file")
    p.add_argument("--fid-weights", metavar="FILE",
                   help="Inception-v3 weights for FID (pytorch-fid's or torchvision's)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where LPIPS and FID run")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    p.set_defaults(run=cmd_eval)


def _check_csv_path(csv_path: Path, inputs: Sequence[Path], overwrite: bool) -> None:
    if csv_path.suffix.lower() != ".csv":  # --overwrite must not reach a frame, a film or weights given by mistake
        raise OutputError(f"The file for --csv must end in .csv, not {quote_path(csv_path.name)}.")
    inside = [p.resolve() for p in inputs if p.is_dir()]
    if any(csv_path.resolve().is_relative_to(folder) for folder in inside):
        raise OutputError(f"--csv {quote_path(csv_path)} lies in a folder of frames this command reads and never "
                          "writes; choose another folder.")
    if csv_path.exists() and not overwrite:
        raise OutputError(
            f"The CSV file {quote_path(csv_path)} already exists; choose another name or pass --overwrite."
        )
    if csv_path.is_dir() or any(csv_path.resolve() == p.resolve() for p in inputs):
        raise OutputError(f"--csv {quote_path(csv_path)} names a folder or an input; give a new .csv file name.")
    if not csv_path.parent.is_dir():
        raise OutputError(
            f"The folder of --csv {quote_path(csv_path)} does not exist; create it or choose another path."
        )
    check_output_folder(csv_path)  # a folder that may not be written, before minutes of scoring


def cmd_eval(args: argparse.Namespace, cancel: threading.Event | None = None) -> int:
    """Runs ``colormnet eval``: prints the tables (or JSON) on stdout, notes on stderr; returns the exit code.

    Raises:
        ColorMNetError: A user error (unreadable clip, mismatched frames or sizes, bad weights or output path).
    """
    from colormnet.evaluate import evaluate, parse_frames

    pred, gt = Path(args.pred), Path(args.gt)
    csv_path = Path(args.csv) if args.csv else None
    if csv_path is not None:
        weights = [Path(w) for w in (*args.lpips_weights, *([args.fid_weights] if args.fid_weights else []))]
        _check_csv_path(csv_path, [pred, gt, *weights], args.overwrite)
    with ProgressBar(None, "evaluating") as bar:  # drawn from the first frame on

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done)

        report = evaluate(pred, gt, frames=parse_frames(args.frames) if args.frames else None,
                          gt_start=args.gt_start, resize_gt=args.resize_gt, lpips_weights=args.lpips_weights,
                          fid_weights=args.fid_weights, device=args.device, progress=progress, cancel=cancel)
        if bar.last_done is not None:
            bar.close(len(report.frames))
    if cancel is not None:
        stop_if_cancelled(cancel)  # a signal PyAV's demuxer swallowed while it read the last frames
    for note in report.notes:
        print(f"Note: {note}", file=sys.stderr)
    if csv_path is not None:
        write_csv(report, csv_path)
        print(f"Wrote the per-frame scores to {csv_path}.", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        if not args.summary_only:
            print(format_frames(report))
            print()
        print(format_summary(report))
    return 0
