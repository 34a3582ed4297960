"""Peak memory of reading and classifying a large exemplar, against the size of its 8-bit pixels.

A synthetic colour image of each size is written as PNG and JPEG; a fresh process then loads it as an exemplar
and classifies it against a 320x240 frame (what ``colorize`` does before the model starts). The figure is the
rise of that process's peak resident set (``VmHWM``, reset after the imports) over its resident set before the
exemplar. Linux only (``/proc``).

Usage:
    .venv/bin/python -m benchmarks.exemplar_memory [--sizes 9990x10000,5000x5000] [--formats png,jpeg]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.measure import ROOT

_CHILD = """
import json, sys
import numpy as np
from colormnet.exemplar import classify_exemplar, load_exemplar_image

def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field + ":"))

with open("/proc/self/clear_refs", "w") as handle:  # resets VmHWM: the imports' peak is not the exemplar's
    handle.write("5")
frame = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
before = status("VmRSS")
rgb = load_exemplar_image(sys.argv[1])
kind, score = classify_exemplar(rgb, frame)
print(json.dumps({"rise": status("VmHWM") - before, "shape": list(rgb.shape), "kind": kind}))
"""


def write_exemplar(path: Path, width: int, height: int) -> Path:
    """Writes a smooth colour image (hue ramps and rings) that compresses well, as PNG or JPEG by the suffix."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = (x * 255).astype(np.uint8)
    rgb[..., 1] = (y * 255).astype(np.uint8)
    rgb[..., 2] = ((np.sin(40 * (x * x + y * y)) * 0.5 + 0.5) * 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    del rgb
    if path.suffix == ".png":
        image.save(path, compress_level=1)
    else:
        image.save(path, quality=90)
    return path


def measure(path: Path) -> dict[str, float | str]:
    """Loads and classifies ``path`` in a fresh process; its peak rise in MB and as a multiple of the 8-bit size."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            width, height = image.size
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, env=env,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    eight_bit = width * height * 3
    return {
        "file": path.name,
        "size": f"{width}x{height}",
        "eight_bit_mb": eight_bit / 1e6,
        "peak_rise_mb": result["rise"] / 1e6,
        "ratio": result["rise"] / eight_bit,
        "working": "x".join(str(n) for n in result["shape"][1::-1]),
    }


def main(argv: list[str] | None = None) -> None:
    """Prints one line per size and format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="9990x10000,5000x5000")
    parser.add_argument("--formats", default="png,jpeg")
    args = parser.parse_args(argv)
    print(f"{'file':<22} {'pixels':>12} {'8-bit MB':>9} {'peak rise MB':>13} {'x 8-bit':>8} {'kept at':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            width, height = (int(n) for n in size.split("x"))
            for fmt in args.formats.split(","):
                path = write_exemplar(Path(folder) / f"exemplar_{size}.{'png' if fmt == 'png' else 'jpg'}",
                                      width, height)
                row = measure(path)
                print(f"{row['file']:<22} {row['size']:>12} {row['eight_bit_mb']:>9.0f} {row['peak_rise_mb']:>13.0f} "
                      f"{row['ratio']:>8.2f} {row['working']:>10}")
                path.unlink()


if __name__ == "__main__":
    main()
