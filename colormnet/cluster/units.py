"""The units a run is split into, and the keys that identify their inputs.

A unit is a set of frames that can be rendered on its own, with no state shared with any other unit. Today a unit is
one run of a segment (the frames from the exemplar onwards, or the frames before the first exemplar rendered
backwards); a unit only names the frames it yields and the frames it must step through, so a finer split (shots
inside a segment) replaces :func:`plan_units` without touching the rendering, the manifest or the assembly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from colormnet.session import Exemplar, Session, SessionConfig


@dataclass(frozen=True)
class Unit:
    """Frames rendered by one task.

    Attributes:
        index: position of the unit in frame order (0, 1, ...).
        frames: the frames it yields, ascending (its chunk holds exactly these, in this order).
        steps: how many frames the engine processes to produce them (for progress).
        key: hash of everything that determines its frames (see :func:`unit_key`).
    """

    index: int
    frames: tuple[int, ...]
    steps: int
    key: str

    @property
    def chunk_name(self) -> str:
        """File name of its chunk in the run folder."""
        return f"chunk-{self.index:05d}-{self.key[:12]}.mkv"


@dataclass(frozen=True)
class JobSpec:
    """What every unit of a run shares, sent to each task (the exemplar images travel once, in the object store).

    Attributes:
        video: absolute path of the source (the same path on every node: shared storage).
        weights: the checkpoint path (ColorMNet: read once by the driver; others: read by each task).
        config: engine, device, precision, processing size and memory schedule.
        bit_depth: 8 or 16, the depth of the requested codec (the chunk keeps exactly what the writer would get).
        threads: torch's CPU thread count, pinned in every task so that CPU numerics match the local run.
    """

    video: str
    weights: str | None
    config: SessionConfig
    bit_depth: int
    threads: int


def _digest(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def weights_identity(engine: str, weights: str | Path | None) -> str:
    """Identity of the weights a run uses (a cheap file fingerprint for ColorMNet, the path otherwise)."""
    if engine == "propagate":
        return "none"
    if engine == "colormnet":
        from colormnet.weights import fingerprint, resolve_weights_path

        return fingerprint(resolve_weights_path(weights))
    return str(Path(weights).resolve()) if weights else "default"


def unit_key(session: Session, job: JobSpec, exemplar: Exemplar, frames: Sequence[int], weights_id: str) -> str:
    """A hash of everything that determines a unit's frames: video, exemplar, settings, weights, frames, depth."""
    stat = session.video_path.stat() if session.video_path.is_file() else None
    cfg = job.config
    parts: dict[str, object] = {
        "video": str(session.video_path.resolve()),
        "video_stat": [stat.st_size, stat.st_mtime_ns] if stat else None,
        "frame_count": session.frame_count,
        "anchor": exemplar.frame,
        "exemplar": exemplar.digest(),
        "references": exemplar.reference_digests(),
        "kind": exemplar.kind,
        "engine": cfg.engine,
        "engine_options": [list(pair) for pair in cfg.engine_options],
        "device": cfg.device,
        "precision": cfg.precision,
        "process_size": cfg.process_size,
        "inference": asdict(cfg.inference),
        "weights": weights_id,
        "frames": hashlib.sha256(repr(tuple(frames)).encode()).hexdigest(),
        "bit_depth": job.bit_depth,
    }
    return _digest(parts)


def plan_units(session: Session, job: JobSpec, frames: Sequence[int], weights_id: str) -> list[Unit]:
    """The run's units in frame order; together they yield ``frames`` exactly once each.

    Raises:
        ExemplarError: no exemplar, or frames outside the video (as :meth:`Session.plan`).
    """
    runs = sorted(session.plan(frames), key=lambda run: min(run.wanted))
    units = []
    for i, run in enumerate(runs):
        wanted = tuple(sorted(run.wanted))
        key = unit_key(session, job, session.exemplars[run.segment], wanted, weights_id)
        units.append(Unit(index=i, frames=wanted, steps=len(run.frames), key=key))
    return units


def run_key(units: Sequence[Unit]) -> str:
    """The run folder's key: the keys of all its units, in order."""
    return _digest({"units": [unit.key for unit in units]})[:20]
