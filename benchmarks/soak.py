"""Soak test: colorize a long run at a small size and record RSS, open files and threads every 100 frames.

Not part of the test suite (it takes a while). The figures must stay flat: memory is bounded (working memory,
long-term memory with eviction, no per-frame state kept by the session or the writer).

    python -m benchmarks.soak --frames 2000 --process-size 112 [--output soak.csv]

The input is the 288-frame 1906 film played back and forth as an image sequence made once in a temporary folder
(2,000 frames), colorized through the CLI path (session -> spool -> H.264 writer) with a random checkpoint.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    """Resident set size now, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def make_sequence(folder: Path, count: int) -> None:
    from colormnet.video import VideoReader

    with VideoReader(ROOT / "tests" / "data" / "clips" / "shepard_calais_1906_bw.ogv") as reader:
        n = reader.info.frame_count
        for i in range(count):
            k = i % (2 * n - 2)
            index = k if k < n else 2 * n - 2 - k  # ping-pong
            Image.fromarray(reader.read(index)).save(folder / f"frame_{i:05d}.png", compress_level=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--process-size", type=int, default=112)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--output", type=Path, help="CSV of the samples")
    args = parser.parse_args(argv)

    from colormnet.engines.colormnet.weights import save_random_weights
    from colormnet.session import Exemplar, Session, SessionConfig
    from colormnet.video import VideoWriter

    with tempfile.TemporaryDirectory(prefix="colormnet-soak-") as tmp:
        work = Path(tmp)
        (work / "seq").mkdir()
        print(f"making a {args.frames}-frame sequence ...", file=sys.stderr)
        make_sequence(work / "seq", args.frames)
        weights = save_random_weights(work / "random.pth", seed=0)
        colour = np.asarray(Image.open(ROOT / "tests" / "data" / "golden" / "exemplar.png").convert("RGB"))
        rows = ["frame,seconds,rss_mib,open_files,threads,memory_elements"]
        config = SessionConfig(process_size=args.process_size)
        began = time.perf_counter()
        with Session(work / "seq", weights=weights, config=config) as session:
            session.set_exemplars([Exemplar(0, colour.astype(np.float32) / 255, kind="reference")])
            info = session.video_info
            with VideoWriter(work / "out.mp4", "h264", width=info.width, height=info.height,
                             source=session.reader) as writer:
                for result in session.colorize():
                    writer.write(result.to_uint8())
                    n = result.index + 1
                    if n % args.every == 0 or n == args.frames:
                        row = (f"{n},{time.perf_counter() - began:.1f},{rss_mib():.1f},{open_files()},"
                               f"{threading.active_count()},{_memory_elements()}")
                        rows.append(row)
                        print(row, flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB", file=sys.stderr)
    if args.output:
        args.output.write_text("\n".join(rows) + "\n")
    return 0


def _memory_elements() -> int:
    """Memory elements held by the live engine (found through the garbage collector; 0 if none)."""
    import gc

    from colormnet.engines.colormnet.inference.engine import InferenceEngine

    with warnings.catch_warnings():  # isinstance() touches deprecated torch attributes of unrelated objects
        warnings.simplefilter("ignore")
        engines = [o for o in gc.get_objects() if isinstance(o, InferenceEngine)]
    return max((e.memory.size for e in engines), default=0)


if __name__ == "__main__":
    sys.exit(main())
