"""``python -m benchmarks``: runs the benchmark suite, prints a table and writes ``docs/performance.md``.

Parts (``--only`` picks some, comma-separated):

* ``speed`` -- ColorMNet sessions on 480x272, 960x536 and 1920x1080 H.264 sources: seconds per frame (median after
  warm-up) and peak memory, random checkpoint.
* ``ratio`` -- fast path against the literal reference at 960x536, interleaved in one process.
* ``memory`` -- resident memory after 50, 200 and 800 frames at 112x112.
* ``propagate`` -- the ``propagate`` engine's frames per second at 480p and 1080p. A module
  ``benchmarks/propagate_*.py`` with ``run(quick: bool) -> dict`` (keys ``rows``: a list of ``{"source", "fps",
  "load"}``) takes precedence; without one, sessions with that engine are timed like ``speed``.
* ``bf16`` -- CPU bf16 against fp32: s/frame and the difference of the 8-bit outputs (``benchmarks/cpu_bf16.py``).
* ``size`` -- what a processing size below the source's costs: the chroma upsampling's loss on real colour frames
  and each size's s/frame (``benchmarks/process_size.py``).
* ``official`` -- the official code and ours as whole processes on the same frames, one after the other, and the
  difference of their 8-bit outputs (``benchmarks/official.py``); skipped, in one line, without the official harness.
* ``gui`` -- the longest GUI-thread stall while colorizing: ``benchmarks/gui_stall.py`` with
  ``run(quick: bool) -> dict`` (keys ``longest_stall_ms``, ``ticks``, ``load``), when present.

Each measurement runs in a fresh process so peak memory figures are the part's own. ``--quick`` runs a smaller
version of everything in a few minutes (figures for checking that the suite works, not for the record).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import ROOT, load_average, machine
from benchmarks.report import render_markdown, render_table

logger = logging.getLogger("benchmarks")

PARTS = ("speed", "ratio", "memory", "propagate", "bf16", "size", "official", "gui")


@dataclass(frozen=True)
class Plan:
    """What a run measures: (source size, measured frames) pairs, and frame counts for the memory part."""

    speed: list[tuple[str, int]]
    ratio: tuple[str, int]
    memory: tuple[str, list[int]]
    propagate: list[tuple[str, int]]


FULL = Plan(  # measured frames per size, after one warm-up frame (the exemplar's, which costs more)
    speed=[("480x272", 6), ("960x536", 4), ("1920x1080", 4)],
    ratio=("960x536", 4),
    memory=("112x112", [50, 200, 800]),
    propagate=[("854x480", 10), ("1920x1080", 5)],
)
QUICK = Plan(
    speed=[("480x272", 3)],
    ratio=("480x272", 3),
    memory=("112x112", [10, 20, 40]),
    propagate=[("854x480", 5)],
)


def run_child(args: list[str], threads: int) -> dict:
    """Runs ``benchmarks.engine_speed`` with ``args`` in a fresh process and returns its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.engine_speed", *args, "--threads", str(threads)]
        command += ["--json", str(out)]
        logger.info("running %s", " ".join(command[2:]))
        done = subprocess.run(command, check=False, cwd=ROOT)
        if done.returncode != 0 or not out.exists():
            logger.error("%s failed (exit status %d); the report leaves it out", args[0], done.returncode)
            return {"error": f"exit status {done.returncode}"}
        return json.loads(out.read_text())


def run_hook(module_name: str, quick: bool, threads: int | None = None) -> dict:
    """Calls ``run(quick)`` (and ``threads``, when given) of a benchmark module in a fresh process."""
    extra = "" if threads is None else f", threads={threads}"
    code = (
        "import json, sys; from importlib import import_module; "
        f"print(json.dumps(import_module('benchmarks.{module_name}').run(quick={quick}{extra})))"
    )
    # stdout carries the result; stderr (progress, warnings) goes to the terminal
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def propagate_hook() -> str | None:
    """Name of the propagate benchmark module, if there is one."""
    for path in sorted((ROOT / "benchmarks").glob("propagate_*.py")):
        if "\ndef run(" in path.read_text():
            return path.stem
    return None


def run_parts(parts: list[str], quick: bool, threads: int, weights: Path) -> dict[str, object]:
    """Runs the chosen parts and collects their results."""
    plan = QUICK if quick else FULL
    warmup = "1"
    results: dict[str, object] = {}
    if "speed" in parts:
        results["speed"] = [
            run_child(["session", "--weights", str(weights), "--size", size, "--frames", str(n), "--warmup", warmup],
                      threads)
            for size, n in plan.speed
        ]
    if "ratio" in parts:
        size, n = plan.ratio
        results["ratio"] = run_child(
            ["ratio", "--weights", str(weights), "--size", size, "--frames", str(n), "--warmup", warmup], threads
        )
    if "memory" in parts:
        size, marks = plan.memory
        results["memory"] = run_child(
            ["memory", "--weights", str(weights), "--size", size, "--checkpoints", ",".join(map(str, marks))], threads
        )
    if "propagate" in parts:
        hook = propagate_hook()
        if hook is not None:
            results["propagate"] = {"source_module": hook, **run_hook(hook, quick)}
        else:
            rows = []
            for size, n in plan.propagate:
                r = run_child(["session", "--engine", "propagate", "--size", size, "--frames", str(n), "--warmup",
                               warmup], threads)
                rows.append({"source": r["source"], "fps": 1 / r["seconds_per_frame"], "load": r["load"]})
            results["propagate"] = {"source_module": "engine_speed session --engine propagate", "rows": rows}
    if "bf16" in parts:
        results["bf16"] = run_hook("cpu_bf16", quick, threads)
    if "size" in parts:
        results["size"] = run_hook("process_size", quick, threads)
    if "official" in parts:
        results["official"] = run_hook("official", quick, threads)
    if "gui" in parts:
        if (ROOT / "benchmarks" / "gui_stall.py").exists():
            results["gui"] = run_hook("gui_stall", quick)
        else:
            results["gui"] = None
    return results


def main(argv: list[str] | None = None) -> None:
    """Runs the suite and writes the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run that checks the suite works")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of: {', '.join(PARTS)}")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the targets are for 2)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md",
                        help="the Markdown report ('-': print only)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json",
                        help="where the raw results go")
    parser.add_argument("--from-json", type=Path, help="measure nothing: render the report from earlier raw results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.from_json is not None:
        write_report(json.loads(args.from_json.read_text()), args.output)
        return
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    began = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        from colormnet.engines.colormnet.weights import save_random_weights

        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        run = {
            "machine": machine() | {"threads": args.threads},
            "quick": args.quick,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(began)),
            "load_before": load_average(),
            "results": run_parts(parts, args.quick, args.threads, weights),
            "load_after": load_average(),
            "minutes": round((time.time() - began) / 60, 1),
        }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(run, indent=1))
    write_report(run, args.output)


def write_report(run: dict, output: Path) -> None:
    """Prints the summary table and writes the Markdown report (unless ``output`` is ``-``)."""
    print(render_table(run))
    if str(output) != "-":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_markdown(run))
        print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
