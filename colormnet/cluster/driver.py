"""A chunked run: plan the units, reuse the finished chunks, render the rest (locally or on Ray), assemble.

Nothing is written under the output name until the assembly, which goes through the ordinary atomic
:class:`~colormnet.video.VideoWriter`; the run folder survives a killed driver, so the same command resumes, and is
removed once the output is in place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from colormnet.cluster.chunks import read_chunk, remove_partials
from colormnet.cluster.manifest import ChunkRecord, Manifest
from colormnet.cluster.ray_backend import RUN_MARKER, Progress, connect, import_ray, run_on_ray
from colormnet.cluster.render import render_unit
from colormnet.cluster.units import JobSpec, Unit, plan_units, run_key, weights_identity
from colormnet.errors import InferenceError, OutputError
from colormnet.fileio import write_bytes_atomic
from colormnet.io_threads import WriteBehind
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import CODECS, VideoWriter, check_output_path

logger = logging.getLogger(__name__)

RUN_PREFIX = "colormnet-run-"
ASSEMBLY_WRITE_BEHIND = 4  # frames decoded from the chunks ahead of the final encoder (a few frames' memory)


@dataclass(frozen=True)
class ChunkedRun:
    """What to render and where.

    Attributes:
        video: the source.
        output: the output file or folder.
        codec: a key of :data:`~colormnet.video.CODECS`.
        exemplars: the exemplars (validated again by the run).
        config: the session's settings.
        weights: checkpoint path (None: the default place).
        frames: the frames to render (None: all).
        audio: copy the source's audio.
        overwrite: an existing output may be replaced.
        work_dir: where the run folder goes (shared storage on a cluster); None: beside the output.
        cluster: a Ray address, ``local`` for a Ray instance on this machine, or None to render here.
        workers: at most this many units at once on the cluster (None: one per GPU, else per CPU).
        shots, links: the shots and hand-chosen borrowings (see :meth:`Session.set_shots`); None: one shot.
    """

    video: Path
    output: Path
    codec: str
    exemplars: Sequence[Exemplar]
    config: SessionConfig = field(default_factory=SessionConfig)
    weights: str | Path | None = None
    frames: range | None = None
    audio: bool = True
    overwrite: bool = False
    work_dir: Path | None = None
    cluster: str | None = None
    workers: int | None = None
    shots: Sequence[Any] | None = None
    links: dict[int, int] | None = None


@dataclass
class RunStatus:
    """Progress of a chunked run, for the CLI's bar and the app's progress view.

    Attributes:
        done: frames processed in this run so far (reused chunks not counted).
        total: frames this run has to process.
        units_done: units whose chunk is ready (reused ones included); units_total: all units.
        running: units being rendered now; retried: attempts beyond the first.
        fps: frames processed per second; eta: seconds left (None before the first frame).
        stage: ``rendering`` or ``assembling``.
        pids: process id of the worker rendering each running unit (on its own node).
    """

    done: int = 0
    total: int = 0
    units_done: int = 0
    units_total: int = 0
    running: int = 0
    retried: int = 0
    fps: float = 0.0
    eta: float | None = None
    stage: str = "rendering"
    pids: dict[int, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """What a chunked run did: the chunks it rendered and reused (unit indices), and its run folder."""

    rendered: list[int]
    reused: list[int]
    folder: Path


def _weights_for_tasks(config: SessionConfig, weights: str | Path | None) -> tuple[dict[str, Any] | None, bool]:
    """The ColorMNet state dict for the object store (read once here), and whether the weights are random."""
    if config.engine != "colormnet":
        return None, False
    from colormnet.engines.colormnet.weights import fingerprint, load_weights, resolve_weights_path

    path = resolve_weights_path(weights)
    loaded = load_weights(path)
    state = {key: value.numpy() for key, value in loaded.state_dict.items()}
    return {"state": state, "id": fingerprint(path), "is_random": loaded.is_random}, loaded.is_random


class _Tracker:
    """Turns per-unit reports into a :class:`RunStatus` and passes it on."""

    def __init__(self, units: Sequence[Unit], reused: int, send: Callable[[RunStatus], None] | None) -> None:
        self.steps = {unit.index: unit.steps for unit in units}
        self.status = RunStatus(total=sum(self.steps.values()), units_done=reused, units_total=reused + len(units))
        self.send = send
        self.started = time.monotonic()

    def update(self, in_flight: dict[int, int], finished: set[int], running: int, retried: int) -> None:
        status = self.status
        status.done = sum(self.steps[i] for i in finished) + sum(v for i, v in in_flight.items() if i not in finished)
        status.units_done = status.units_total - len(self.steps) + len(finished)
        status.running, status.retried = running, retried
        elapsed = time.monotonic() - self.started
        status.fps = status.done / elapsed if elapsed > 0 else 0.0
        status.eta = (status.total - status.done) / status.fps if status.fps > 0 else None
        if self.send is not None:
            self.send(status)


def run_chunked(run: ChunkedRun, *, cancel: threading.Event | None = None,
                progress: Callable[[RunStatus], None] | None = None,
                notice: Callable[[str], None] | None = None) -> RunSummary:
    """Renders ``run`` chunk by chunk and writes the output atomically.

    Raises:
        ColorMNetError: bad inputs (the same one-line errors as a single-machine run), a unit that failed for good,
            an unreachable cluster, or an output that cannot be written; nothing is left under the output name.
        KeyboardInterrupt: ``cancel`` was set (finished chunks are kept for the next run, and ``notice`` says where;
            a run folder without any is removed).
    """
    spec = CODECS[run.codec]
    source = Path(run.video)
    check_output_path(run.output, inputs=[source], codec=run.codec, overwrite=run.overwrite)
    if run.work_dir is not None:
        _check_work_dir(Path(run.work_dir), run.output, source)
    job = JobSpec(video=str(source.resolve()), weights=str(run.weights) if run.weights else None, config=run.config,
                  bit_depth=16 if spec.bit_depth > 8 else 8, threads=torch.get_num_threads(),
                  shots=tuple(run.shots) if run.shots is not None else None, links=run.links)
    with job.open_session() as session:
        session.set_exemplars(run.exemplars)
        frames = run.frames if run.frames is not None else range(session.frame_count)
        weights_id = weights_identity(run.config.engine, run.weights)
        units = plan_units(session, job, frames, weights_id)
        made = run.work_dir is not None and not Path(run.work_dir).exists()  # taken away again once empty
        folder = _run_folder(run, units)
        manifest = Manifest(folder)
        todo = [unit for unit in units if not manifest.reusable(unit)]
        reused = [unit.index for unit in units if unit not in todo]
        tracker = _Tracker(todo, len(reused), progress)
        try:  # from here on, a cancel (loading the weights takes seconds) leaves the folder only with chunks in it
            weights, is_random = (None, False)
            if todo and run.cluster is not None:
                weights, is_random = _weights_for_tasks(run.config, run.weights)
            elif todo:
                is_random = session.load_model().is_random  # cached: the units' sessions reuse it
            if is_random and notice is not None:
                notice(f"Note: the {run.config.engine} engine runs with RANDOM weights (for tests and demos): the "
                       "colours are meaningless.")
            if reused and notice is not None:
                notice(f"Reusing {len(reused)} finished chunk(s) of {len(units)} from {folder}.")
            _render(run, job, todo, folder, manifest, tracker, cancel, weights)
            tracker.status.stage = "assembling"
            if progress is not None:
                progress(tracker.status)
            _assemble(run, session, units, folder, frames, job.bit_depth, cancel)
        except BaseException:  # cancelled, or failed (an unreachable cluster, a unit failed for good)
            try:
                _leave_for_resume(folder, manifest, notice)
            except OSError as exc:  # tidying up must not hide why the run stopped
                logger.warning("cannot tidy the run folder %s: %s", folder, exc)
            _remove_if_empty(run.work_dir if made else None)
            raise
    shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(run.work_dir if made else None)
    return RunSummary(rendered=[unit.index for unit in todo], reused=reused, folder=folder)


def _remove_if_empty(folder: Path | None) -> None:
    """Removes ``folder`` (a work folder the run made) if nothing is left in it."""
    if folder is not None:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _check_work_dir(work: Path, output: Path, source: Path) -> None:
    """Refuses a work folder that is the output or lies in it, or is the source or lies in its folder of frames:
    chunks would go under the output's name, or into what the run reads."""
    where = work.resolve()
    for what, place in (("the output", output), ("the source", source)):
        if where == place.resolve() or (where.is_relative_to(place.resolve()) and (place.is_dir() or place is output)):
            raise OutputError(f"The work folder {work} is {what} or lies inside it; choose a folder of its own.")


def _leave_for_resume(folder: Path, manifest: Manifest, notice: Callable[[str], None] | None) -> None:
    """After a cancel or a failure: a run folder without a finished chunk goes; one with finished chunks stays, and
    is named."""
    if not manifest.records:
        shutil.rmtree(folder, ignore_errors=True)
        return
    remove_partials(folder)
    if notice is not None:
        notice(f"The {len(manifest.records)} finished chunk(s) stay in {folder}: the same command resumes from "
               "them (delete that folder to start afresh).")


def _run_folder(run: ChunkedRun, units: Sequence[Unit]) -> Path:
    """Creates (or finds) the run's folder, marks it, and removes half-written chunks of killed tasks."""
    base = Path(run.work_dir) if run.work_dir is not None else run.output.absolute().parent
    folder = base / f"{RUN_PREFIX}{run_key(units)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = {"video": str(Path(run.video).resolve()), "units": [[u.frames[0], u.frames[-1]] for u in units]}
        write_bytes_atomic(folder / RUN_MARKER, json.dumps(marker).encode())
    except OSError as exc:
        raise OutputError(f"Cannot use the work folder {base} ({exc.strerror or exc}); check it.") from exc
    remove_partials(folder)
    return folder


def _render(run: ChunkedRun, job: JobSpec, todo: Sequence[Unit], folder: Path, manifest: Manifest,
            tracker: _Tracker, cancel: threading.Event | None, weights: dict[str, Any] | None) -> None:
    """Renders the missing chunks, recording each in the manifest as it completes."""
    if not todo:
        return
    if run.cluster is None:
        _render_here(run, job, todo, folder, manifest, tracker, cancel)
        return
    started = connect(run.cluster, run.workers)

    def on_chunk(unit: Unit, record: ChunkRecord, data: bytes | None) -> None:
        if data is not None:
            write_bytes_atomic(folder / record.name, data)
        manifest.add(record)

    def on_progress(state: Progress) -> None:
        in_flight = {index: entry["done"] for index, entry in state.units.items()}
        running = {index: entry["pid"] for index, entry in state.units.items() if index not in state.finished}
        tracker.status.pids = running
        tracker.update(in_flight, state.finished, len(running), state.retried)

    try:
        run_on_ray(job, run.exemplars, todo, folder, workers=run.workers, weights=weights, on_chunk=on_chunk,
                   on_progress=on_progress, cancel=cancel)
    finally:
        if started:
            import_ray().shutdown()


def _render_here(run: ChunkedRun, job: JobSpec, todo: Sequence[Unit], folder: Path, manifest: Manifest,
                 tracker: _Tracker, cancel: threading.Event | None) -> None:
    """Renders the missing chunks one after another in this process."""
    finished: set[int] = set()

    def report(index: int, done: int, total: int) -> None:
        tracker.update({index: done}, finished, 1, 0)

    for unit in todo:
        manifest.add(render_unit(job, run.exemplars, unit, folder, report=report, cancel=cancel))
        finished.add(unit.index)
        tracker.update({}, finished, 0, 0)


def _assemble(run: ChunkedRun, session: Session, units: Sequence[Unit], folder: Path, frames: range,
              bit_depth: int, cancel: threading.Event | None) -> None:
    """Writes the chunks in frame order, with the source's audio, into the output (atomically)."""
    info = session.video_info
    writer = VideoWriter(run.output, run.codec, width=info.width, height=info.height, source=session.reader,
                         frame_indices=list(frames), audio=run.audio, overwrite=run.overwrite)
    # the final codec encodes on a thread of its own while the next chunk frames are decoded
    with writer, WriteBehind(writer.write, ASSEMBLY_WRITE_BEHIND, name="assembly-writer") as sink:
        for unit in units:
            count = 0
            for rgb in read_chunk(folder / unit.chunk_name, bit_depth=bit_depth):
                if cancel is not None and cancel.is_set():
                    raise KeyboardInterrupt
                sink.put(rgb)
                count += 1
            if count != len(unit.frames):
                raise InferenceError(f"The chunk {unit.chunk_name} holds {count} frames, not {len(unit.frames)}; "
                                     "run the same command again to render it anew.")
