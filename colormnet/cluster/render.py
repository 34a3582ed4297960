"""Rendering one unit into its chunk: the same code in a Ray task and in a local chunked run.

The unit's frames come from an ordinary :class:`~colormnet.session.Session` asked for exactly those frames, so
they are computed by the same code path as a single-machine run; a backward unit is put back in frame order
through the on-disk spool, so a task's memory stays what a local run's is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colormnet.cluster.chunks import write_chunk
from colormnet.cluster.manifest import ChunkRecord, file_sha256
from colormnet.cluster.units import JobSpec, Unit
from colormnet.errors import InferenceError
from colormnet.session import Exemplar, FrameResult
from colormnet.spool import in_frame_order

# (unit index, frames processed, frames to process) after each frame
Report = Callable[[int, int, int], None]

_models: dict[tuple[str, str, str], Any] = {}  # one ColorMNet per worker process, built from the shared weights


def colormnet_from_state(state: dict[str, torch.Tensor], job: JobSpec, weights_id: str, is_random: bool) -> Any:
    """A loaded ColorMNet built from a state dict already in memory (the object store's copy), cached per process.

    Raises:
        InferenceError: the requested device is unavailable on this node.
    """
    from colormnet.engines.colormnet.backend import LoadedModel, build_network
    from colormnet.engines.precision import resolve_autocast, resolve_device

    device = resolve_device(job.config.device)
    autocast = resolve_autocast("colormnet", job.config.precision, device)
    key = (weights_id, str(device), str(autocast))
    if key not in _models:
        network = build_network(state, device, own=False)  # the object store's copy stays read-only
        _models.clear()  # one model per process, as locally
        _models[key] = LoadedModel(
            network, device, autocast, Path(job.weights or "colormnet.pth"), weights_id, is_random
        )
    return _models[key]


def render_unit(
    job: JobSpec,
    exemplars: Sequence[Exemplar],
    unit: Unit,
    folder: Path,
    *,
    backend: Any = None,
    report: Report | None = None,
    cancel: threading.Event | None = None,
) -> ChunkRecord:
    """Renders ``unit`` into ``folder / unit.chunk_name`` and returns its manifest record.

    Args:
        job: the run's shared settings.
        exemplars: all the run's exemplars (the unit's segment picks its own).
        unit: the frames to render.
        folder: where the chunk goes (the run folder, or a node-local folder without shared storage).
        backend: an already loaded engine (ColorMNet from the object store); None loads it as a session does.
        report: called after every processed frame.
        cancel: stops between frames; the chunk is then not written.

    Raises:
        ColorMNetError: a bad exemplar, unusable weights, a failure in the model (retrying cannot help).
        KeyboardInterrupt: ``cancel`` was set.
    """
    torch.set_num_threads(job.threads)
    depth = job.bit_depth
    with job.open_session() as session:
        if backend is not None:
            session._model = backend  # the weights come from memory, not from the disk
        session.set_exemplars(exemplars)

        def convert(result: FrameResult) -> np.ndarray:
            if report is not None:
                report(unit.index, result.done, result.total)
            return result.to_uint16() if depth > 8 else result.to_uint8()

        def ordered() -> Iterator[np.ndarray]:
            results = session.colorize(unit.frames, cancel=cancel)
            for _, rgb in in_frame_order(
                results, unit.frames, index=lambda r: r.index, convert=convert, workdir=folder
            ):
                yield rgb
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt  # before the chunk is renamed into place

        path = folder / unit.chunk_name
        count = write_chunk(path, ordered(), bit_depth=depth)
    if count != len(unit.frames):
        path.unlink(missing_ok=True)
        raise InferenceError(f"Unit {unit.index} produced {count} of its {len(unit.frames)} frames.")
    return ChunkRecord(name=unit.chunk_name, key=unit.key, frames=count, sha256=file_sha256(path))


class Throttle:
    """Passes a report on at most every ``interval`` seconds (and always the unit's last frame)."""

    def __init__(self, send: Report, interval: float = 0.5) -> None:
        self.send = send
        self.interval = interval
        self._last = 0.0

    def __call__(self, unit: int, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= self.interval:
            self._last = now
            self.send(unit, done, total)
