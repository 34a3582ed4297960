"""Shot detection accuracy: precision, recall and F1 of every detector on the montages of :mod:`shot_montage`.

A detected boundary matches a true one of a hard cut when it lies within 1 frame of it, and one of a gradual
transition when it lies within half the transition's length of its middle; each true boundary matches at most one
detection. Unmatched detections are false cuts, unmatched true boundaries are misses. The tuning montage is the one
the detectors were shaped on; the held-out montage was checked once and showed two faults that were then fixed by
rules (no threshold moved); the fresh montage was built after that and run once, for checking only; the late
montage was built after the fresh one had shown a fault of a first version of the gate in front of TransNetV2.

``python -m benchmarks.shot_accuracy [--part tuning|held-out|fresh|late|all] [--json]`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.shot_montage import FRESH, HELD_OUT, LATE, TUNING, Piece, TrueBoundary, build_montage, write_gray_video
from colormnet.shots import DETECTORS, Shot, detect_shots

CUT_TOLERANCE = 1


def tolerance(truth: TrueBoundary) -> int:
    """How far from a true boundary a detection may lie."""
    if truth.transition is None:
        return CUT_TOLERANCE
    return max(CUT_TOLERANCE, (truth.transition[1] - truth.transition[0]) // 2)


def score(found: Sequence[int], truth: Sequence[TrueBoundary]) -> dict[str, object]:
    """Matches detections to true boundaries (closest first) and counts hits, false cuts and misses."""
    pairs = sorted((abs(f - t.frame), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)
                   if abs(f - t.frame) <= tolerance(t))
    used_found: set[int] = set()
    used_truth: set[int] = set()
    for _, i, j in pairs:
        if i not in used_found and j not in used_truth:
            used_found.add(i)
            used_truth.add(j)
    hits = len(used_truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true": len(truth), "found": len(found), "hits": hits, "precision": precision, "recall": recall, "f1": f1,
        "false": [found[i] for i in range(len(found)) if i not in used_found],
        "missed": [f"{truth[j].frame} ({truth[j].kind})" for j in range(len(truth)) if j not in used_truth],
    }


def measure(pieces: Sequence[Piece], detectors: Sequence[str], folder: Path) -> list[dict[str, object]]:
    """Builds one montage and scores every detector on it."""
    frames, truth = build_montage(pieces)
    path = write_gray_video(folder / "montage.mp4", frames)
    rows = []
    for name in detectors:
        shots: list[Shot] = detect_shots(path, detector=name)
        row = score([s.start for s in shots[1:]], truth)
        row["detector"] = name
        row["kinds"] = [f"{s.start}:{s.boundary}" for s in shots[1:]]
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("tuning", "held-out", "fresh", "late", "all"), default="all")
    parser.add_argument("--detector", action="append", choices=DETECTORS, help="default: all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    parts = {"tuning": TUNING, "held-out": HELD_OUT, "fresh": FRESH, "late": LATE}
    chosen = list(parts) if args.part == "all" else [args.part]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in chosen:
            results[part] = measure(parts[part], args.detector or DETECTORS, Path(tmp))
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print("| part | detector | boundaries | found | precision | recall | F1 | false cuts | missed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for part, rows in results.items():
        for r in rows:
            false = ", ".join(str(f) for f in r["false"]) or "-"  # type: ignore[attr-defined]
            missed = ", ".join(r["missed"]) or "-"  # type: ignore[arg-type]
            print(f"| {part} | {r['detector']} | {r['true']} | {r['found']} | {r['precision']:.2f} | "
                  f"{r['recall']:.2f} | {r['f1']:.2f} | {false} | {missed} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
