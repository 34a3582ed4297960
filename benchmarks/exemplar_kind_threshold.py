"""Measures the similarity that tells a keyframe exemplar from a reference photo, on the test clips.

Keyframe pairs: a colour frame, graded or degraded a little, against the grayscale version of that same frame
(for the black-and-white film, a toned copy of the frame against the frame). Reference pairs: the colour frame of
the same clip 2 s later with camera motion, of another clip, or a generic photo, against a grayscale frame.
A third group, frames of one static shot 2 s apart, is shown but not separated: such frames show the same picture.
The table lists every pair's score from ``classify_exemplar``, then each group's range and the threshold's margins.

Usage:
    .venv/bin/python benchmarks/exemplar_kind_threshold.py [--clips tests/data/clips]
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageEnhance

from colormnet.exemplar_kind import KEYFRAME_SSIM_THRESHOLD, classify_exemplar

# Anchor frames per clip and the frame 2 s later; realshort lasts 1.2 s, so its first and last frames pair up.
# cockatoo and realshort are hand-held (camera motion); movie and the 1906 film are static shots.
MOVING_CLIPS = {"cockatoo.mp4": [(i, i + 40) for i in range(0, 240, 40)], "realshort.mp4": [(0, 35), (35, 0)]}
STATIC_CLIPS = {
    "movie.mp4": [(20, 80), (80, 140), (100, 160)],
    "shepard_calais_1906_bw.ogv": [(40, 70), (120, 150), (200, 230)],
}
BW_CLIP = "shepard_calais_1906_bw.ogv"

Pair = tuple[str, str, np.ndarray, np.ndarray]  # (description, group, exemplar, frame)


def decode_frames(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    """Decodes the given frames of a clip as uint8 RGB."""
    frames: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in indices:
                frames[index] = frame.to_ndarray(format="rgb24")
            if len(frames) == len(indices):
                break
    return frames


def luma_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, saved as three equal channels (what a telecine of the colour frame gives)."""
    return np.asarray(Image.fromarray(rgb).convert("L").convert("RGB"))


def lightness_gray(rgb: np.ndarray) -> np.ndarray:
    """The gray with the same relative luminance (hence the same L*) as each pixel, three equal channels."""
    linear = np.where(rgb > 10, ((rgb / 255 + 0.055) / 1.055) ** 2.4, rgb / 255 / 12.92)
    y = linear @ np.array([0.212671, 0.715160, 0.072169])
    srgb = np.where(y > 0.0031308, 1.055 * y ** (1 / 2.4) - 0.055, 12.92 * y)
    return np.repeat(np.round(srgb * 255).astype(np.uint8)[..., None], 3, axis=2)


def jpeg(rgb: np.ndarray, quality: int = 70) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def gamma(rgb: np.ndarray, value: float) -> np.ndarray:
    return np.round(255 * (rgb / 255) ** value).astype(np.uint8)


def saturation(rgb: np.ndarray, factor: float) -> np.ndarray:
    return np.asarray(ImageEnhance.Color(Image.fromarray(rgb)).enhance(factor))


def shift(rgb: np.ndarray, pixels: int) -> np.ndarray:
    """Moves the picture right and down, repeating the edge (a slightly misregistered colour scan)."""
    padded = np.pad(rgb, ((pixels, 0), (pixels, 0), (0, 0)), mode="edge")
    return padded[: rgb.shape[0], : rgb.shape[1]]


def crop(rgb: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return rgb[dy : rgb.shape[0] - dy, dx : rgb.shape[1] - dx]


def crop_fraction(rgb: np.ndarray, fraction: float) -> np.ndarray:
    return crop(rgb, round(rgb.shape[0] * fraction), round(rgb.shape[1] * fraction))


def half_size(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] // 2, rgb.shape[0] // 2), Image.Resampling.LANCZOS))


def tint(gray: np.ndarray) -> np.ndarray:
    """A hand-colouring stand-in for a black-and-white frame: a sepia tone with a warmer midrange."""
    level = gray[..., 0].astype(np.float64) / 255
    toned = np.stack([level**0.85, level**1.0, level**1.3], axis=-1)
    return np.round(255 * toned).astype(np.uint8)


GRADINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as is": lambda rgb: rgb,
    "gamma 0.8": lambda rgb: gamma(rgb, 0.8),
    "gamma 1.25": lambda rgb: gamma(rgb, 1.25),
    "saturation x0.5": lambda rgb: saturation(rgb, 0.5),
    "saturation x1.6": lambda rgb: saturation(rgb, 1.6),
    "JPEG q=70": jpeg,
    "shift 2 px": lambda rgb: shift(rgb, 2),
    "shift 4 px": lambda rgb: shift(rgb, 4),
    "crop 4 px a side": lambda rgb: crop(rgb, 4, 4),
    "crop 2 % a side": lambda rgb: crop_fraction(rgb, 0.02),
    "half size": half_size,
    "gamma 1.25, sat x1.3, shift 2, JPEG": lambda rgb: jpeg(shift(saturation(gamma(rgb, 1.25), 1.3), 2)),
}


def generic_photos() -> dict[str, np.ndarray]:
    """A few photos bundled with scikit-image, when it is installed."""
    try:
        from skimage import data
    except ImportError:
        return {}
    return {name: getattr(data, name)() for name in ("astronaut", "coffee", "chelsea")}


def pairs(clips_dir: Path) -> Iterator[Pair]:
    """Yields every measured pair; colour is a toned copy for the black-and-white film."""
    clips = MOVING_CLIPS | STATIC_CLIPS
    frames = {
        name: decode_frames(clips_dir / name, {i for pair in spans for i in pair}) for name, spans in clips.items()
    }
    colour = {name: {i: tint(rgb) if name == BW_CLIP else rgb for i, rgb in f.items()} for name, f in frames.items()}
    photos = generic_photos()
    for name, spans in clips.items():
        for anchor, later in spans:
            gray = luma_gray(frames[name][anchor])
            grays = (
                [("luma", gray)] if name == BW_CLIP else [("luma", gray), ("L*", lightness_gray(colour[name][anchor]))]
            )
            for grading, grade in GRADINGS.items():
                for gray_name, frame in grays:
                    yield (
                        f"{name}@{anchor} {grading} vs its {gray_name} gray",
                        "keyframe",
                        grade(colour[name][anchor]),
                        frame,
                    )
            group = "reference" if name in MOVING_CLIPS else "static shot"
            yield f"{name}@{later} (2 s later) vs gray {name}@{anchor}", group, colour[name][later], gray
            for other, other_colour in colour.items():
                if other != name:
                    index = min(other_colour)
                    yield f"{other}@{index} vs gray {name}@{anchor}", "reference", other_colour[index], gray
            for photo_name, photo in photos.items():
                yield f"photo {photo_name} vs gray {name}@{anchor}", "reference", photo, gray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=Path(__file__).parents[1] / "tests" / "data" / "clips")
    args = parser.parse_args()

    scores: dict[str, list[float]] = {"keyframe": [], "reference": [], "static shot": []}
    print(f"{'pair':<72} {'group':<12} {'score':>6}  kind")
    for description, group, exemplar, frame in pairs(args.clips):
        kind, score = classify_exemplar(exemplar, frame)
        scores[group].append(score)
        flag = "" if group == "static shot" or kind == group else "  <- WRONG"
        print(f"{description:<72} {group:<12} {score:6.3f}  {kind}{flag}")

    print()
    for group, values in scores.items():
        print(f"{group:<12} {len(values):3d} pairs, score {min(values):.3f} .. {max(values):.3f}")
    low, high = min(scores["keyframe"]), max(scores["reference"])
    print(
        f"threshold {KEYFRAME_SSIM_THRESHOLD:.3f}: {low - KEYFRAME_SSIM_THRESHOLD:+.3f} to the lowest keyframe, "
        f"{KEYFRAME_SSIM_THRESHOLD - high:+.3f} to the highest reference; middle of the gap {(low + high) / 2:.3f}"
    )


if __name__ == "__main__":
    main()
