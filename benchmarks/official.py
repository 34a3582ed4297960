"""The official ColorMNet code and ours on the same machine: whole-process time and the difference of the outputs.

``python -m benchmarks.official [--quick] [--rounds N] [--threads 2] [--json FILE] [--inputs FRAMES_DIR EXEMPLAR]``
prints the figures; ``python -m benchmarks --only official`` runs it as the suite's ``official`` part
(``run(quick) -> dict``) and renders :func:`render_markdown` into ``docs/performance.md``.

It needs the official harness (``../shared/official-harness``, set up as its README says): the official code in
``$PARITY_WORK/official`` (default ``~/official-harness``) with a random checkpoint of the official architecture,
``random_seed0.pth``, which our loader reads too. Without it the part says so in one line and measures nothing.

* Inputs: frames 0-7 of ``cockatoo.mp4`` resized to 960x536 and made grayscale, and frame 0 in colour as the
  exemplar, written as PNG files (``--quick``: 3 frames at 480x268); or the frames and exemplar ``--inputs`` names.
* Each side is a whole process, from the interpreter's start to its exit (the last PNG written, the checkpoint
  loaded, the network built): ``run_official.py`` (the official reader, ``InferenceCore`` and output routine,
  unchanged, CPU fp32) and ``colormnet colorize`` (fp32, model at the frames' own size, one shot). Both use the
  official script's default mode: the exemplar is a reference for frame 0, not frame 0's colours
  (``FirstFrameIsNotExemplar``; ours ``-e EXEMPLAR@0:reference``). Both get ``OMP_NUM_THREADS`` threads and the
  official script its ``--threads``. The two alternate (official, ours, official, ours, ...) so that both see the
  same machine. Each process gives wall seconds, its CPU seconds (``getrusage(RUSAGE_CHILDREN)``) and the load
  average before and after it; the target is judged on each side's fastest run (a run that other work starved says
  little about either program), and medians and CPU seconds are reported beside it.
* Quality: the 8-bit RGB PNGs of both sides of the first round, frame by frame.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.measure import ROOT, clip_frames, format_loads, load_average, machine

PLANS = {False: ("960x536", 8, 2), True: ("480x268", 3, 1)}  # quick -> (frame size, frames, rounds)
TARGET_SPEEDUP = 2.0  # whole process, 8 frames at 960x536, fp32, 2 threads
TARGET_MAX_LSB = 2  # no 8-bit value further from the official one than this ...
TARGET_PIXELS_AT_2_LSB = 0.001  # ... and at most this share of pixels with a channel 2 LSB off
MODE = "reference exemplar at frame 0 (the official script's default, FirstFrameIsNotExemplar)"


@dataclass(frozen=True)
class Harness:
    """Where the official code, its runner and the shared random checkpoint are."""

    script: Path  # run_official.py
    work: Path  # $PARITY_WORK: official/ (the code) and torch_home/ (stand-ins for its downloads)
    checkpoint: Path  # random_seed0.pth, read by both sides


def find_harness() -> tuple[Harness | None, str]:
    """The harness, or None and one sentence saying what is missing."""
    script = Path(os.environ.get("OFFICIAL_HARNESS", ROOT.parent / "shared" / "official-harness")) / "run_official.py"
    work = Path(os.environ.get("PARITY_WORK", "~/official-harness")).expanduser()
    checkpoint = work / "random_seed0.pth"
    for path, what in ((script, "the official runner"), (work / "official" / "model", "the official code"),
                       (checkpoint, "the random checkpoint")):
        if not path.exists():
            return None, f"{what} is not at {path} (see ../shared/official-harness/README.md)"
    return Harness(script, work, checkpoint), ""


def write_inputs(folder: Path, size: str, count: int) -> tuple[Path, Path]:
    """Grayscale PNG frames of the real clip at ``size`` and frame 0 in colour as the exemplar."""
    from PIL import Image

    width, height = map(int, size.split("x"))
    frames = clip_frames(count, width, height)
    frames_dir = folder / "frames"
    frames_dir.mkdir(parents=True)
    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).convert("L").convert("RGB").save(frames_dir / f"{i:05d}.png")
    exemplar = folder / "exemplar.png"
    Image.fromarray(frames[0]).save(exemplar)
    return frames_dir, exemplar


def official_command(harness: Harness, frames: Path, exemplar: Path, out: Path, threads: int) -> list[str]:
    """``run_official.py`` on the frames in its default mode (the exemplar a reference for frame 0)."""
    return [sys.executable, str(harness.script), "--checkpoint", str(harness.checkpoint), "--frames", str(frames),
            "--exemplar", str(exemplar), "--out", str(out), "--threads", str(threads)]


def our_command(weights: Path, frames: Path, exemplar: Path, out: Path, short_side: int) -> list[str]:
    """``colormnet colorize`` computing what the official script computes: fp32 on the CPU, the model at the
    frames' own size, the exemplar a reference for frame 0, one shot, 8-bit PNGs."""
    return [sys.executable, "-m", "colormnet.cli", "colorize", str(frames), "-e", f"{exemplar}@0:reference",
            "-o", str(out), "--codec", "png", "--weights", str(weights), "--device", "cpu", "--precision", "fp32",
            "--process-size", str(short_side), "--shots", "off"]


def timed_process(command: list[str], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Runs ``command`` to its end: wall seconds, CPU seconds (user + system), seconds to the last PNG written.

    Raises:
        RuntimeError: the process failed or wrote no PNG.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = load_average()
    began_epoch, began = time.time(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pngs = sorted(out.glob("*.png"))
    if done.returncode != 0 or not pngs:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{Path(command[1]).name if command[1] != '-m' else command[2]} failed "
                           f"(exit status {done.returncode}): {' / '.join(tail)}")
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "to_last_png_s": max(p.stat().st_mtime for p in pngs) - began_epoch,
        "frames": len(pngs),
        "load": [load, load_average()],
    }


def read_pngs(folder: Path) -> list[np.ndarray]:
    """The folder's PNGs in name order as ``H x W x 3`` uint8 RGB."""
    from PIL import Image

    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]


def compare(official: list[np.ndarray], ours: list[np.ndarray]) -> dict[str, float]:
    """How far our 8-bit RGB frames are from the official ones, in LSB.

    Returns:
        ``mean_lsb`` and ``max_lsb`` over all values, ``share_values_over_2_lsb`` (values more than 2 LSB off) and
        ``share_pixels_at_2_lsb`` (pixels with any channel 2 LSB off or more), with ``frames`` compared.

    Raises:
        ValueError: the two sides have different frame counts or sizes.
    """
    if len(official) != len(ours) or any(a.shape != b.shape for a, b in zip(official, ours, strict=False)):
        raise ValueError(f"The outputs differ in frame count or size: {len(official)} official, {len(ours)} ours.")
    diff = np.abs(np.stack(official).astype(np.int16) - np.stack(ours).astype(np.int16))  # F x H x W x 3
    return {
        "frames": len(official),
        "mean_lsb": float(diff.mean()),
        "max_lsb": int(diff.max()),
        "share_values_over_2_lsb": float((diff > 2).mean()),
        "share_pixels_at_2_lsb": float((diff.max(axis=-1) >= 2).mean()),
    }


def _summary(runs: list[dict]) -> dict[str, Any]:
    return {"runs": runs, **{key: statistics.median(r[key] for r in runs)
                              for key in ("wall_s", "cpu_s", "to_last_png_s")}}


def alternate(harness: Harness, frames: Path, exemplar: Path, folder: Path, rounds: int, threads: int
              ) -> dict[str, Any]:
    """Runs official and ours alternately ``rounds`` times, writing into ``folder``; compares round 1's outputs.

    Raises:
        RuntimeError: a side failed; ValueError: their outputs do not pair up.
    """
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                        "PARITY_WORK": str(harness.work)}
    short_side = min(read_pngs(frames)[0].shape[:2])
    times: dict[str, list[dict]] = {"official": [], "ours": []}
    for r in range(rounds):
        for side in ("official", "ours"):
            out = folder / f"{side}{r}"
            command = (official_command(harness, frames, exemplar, out, threads) if side == "official"
                       else our_command(harness.checkpoint, frames, exemplar, out, short_side))
            times[side].append(timed_process(command, out, env))
            print(f"official part, round {r + 1}/{rounds}, {side}: {times[side][-1]['wall_s']:.1f} s wall, "
                  f"{times[side][-1]['cpu_s']:.1f} s CPU", file=sys.stderr, flush=True)  # stdout is the result
    return {**times, "quality": compare(read_pngs(folder / "official0"), read_pngs(folder / "ours0"))}


def run(quick: bool, threads: int = 2, rounds: int | None = None, inputs: tuple[Path, Path] | None = None
        ) -> dict[str, Any]:
    """Times both sides alternately and compares their outputs, on the plan's frames or on ``inputs`` (a folder of
    frames and an exemplar image).

    Returns:
        The figures; ``{"skipped": why}`` without the harness, ``{"error": what}`` when a side failed.
    """
    harness, missing = find_harness()
    if harness is None:
        return {"skipped": missing}
    size, count, default_rounds = PLANS[quick]
    rounds = rounds or default_rounds
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        frames, exemplar = inputs or write_inputs(Path(tmp), size, count)
        first = read_pngs(frames)
        count, size = len(first), f"{first[0].shape[1]}x{first[0].shape[0]}"
        source = f"{frames}/" if inputs else f"cockatoo.mp4 frames 0-{count - 1}"
        try:
            measured = alternate(harness, frames, exemplar, Path(tmp), rounds, threads)
        except (RuntimeError, ValueError) as exc:  # the report says so; the other parts still count
            return {"error": str(exc)}
    official, ours = _summary(measured["official"]), _summary(measured["ours"])
    return {
        "machine": machine() | {"threads": threads},
        "quick": quick,
        "source": f"{source}, {size}, grayscale",
        "size": size,
        "frames": count,
        "rounds": rounds,
        "precision": "fp32",
        "mode": MODE,
        "measured": time.strftime("%Y-%m-%d %H:%M %Z"),
        "official": official,
        "ours": ours,
        "speedup_wall": official["wall_s"] / ours["wall_s"],
        "speedup_cpu": official["cpu_s"] / ours["cpu_s"],
        "quality": measured["quality"],
        "load": [load_before, load_average()],
    }


def judged(result: dict) -> bool:
    """Whether the run is the one the targets name (8 frames at 960x536, fp32, 2 threads)."""
    return (not result.get("quick") and result.get("frames") == 8 and _size(result) == "960x536"
            and result["machine"]["threads"] == 2)


def _size(result: dict) -> str:
    """The frames' size (results saved before it had a key of its own name it in ``source``)."""
    return result.get("size") or result["source"].split(", ")[1]


def quality_met(q: dict) -> bool:
    """Within 2 LSB of the official outputs, at most 0.1 % of pixels at 2 LSB."""
    return q["max_lsb"] <= TARGET_MAX_LSB and q["share_pixels_at_2_lsb"] <= TARGET_PIXELS_AT_2_LSB


def target_rows(result: dict | None) -> list[str]:
    """The targets table's rows for this part (none when it was not measured)."""
    if not result or "skipped" in result or "error" in result:
        return []
    scope = "" if judged(result) else " (not the target's run: 8 frames at 960x536, 2 threads)"
    x, q = best_speedup(result), result["quality"]
    return [
        f"| whole process vs the official code on this machine, {result['frames']} frames "
        f"{_size(result)}, fp32, {result['machine']['threads']} threads: >= 2x | "
        f"official {_s(_fastest(result, 'official'))} s / ours {_s(_fastest(result, 'ours'))} s = x{x:.2f} "
        f"(fastest of {result['rounds']} each; medians x{result['speedup_wall']:.2f}, CPU time "
        f"x{result['speedup_cpu']:.2f}){scope} | {_status(x >= TARGET_SPEEDUP, result)} |",
        f"| outputs within 2 LSB of the official ones (8-bit RGB, <= 0.1 % of pixels at 2 LSB) | max "
        f"{q['max_lsb']} LSB, {100 * q['share_pixels_at_2_lsb']:.3f} % of pixels at 2 LSB{scope} | "
        f"{_status(quality_met(q), result)} |",
    ]


def _fastest(result: dict, side: str) -> float:
    return min(r["wall_s"] for r in result[side]["runs"])


def best_speedup(result: dict) -> float:
    """The official code's fastest whole process over ours: less sensitive than medians to a busy machine."""
    return _fastest(result, "official") / _fastest(result, "ours")


def _status(ok: bool, result: dict) -> str:
    return ("met" if ok else "not met") if judged(result) else "not judged"


def _s(seconds: float) -> str:
    return f"{seconds:.1f}"


def render_markdown(result: dict | None) -> str:
    """The "Against the official code" section of ``docs/performance.md``."""
    lines = ["## Against the official code, same machine", ""]
    if not result:
        return "\n".join([*lines, "Not measured in this run (`python -m benchmarks --only official`).", ""])
    if "skipped" in result:
        return "\n".join([*lines, f"Not measured: {result['skipped']}.", ""])
    if "error" in result:
        return "\n".join([*lines, f"Not measured: {result['error']}", ""])
    m, q = result["machine"], result["quality"]
    native = "with" if m.get("native_bf16") else "without"
    lines += [
        f"Whole processes (interpreter start to exit, the last PNG written), {result['source']}, "
        f"{result['precision']} on the CPU, {m['threads']} threads (`OMP_NUM_THREADS`), {MODE}; the official code "
        f"(`run_official.py`, unchanged) and `colormnet colorize` alternate, {result['rounds']} round(s). "
        f"Machine: {m['cpu']} ({m['cores']} cores, {native} native bf16), torch {m['torch']}, measured "
        f"{result['measured']}; load average {format_loads(result['load'])}. Both read the same random checkpoint of "
        "the official architecture (speed does not depend on the weights' values)."
        + (" A `--quick` run: figures for checking the suite, not for the record." if result.get("quick") else ""),
        "",
        "| side | fastest wall s | median wall s | median CPU s | median to the last PNG s | per run: wall s / CPU s "
        "(load before -> after) |",
        "|---|---|---|---|---|---|",
    ]
    for side, label in (("official", "official code"), ("ours", "ColorMNet Studio")):
        s = result[side]
        runs = "; ".join(f"{r['wall_s']:.1f} / {r['cpu_s']:.1f} ({format_loads(r['load'])})" for r in s["runs"])
        lines.append(f"| {label} | **{_s(_fastest(result, side))}** | {_s(s['wall_s'])} | {_s(s['cpu_s'])} | "
                     f"{_s(s['to_last_png_s'])} | {runs} |")
    lines += [
        "",
        f"Speed-up: **x{best_speedup(result):.2f}** between the fastest runs of each side, "
        f"x{result['speedup_wall']:.2f} between the medians, x{result['speedup_cpu']:.2f} in CPU time.",
        "",
        f"Our 8-bit RGB outputs against the official ones ({q['frames']} frames): mean {q['mean_lsb']:.1e} LSB, max "
        f"{q['max_lsb']} LSB, {100 * q['share_values_over_2_lsb']:.3f} % of values more than 2 LSB off, "
        f"{100 * q['share_pixels_at_2_lsb']:.3f} % of pixels with a channel 2 LSB off or more.",
        "",
    ]
    return "\n".join(lines)


def render_line(result: dict | None) -> str:
    """One line for the terminal summary."""
    if not result:
        return ""
    if "skipped" in result or "error" in result:
        return f"official: not measured ({result.get('skipped') or result['error']})"
    q = result["quality"]
    return (f"official {_s(_fastest(result, 'official'))} s, ours {_s(_fastest(result, 'ours'))} s whole process "
            f"(fastest runs): x{best_speedup(result):.2f} (medians x{result['speedup_wall']:.2f}, "
            f"CPU x{result['speedup_cpu']:.2f}); outputs max {q['max_lsb']} LSB, "
            f"{100 * q['share_pixels_at_2_lsb']:.3f} % of pixels at 2 LSB (load {format_loads(result['load'])})")


def main(argv: list[str] | None = None) -> None:
    """Runs the comparison and prints it (and writes JSON when asked)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.official", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 frames at 480x268, one round")
    parser.add_argument("--rounds", type=int, help="official/ours pairs (default 2; quick 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the raw result here too")
    parser.add_argument("--inputs", type=Path, nargs=2, metavar=("FRAMES_DIR", "EXEMPLAR"),
                        help="these frames (PNG, sorted by name) and exemplar instead of the generated ones")
    args = parser.parse_args(argv)
    result = run(args.quick, args.threads, args.rounds, tuple(args.inputs) if args.inputs else None)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    print(render_line(result))
    print(render_markdown(result))


if __name__ == "__main__":
    main()
