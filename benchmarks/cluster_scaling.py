"""``python -m benchmarks.cluster_scaling``: a chunked run on a local Ray instance with 1 and with 2 workers.

The bundled clip with four exemplars (four units) through the propagate engine; prints the wall time of each run
(Ray already started, workers warm after a first run) and the machine's load, which on a shared machine says how
much the figures are worth.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.measure import load_average


def _run(workers: int, folder: Path, process_size: int, frames: range) -> float:
    from colormnet.cluster.driver import ChunkedRun, run_chunked
    from colormnet.exemplar import load_exemplar_image
    from colormnet.session import Exemplar, SessionConfig
    from colormnet.video import VideoReader

    clip = Path(__file__).resolve().parents[1] / "tests" / "data" / "clips" / "realshort.mp4"
    exemplars = []
    with VideoReader(clip) as reader:
        from PIL import Image

        for frame in range(frames.start, frames.stop, max(1, len(frames) // 4)):
            path = folder / f"still{frame}.png"
            Image.fromarray(reader.read(frame)).save(path)
            exemplars.append(Exemplar(frame=frame, image=load_exemplar_image(path)))
    run = ChunkedRun(video=clip, output=folder / f"out{workers}", codec="png", exemplars=exemplars,
                     config=SessionConfig(engine="propagate", process_size=process_size), frames=frames,
                     cluster="local", workers=workers, work_dir=folder / "work")
    began = time.perf_counter()
    run_chunked(run)
    return time.perf_counter() - began


def main() -> None:
    """Prints the seconds of a 1-worker and a 2-worker run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--process-size", type=int, default=240)
    parser.add_argument("--frames", type=int, default=36)
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    frames = range(0, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm-up"
        warm.mkdir()
        _run(2, warm, args.process_size, frames)  # starts the worker processes and their imports
        print(f"load before: {load_average()}")
        results = {}
        for workers in (1, 2):
            folder = Path(tmp) / f"w{workers}"
            folder.mkdir()
            results[workers] = _run(workers, folder, args.process_size, frames)
            print(f"{workers} worker(s): {results[workers]:.1f} s for {len(frames)} frames "
                  f"({len(frames) / results[workers]:.2f} fps)")
        print(f"load after: {load_average()}; speed-up x{results[1] / results[2]:.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
