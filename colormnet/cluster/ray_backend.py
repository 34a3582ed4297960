"""The Ray side of a run: one task per unit, retried when its worker dies, with progress on a shared board.

The checkpoint's state dict is put in the object store once and every task maps it from there (one ColorMNet per
worker process, as in a local run). A task asks for one GPU when the cluster has GPUs, else one CPU; Ray retries a
task whose worker process or node dies (``max_retries``), never one that raised an error of its own (a bad exemplar
fails the same way every time). Without shared storage a task renders into a node-local folder and returns the
chunk's bytes through the object store.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colormnet.cluster.manifest import ChunkRecord
from colormnet.cluster.render import Throttle, colormnet_from_state, render_unit
from colormnet.cluster.units import JobSpec, Unit
from colormnet.errors import ColorMNetError, InferenceError

RUN_MARKER = "run.json"  # written by the driver in the run folder; a task that sees it writes there directly
MAX_RETRIES = 3


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        InferenceError: ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise InferenceError("Rendering on a cluster needs Ray: pip install 'colormnet-studio[cluster]'.") from None
    return ray


def connect(address: str, workers: int | None) -> bool:
    """Joins the Ray cluster at ``address`` (``local``: starts one on this machine); True when this call started it.

    An already initialised Ray (a test, the app) is used as it is.

    Raises:
        InferenceError: ray is missing or the cluster cannot be reached.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address != "local":
        _check_reachable(address)
    try:
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     _node_ip_address="127.0.0.1")  # a cluster of this machine alone: loopback only
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise InferenceError(f"Cannot reach the Ray cluster at {address} ({str(exc).splitlines()[0]}).") from exc
    return True


def _check_reachable(address: str) -> None:
    """Fails fast, in one line, on a ``host:port`` nobody listens at (Ray itself would retry for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise InferenceError(f"Cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
                             "`ray start --head` on the head node, or check the address.") from None


class ProgressBoard:
    """A small actor the tasks report to: per unit, frames processed, frames to process, attempts, worker pid."""

    def __init__(self) -> None:
        self.units: dict[int, dict[str, int]] = {}

    def started(self, unit: int, pid: int) -> None:
        """A task (first try or retry) began rendering ``unit`` in process ``pid``."""
        entry = self.units.setdefault(unit, {"done": 0, "total": 0, "attempts": 0, "pid": 0})
        entry.update(done=0, attempts=entry["attempts"] + 1, pid=pid)

    def update(self, unit: int, done: int, total: int) -> None:
        """Frames processed so far by the unit's current attempt."""
        entry = self.units.setdefault(unit, {"done": 0, "total": 0, "attempts": 1, "pid": 0})
        entry.update(done=done, total=total)

    def snapshot(self) -> dict[int, dict[str, int]]:
        """The board's state."""
        return self.units


def _render_task(job: JobSpec, exemplars: list, unit: Unit, folder: str, weights: dict[str, Any] | None,
                 board: Any) -> tuple[ChunkRecord, bytes | None]:
    """Body of the Ray task: renders one unit; returns its record, and its bytes when storage is not shared."""
    board.started.remote(unit.index, os.getpid())
    backend = None
    if weights is not None:
        state = {key: torch.from_numpy(np.array(value)) for key, value in weights["state"].items()}
        backend = colormnet_from_state(state, job, weights["id"], weights["is_random"])
    report = Throttle(lambda index, done, total: board.update.remote(index, done, total))
    run_folder = Path(folder)
    if (run_folder / RUN_MARKER).is_file():
        return render_unit(job, exemplars, unit, run_folder, backend=backend, report=report), None
    local = Path(tempfile.mkdtemp(prefix="colormnet-unit-"))
    try:
        record = render_unit(job, exemplars, unit, local, backend=backend, report=report)
        return record, (local / record.name).read_bytes()
    finally:
        shutil.rmtree(local, ignore_errors=True)


@dataclass
class Progress:
    """The cluster's progress as the driver sees it.

    Attributes:
        units: per unit index, frames processed by its current attempt and its attempts so far.
        finished: indices of the units whose chunk is in the run folder.
    """

    units: dict[int, dict[str, int]]
    finished: set[int]

    @property
    def retried(self) -> int:
        """Attempts beyond the first, over all units."""
        return sum(max(0, entry["attempts"] - 1) for entry in self.units.values())


def run_on_ray(
    job: JobSpec,
    exemplars: Sequence[Any],
    units: Sequence[Unit],
    folder: Path,
    *,
    workers: int | None,
    weights: dict[str, Any] | None,
    on_chunk: Callable[[Unit, ChunkRecord, bytes | None], None],
    on_progress: Callable[[Progress], None],
    cancel: threading.Event | None = None,
    poll: float = 0.5,
) -> None:
    """Renders ``units`` as Ray tasks, at most ``workers`` at once (default: the cluster's GPUs, else CPUs).

    Raises:
        ColorMNetError: a unit failed for a reason retrying cannot fix (the task's own error), or kept failing.
        KeyboardInterrupt: ``cancel`` was set; running tasks are cancelled.
    """
    ray = import_ray()
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    limit = max(1, workers or gpus or int(resources.get("CPU", 1)))
    board = ray.remote(num_cpus=0)(ProgressBoard).remote()
    task = ray.remote(_render_task).options(num_cpus=1, num_gpus=1 if gpus else 0, max_retries=MAX_RETRIES,
                                             retry_exceptions=False)
    exemplars_ref = ray.put(list(exemplars))
    weights_ref = ray.put(weights) if weights is not None else None
    pending = list(units)
    running: dict[Any, Unit] = {}
    finished: set[int] = set()
    try:
        while pending or running:
            while pending and len(running) < limit:
                unit = pending.pop(0)
                running[task.remote(job, exemplars_ref, unit, str(folder), weights_ref, board)] = unit
            ready, _ = ray.wait(list(running), num_returns=1, timeout=poll)
            for ref in ready:
                unit = running.pop(ref)
                record, data = _result(ray, ref, unit)
                on_chunk(unit, record, data)
                finished.add(unit.index)
            on_progress(Progress(ray.get(board.snapshot.remote()), set(finished)))
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        ray.kill(board)


def _result(ray: Any, ref: Any, unit: Unit) -> tuple[ChunkRecord, bytes | None]:
    """A finished task's result; its own error re-raised as it is, a lost worker as one sentence."""
    try:
        record, data = ray.get(ref)
        return record, data
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, ColorMNetError):
            raise cause from None
        raise InferenceError(f"Unit {unit.index} failed on the cluster: {str(cause or exc).splitlines()[-1]}") from exc
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.RayError) as exc:
        raise InferenceError(f"Unit {unit.index} failed {MAX_RETRIES + 1} times on the cluster (its worker or node "
                             f"died each time): {str(exc).splitlines()[0]}") from exc
