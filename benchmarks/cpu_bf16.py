"""CPU bf16 against fp32: speed (s/frame) and the difference of the 8-bit RGB outputs, random checkpoint.

``python -m benchmarks.cpu_bf16 [--quick] [--threads 2] [--json FILE]`` prints the figures; ``python -m benchmarks``
runs it as its ``bf16`` part (``run(quick) -> dict``) and renders :func:`render_markdown` into
``docs/performance.md``.

* Quality: the bundled real clip ``realshort.mp4`` (320x240) colorized from its own first frame (a keyframe) in
  fp32 and in bf16 with several sets of parts kept in fp32 (the engine keeps the memory and the decoder; everything
  under autocast is the "before"). Each bf16 output is compared with the
  fp32 one on 8-bit RGB: mean absolute difference, 99.9th percentile and maximum in LSB, and the share of values
  more than 2 LSB off. The exemplar's own frame is left out (it is the exemplar's colour in every precision).
* Speed: sessions on a real clip resized to each size, fp32 and bf16 one after the other, median seconds per frame
  after a warm-up frame, with the load average seen (the machine may be shared: a busy one inflates both).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.measure import SHORT_CLIP, clip_frames, load_average, machine, median, write_video
from colormnet.engines import precision as engine_precision
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.session import Exemplar, Session, SessionConfig

QUALITY_FRAMES = {True: 4, False: 8}  # quick -> frames of realshort.mp4 compared (the first is the exemplar's)
SPEED_PLAN = {True: [("480x272", 2)], False: [("480x272", 3), ("960x536", 2)]}  # (size, measured frames)
KEPT = InferenceEngine.fp32_parts
VARIANTS: dict[str, tuple[str, frozenset[str]]] = {  # name -> (precision, parts kept in fp32 under bf16)
    "fp32": ("fp32", KEPT),
    f"bf16 ({', '.join(sorted(KEPT))} in fp32: the engine's choice)": ("bf16", KEPT),
    "bf16 (decoder, DINOv2, key projection, memory in fp32)": (
        "bf16", frozenset({"memory", "decoder", "dino", "key_projection"})),
    "bf16 (memory in fp32)": ("bf16", frozenset({"memory"})),
    "bf16 (everything under autocast)": ("bf16", frozenset()),
}


def _colorize(video: Path, weights: Path, precision: str, fp32_parts: frozenset[str], frames: int,
              kind: str = "keyframe", process_size: int = 540) -> tuple[list[np.ndarray], list[float]]:
    """8-bit RGB outputs of frames ``0..frames-1`` and each frame's seconds, from frame 0's true colours."""
    saved = InferenceEngine.fp32_parts
    InferenceEngine.fp32_parts = fp32_parts
    try:
        with Session(video, weights=weights, config=SessionConfig(device="cpu", precision=precision,  # type: ignore[arg-type]
                                                                  process_size=process_size)) as session:
            session.set_exemplars([Exemplar(frame=0, image=_first_frame(video), kind=kind)])  # type: ignore[arg-type]
            outputs, seconds = [], []
            began = time.perf_counter()
            for result in session.colorize(range(frames)):
                now = time.perf_counter()
                seconds.append(now - began)
                began = now
                outputs.append(result.to_uint8())
        return outputs, seconds
    finally:
        InferenceEngine.fp32_parts = saved


def _first_frame(video: Path) -> np.ndarray:
    return clip_frames(1, *_size(video), path=video)[0].astype(np.float32) / 255.0


def _size(video: Path) -> tuple[int, int]:
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return stream.width, stream.height


def difference(reference: list[np.ndarray], other: list[np.ndarray]) -> dict[str, float]:
    """Mean, 99.9th percentile and max absolute difference in 8-bit LSB, and the share of values over 2 LSB."""
    diff = np.abs(np.stack(reference).astype(np.int16) - np.stack(other).astype(np.int16)).ravel()
    return {
        "mean_lsb": float(diff.mean()),
        "p999_lsb": float(np.percentile(diff, 99.9)),
        "max_lsb": int(diff.max()),
        "share_over_2_lsb": float((diff > 2).mean()),
    }


def difference_cells(row: dict) -> str:
    """A :func:`difference` as Markdown table cells: mean, 99.9th percentile and max LSB, share over 2 LSB."""
    return (f"{row['mean_lsb']:.3f} | {row['p999_lsb']:.1f} | {row['max_lsb']} | "
            f"{100 * row['share_over_2_lsb']:.2f} %")


def quality(weights: Path, frames: int) -> dict[str, object]:
    """bf16 (both ways) against fp32 on ``frames`` frames of the real clip, the exemplar's frame left out."""
    outputs = {name: _colorize(SHORT_CLIP, weights, p, keep, frames)[0][1:] for name, (p, keep) in VARIANTS.items()}
    rows = [{"variant": name, **difference(outputs["fp32"], out)} for name, out in outputs.items() if name != "fp32"]
    return {"source": f"{SHORT_CLIP.name} {'x'.join(map(str, _size(SHORT_CLIP)))}", "frames": frames - 1,
            "rows": rows, "load": load_average()}


def source_video(folder: Path, size: str, frames: int) -> Path:
    """A real clip resized to ``size`` ("WxH"), ``frames`` frames long, written into ``folder``."""
    width, height = map(int, size.split("x"))
    return write_video(folder / f"src_{size}.mp4", clip_frames(frames, width, height))


def session_seconds(video: Path, weights: Path, precision: str, fp32_parts: frozenset[str], frames: int) -> float:
    """Median seconds per frame of a session over ``frames`` frames after a warm-up frame (a reference exemplar)."""
    return median(_colorize(video, weights, precision, fp32_parts, frames + 1, kind="reference")[1][1:])


def speed(weights: Path, size: str, frames: int) -> dict[str, object]:
    """fp32 and bf16 sessions on the same ``size`` source, one after the other: median s/frame after warm-up."""
    with tempfile.TemporaryDirectory() as tmp:
        video = source_video(Path(tmp), size, frames + 1)
        row: dict[str, object] = {"source": size, "frames": frames, "load": [load_average()]}
        for precision in ("fp32", "bf16"):
            row[f"{precision}_seconds"] = session_seconds(video, weights, precision, KEPT, frames)
            row["load"].append(load_average())  # type: ignore[attr-defined]
    row["speedup"] = row["fp32_seconds"] / row["bf16_seconds"]  # type: ignore[operator]
    return row


def run(quick: bool, threads: int = 2) -> dict[str, object]:
    """Measures quality and speed; a JSON-ready result."""
    from colormnet.engines.colormnet.weights import save_random_weights

    torch.set_num_threads(threads)
    result: dict[str, object] = {"machine": machine() | {"threads": threads},
                                 "native_bf16": engine_precision.native_cpu_bf16(), "threads": threads,
                                 "quality": None, "speed": []}
    if not result["native_bf16"]:  # bf16 asked for runs in fp32 here: nothing to compare
        return result
    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        return result | {"quality": quality(weights, QUALITY_FRAMES[quick]),
                         "speed": [speed(weights, size, n) for size, n in SPEED_PLAN[quick]]}


def render_markdown(result: dict | None) -> str:
    """The "CPU bf16" section of ``docs/performance.md``."""
    lines = ["## CPU bf16", ""]
    if not result:
        return "\n".join([*lines, "Not measured in this run (`python -m benchmarks --only bf16`).", ""])
    cpu = f" ({result['machine']['cpu']}, {result['machine']['cores']} cores)" if result.get("machine") else ""
    if not result["native_bf16"]:
        return "\n".join([*lines, (
            f"This CPU{cpu} has no native bf16 (AMX or AVX512-BF16), so `--precision bf16` runs in fp32 on it, with "
            "a warning (oneDNN's emulated bf16 runs many times slower than fp32), and the app's previews stay fp32: "
            "there is no bf16 to measure here."), ""])
    lines += [
        f"This CPU{cpu} has native bf16 (AMX or AVX512-BF16); {result['threads']} threads, random checkpoint. "
        "`--precision bf16` runs the ColorMNet engine under CPU bf16 autocast on a CPU with native bf16 (on any "
        "other it runs fp32, with a warning). `--precision auto` stays fp32 on the CPU (CLI, library, the app's "
        "exports); "
        "the app's previews use bf16 where the CPU has it natively, and an export computes the previewed frames "
        "again in fp32 (the cache keys hold the precision); the frames an export rendered then count as colorized "
        "and are shown, and previews leave them alone. Under bf16 the engine keeps the memory (similarity, "
        "top-k, softmax, readout, consolidation) and the decoder in fp32 (`InferenceEngine.fp32_parts`): bf16 keys "
        "reorder near-equal top-k similarities, and the decoder's last layers and hidden state round the chroma "
        "itself. The key encoder stays in bf16: keeping it in fp32 as well (its DINOv2 branch, key projection and "
        "fusion blocks) meets the 1 % target on every clip measured but leaves bf16 no faster than fp32 "
        "(`python -m benchmarks.bf16_parts`, `benchmarks/notes.md`). "
        "Timings share the machine with other work: "
        "see the load averages.",
        "",
        "| source | fp32 s/frame | bf16 s/frame | speed-up | load (1/5/15 min) |",
        "|---|---|---|---|---|",
    ]
    for r in result["speed"]:
        load = "; ".join("/".join(f"{x:.1f}" for x in la) for la in r["load"])
        lines.append(f"| {r['source']} | {r['fp32_seconds']:.2f} | {r['bf16_seconds']:.2f} | "
                     f"x{r['speedup']:.2f} | {load} |")
    q = result["quality"]
    lines += [
        "",
        f"Difference to fp32 on 8-bit RGB ({q['source']}, {q['frames']} frames after the keyframe exemplar; target: "
        "at most 1 % of values more than 2 LSB off):",
        "",
        "| variant | mean LSB | 99.9th percentile LSB | max LSB | values > 2 LSB |",
        "|---|---|---|---|---|",
    ]
    for r in q["rows"]:
        lines.append(f"| {r['variant']} | {difference_cells(r)} |")
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    """Runs the measurements and prints them (and writes JSON when asked)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu_bf16", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and sizes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the raw result here too")
    args = parser.parse_args(argv)
    result = run(args.quick, args.threads)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    print(render_markdown(result))


if __name__ == "__main__":
    main()
