"""Measuring helpers shared by the benchmark parts: the machine, load, memory, timing and test inputs.

Every figure is stored with the load average seen while it was taken, so a reader can tell a quiet machine from a
busy one. Peak memory is the process's peak resident set on the CPU and ``torch.cuda.max_memory_allocated`` on a
GPU; each part runs in its own process so one part's peak does not leak into another's.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch

from colormnet.engines.precision import native_cpu_bf16

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ROOT / "tests" / "data" / "clips"
SOURCE_CLIP = CLIPS / "cockatoo.mp4"  # 1280x720 camera footage, resized to each benchmark size
SHORT_CLIP = CLIPS / "realshort.mp4"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def format_loads(loads: list[list[float]]) -> str:
    """Load averages as the reports print them: ``1.0/1.2/1.4 -> 1.1/1.2/1.4``."""
    return " -> ".join("/".join(f"{x:.1f}" for x in load) for load in loads)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, object] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "native_bf16": native_cpu_bf16(),  # AMX or AVX512-BF16: whether CPU bf16 is computed natively
    }
    return info


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: GPU allocations on CUDA, resident set on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mb()


def synchronize(device: torch.device) -> None:
    """Waits for queued GPU work, so that wall-clock times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float, object]:
    """Runs ``fn``; returns its wall-clock seconds (GPU work included), the process's CPU seconds, and its result.

    CPU seconds are much less sensitive to other processes than wall-clock time on a shared machine (with ``n``
    threads fully busy, wall-clock time is about CPU time / ``n``).
    """
    synchronize(device)
    began, cpu = time.perf_counter(), time.process_time()
    out = fn()
    synchronize(device)
    return time.perf_counter() - began, time.process_time() - cpu, out


def median(values: list[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def clip_frames(count: int, width: int, height: int, path: Path = SOURCE_CLIP) -> list[np.ndarray]:
    """``count`` RGB frames of a real clip resized to ``width x height`` (the clip is played back and forth)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            if len(frames) == count:
                break
    cycle = frames + frames[-2:0:-1] if len(frames) > 2 else frames
    return [cycle[i % len(cycle)] for i in range(count)]


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """Writes RGB frames as an H.264 (yuv420p) file, a typical source for the app."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
