"""The report's list of the options that give up exactness for speed, each with the quality cost measured for it.

Only figures some measurement produced appear: a run's own parts (``ratio``, ``official``, ``bf16``, ``size``), or,
for CUDA autocast, the one recorded measurement (``tests/test_gpu.py``), named as such. An option nobody measured
says so.
"""

from __future__ import annotations

from benchmarks.measure import format_loads

HEADER = [
    "## Inexact options and their quality cost",
    "",
    "Every option that does not compute what the official code computes in fp32, and what it costs, as measured. "
    "Differences on 8-bit RGB are in LSB; \"normalised ab\" is the network's chroma output (range about -1..1).",
    "",
    "| option | where it is used | quality cost, as measured |",
    "|---|---|---|",
]

CUDA_AUTOCAST = (
    "not measured by `python -m benchmarks`; recorded once in `tests/test_gpu.py` (H200, torch 2.11, 8 frames at "
    "224x224 against the official fp32 outputs): mean / max abs normalised ab ~1e-3 / ~1.3e-2 for fp16, "
    "~5e-3 / ~4.3e-2 for bf16"
)


def _fast_path(res: dict) -> str:
    measured = []
    ratio = res.get("ratio")
    if ratio:
        precision = str(ratio.get("precision", "fp32")).removeprefix("torch.")
        if precision == "fp32":
            measured.append(
                f"max abs normalised ab {ratio['max_abs_ab_difference']:.1e} against the literal reference "
                f"({ratio['source']}, {ratio['device']}, fp32, `ratio` part, load {format_loads(ratio['load'])})"
            )
    off = res.get("official")
    if off and "quality" in off:
        q = off["quality"]
        measured.append(
            f"against the official code's PNGs: mean {q['mean_lsb']:.1e} LSB, max {q['max_lsb']} LSB, "
            f"{100 * q['share_pixels_at_2_lsb']:.3f} % of pixels at 2 LSB or more ({off['source']}, fp32, "
            f"`official` part, load {format_loads(off['load'])})"
        )
    return "; ".join(measured) or "not measured in this run (`--only ratio`, `--only official`)"


def _cpu_bf16(res: dict) -> str:
    bf16 = res.get("bf16")
    if not bf16:
        return "not measured in this run (`--only bf16`)"
    q = bf16["quality"]
    if not q:
        return "none on this CPU: it has no native bf16, so bf16 runs in fp32 (see the CPU bf16 section)"
    chosen = next((r for r in q["rows"] if "engine's choice" in r["variant"]), q["rows"][0])
    return (
        f"against fp32 on 8-bit RGB: mean {chosen['mean_lsb']:.3f} LSB, max {chosen['max_lsb']} LSB, "
        f"{100 * chosen['share_over_2_lsb']:.2f} % of values more than 2 LSB off ({q['source']}, {q['frames']} "
        f"frames, native bf16, `bf16` part, load {format_loads([q['load']])}; other variants in the CPU bf16 section)"
    )


def _process_size(res: dict) -> str:
    from benchmarks.process_size import default_row

    row = default_row(res.get("size"))
    if row is None:
        if res.get("size"):
            return "540 not measured in this run (a quick run measures a small clip only)"
        return "not measured in this run (`--only size`)"
    size = res["size"]
    return (
        f"the chroma upsampling alone, every colour right: mean {row['mean_lsb']:.3f} LSB, max {row['max_lsb']} LSB, "
        f"{100 * row['share_over_2_lsb']:.2f} % of values more than 2 LSB off ({size['source']} at 540, "
        f"{size['frames']} frames, `size` part; the network's own answer to a smaller input is not measured: it takes "
        "trained weights; other sizes in the Processing size section)"
    )


def render_section(res: dict) -> list[str]:
    """The section's lines, from a run's valid results."""
    return [
        *HEADER,
        "| fast path (`ColorMNet(fast=True)`, exact up to float rounding) | always (the default) | "
        f"{_fast_path(res)} |",
        "| `--precision bf16` on the CPU (autocast; memory and decoder kept in fp32) | asked for; the app's "
        f"previews where the CPU has native bf16 (exports recompute in fp32) | {_cpu_bf16(res)} |",
        "| fp16 autocast on CUDA; `--precision bf16` on CUDA | fp16: the default on CUDA (`--precision auto`; "
        f"`fp32` turns it off) | {CUDA_AUTOCAST} |",
        "| `--process-size` below the source's short side (chroma computed smaller and upsampled) | the default "
        f"caps it at 540: a 1920x1080 source runs the model at 960x540 | {_process_size(res)} |",
    ]
