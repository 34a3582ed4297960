"""Transitions between two exemplars of one shot, and memory reset at cuts, measured with the ``propagate`` engine.

Protocol: colour clips, their luminance as the input, the true first and last frame of a shot as keyframes. Scored
on the frames strictly between them (8-bit RGB PSNR against the true frames, the prediction's chroma on the true
L*) for:

  forward   the first keyframe alone, run forward (``--transition cut``: today's behaviour between two exemplars);
  backward  the last keyframe alone, run backward;
  naive     a linear cross-fade, by position, of the forward and the backward renders (what users do by hand);
  position  the blend's weight by position alone (smoothstep), without the engine's per-pixel confidence;
  blend     ``--transition blend``: the session's fusion of the two passes (position and confidence).

``jump`` is the largest frame-to-frame mean |Δab| of a render over the shot, as a multiple of the true clip's own
largest (1.5 or less: no visible jump).

Montage: three shots of different clips cut together, each with its true frame pinned ``--late`` frames after its
cut; the frames between a cut and the next exemplar, with and without the shot list (without: they run on from the
previous shot's exemplar).

Nothing in the blend was chosen on these clips (the smoothstep weight is fixed by its end conditions: zero share
and zero slope at each exemplar). The runs marked "check" are kept for checking only, should anything be tuned.

Usage:
    .venv/bin/python benchmarks/transition_quality.py [--size 240] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from colormnet import color
from colormnet.metrics import psnr
from colormnet.plan import ShotSpan
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader

CLIPS = Path(__file__).resolve().parent.parent / "tests" / "data" / "clips"

# (name, clip, first frame, last frame + 1, role)
SHOTS = (
    ("realshort 0-35", "realshort.mp4", 0, 36, "tune"),
    ("movie 0-82", "movie.mp4", 0, 83, "tune"),
    ("cockatoo 0-99", "cockatoo.mp4", 0, 100, "tune"),
    ("movie 83-165", "movie.mp4", 83, 166, "check"),
    ("cockatoo 150-279", "cockatoo.mp4", 150, 280, "check"),
)


def load(clip: str, start: int, stop: int, size: int) -> list[np.ndarray]:
    """Frames ``[start, stop)`` as uint8 RGB, ``size`` pixels on the short side."""
    frames = []
    with VideoReader(CLIPS / clip) as reader:
        for _, rgb in reader.frames(start, stop):
            h, w = rgb.shape[:2]
            scale = size / min(h, w)
            small = color.resize_rgb(rgb, round(w * scale) // 2 * 2, round(h * scale) // 2 * 2)
            frames.append(np.round(small * 255.0).astype(np.uint8))
    return frames


def write(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).save(folder / f"{i:05d}.png", compress_level=1)
    return folder


def keyframe(frames: list[np.ndarray], index: int) -> Exemplar:
    return Exemplar(index, frames[index].astype(np.float32) / 255.0, kind="keyframe")


def render(video: Path, exemplars: list[Exemplar], config: SessionConfig, shots=None) -> dict[int, np.ndarray]:
    """Frame -> normalised ``2 x H x W`` chroma of the render."""
    with Session(video, config=config) as session:
        session.set_exemplars(exemplars)
        session.set_shots(shots)
        return {r.index: color.normalize_lab(color.rgb_to_lab(r.rgb))[1:] for r in session.colorize()}


def score(frames: list[np.ndarray], ab: dict[int, np.ndarray], indices: range) -> float:
    values = []
    for f in indices:
        truth = frames[f]
        rgb = color.compose_rgb(color.luminance(truth), ab[f])
        values.append(psnr(color.to_uint8_truncated(rgb), truth))
    return float(np.mean(values))


def jump(ab: dict[int, np.ndarray], frames: list[np.ndarray]) -> float:
    """Largest frame-to-frame mean |Δab| of the render over that of the true clip."""
    true = [color.normalize_lab(color.rgb_to_lab(f))[1:] for f in frames]
    ours = max(float(np.abs(ab[f + 1] - ab[f]).mean()) for f in range(len(frames) - 1))
    theirs = max(float(np.abs(true[f + 1] - true[f]).mean()) for f in range(len(frames) - 1))
    return ours / theirs


def _smoothstep(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


def transitions(size: int, workdir: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, clip, start, stop, role in SHOTS:
        frames = load(clip, start, stop, size)
        video = write(workdir / name.replace(" ", "_"), frames)
        n = len(frames)
        cut = SessionConfig(engine="propagate", process_size=size, transition="cut")
        blend_cfg = SessionConfig(engine="propagate", process_size=size, transition="blend")
        forward = render(video, [keyframe(frames, 0)], cut)
        backward = render(video, [keyframe(frames, n - 1)], cut)
        blend = render(video, [keyframe(frames, 0), keyframe(frames, n - 1)], blend_cfg)
        naive = {f: (1 - f / (n - 1)) * forward[f] + f / (n - 1) * backward[f] for f in range(n)}
        weights = [_smoothstep(f / (n - 1)) for f in range(n)]
        smooth = {f: (1 - w) * forward[f] + w * backward[f] for f, w in enumerate(weights)}
        inner = range(1, n - 1)
        row: dict[str, object] = {"shot": name, "role": role, "frames": n}
        methods = (("forward", forward), ("backward", backward), ("naive", naive), ("position", smooth),
                   ("blend", blend))
        for method, ab in methods:
            row[method] = round(score(frames, ab, inner), 2)
            row[f"{method}_jump"] = round(jump(ab, frames), 2)
        rows.append(row)
        print(f"{name:18s} {role:5s} n={n:3d}  " + "  ".join(
            f"{m} {row[m]:.2f} (jump {row[m + '_jump']:.2f})" for m, _ in methods),
            flush=True)
    return rows


def montage(size: int, workdir: Path, late: int) -> dict[str, object]:
    parts = [load("realshort.mp4", 0, 30, size), load("movie.mp4", 0, 30, size), load("cockatoo.mp4", 0, 30, size)]
    h = min(p[0].shape[0] for p in parts)
    w = min(p[0].shape[1] for p in parts)
    frames = [f[:h, :w] for p in parts for f in p]
    video = write(workdir / "montage", frames)
    shots = [ShotSpan(0, 30), ShotSpan(30, 60), ShotSpan(60, 90)]
    exemplars = [keyframe(frames, s.start + late) for s in shots]
    config = SessionConfig(engine="propagate", process_size=size, transition="cut")
    with_shots = render(video, exemplars, config, shots)
    without = render(video, exemplars, config)
    between = [f for s in shots[1:] for f in range(s.start, s.start + late)]
    result = {"late": late, "with_shots": round(score(frames, with_shots, between), 2),
              "without_shots": round(score(frames, without, between), 2)}
    print(f"montage: frames between a cut and its exemplar ({late} after it): with shots {result['with_shots']:.2f} "
          f"dB, without {result['without_shots']:.2f} dB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=240, help="short side of the frames (default 240)")
    parser.add_argument("--late", type=int, default=4, help="montage: exemplar this many frames after a cut")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {"transitions": transitions(args.size, Path(tmp)),
                   "montage": montage(args.size, Path(tmp), args.late)}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
