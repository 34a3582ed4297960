"""The units a run is split into, and the keys that identify their inputs.

A unit is a set of frames that can be rendered on its own, with no state shared with any other unit: today the
wanted frames of one segment (see :mod:`colormnet.plan`: segments never cross a shot cut, and each of a segment's
passes starts from fresh memory). A unit only names the frames it yields and the frames its passes step through, so
a different split replaces :func:`plan_units` without touching the rendering, the manifest or the assembly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from colormnet.plan import Segment
from colormnet.session import Session, SessionConfig


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
        shots: the session's shots (None: the whole video is one shot), and links: the hand-chosen borrowings
            (see :meth:`Session.set_shots`); every task plans its segment from the same ones.
    """

    video: str
    weights: str | None
    config: SessionConfig
    bit_depth: int
    threads: int
    shots: tuple[Any, ...] | None = None
    links: dict[int, int] | None = None

    def open_session(self) -> Session:
        """A session on the video with the run's settings and shots (exemplars still to be set)."""
        session = Session(self.video, weights=self.weights, config=self.config)
        if self.shots is not None:
            session.set_shots(self.shots, self.links)
        return session


def _digest(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def weights_identity(engine: str, weights: str | Path | None) -> str:
    """Identity of the weights a run uses (a cheap file fingerprint for ColorMNet, the path otherwise)."""
    if engine == "propagate":
        return "none"
    if engine == "colormnet":
        from colormnet.engines.colormnet.weights import fingerprint, resolve_weights_path

        return fingerprint(resolve_weights_path(weights))
    return str(Path(weights).resolve()) if weights else "default"


def unit_key(session: Session, job: JobSpec, segment: Segment, frames: Sequence[int], weights_id: str) -> str:
    """A hash of everything that determines a unit's frames: video, segment, exemplars, settings, weights, depth."""
    stat = session.video_path.stat() if session.video_path.is_file() else None
    cfg = job.config
    parts: dict[str, object] = {
        "video": str(session.video_path.resolve()),
        "video_stat": [stat.st_size, stat.st_mtime_ns] if stat else None,
        "frame_count": session.frame_count,
        "segment": asdict(segment),  # its shot, passes (anchors, directions) and fused pieces
        "exemplars": [_exemplar_identity(session, p.exemplar) for p in segment.passes()],
        "transition": getattr(cfg, "transition", None),
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


def _exemplar_identity(session: Session, index: int) -> list[object]:
    exemplar = session.exemplars[index]
    return [exemplar.frame, exemplar.digest(), exemplar.kind, exemplar.reference_digests()]


def plan_units(session: Session, job: JobSpec, frames: Sequence[int], weights_id: str) -> list[Unit]:
    """The run's units in frame order (one per segment with wanted frames); together they yield ``frames`` once each.

    Raises:
        ExemplarError: no exemplar, frames outside the video or in a shot without exemplar (as :meth:`Session.plan`).
    """
    session.plan(frames)  # the local run's checks and errors
    wanted = set(frames)
    units: list[Unit] = []
    for segment in sorted(session.segments(), key=lambda s: s.start):
        own = tuple(f for f in range(segment.start, segment.stop) if f in wanted)
        if own:
            key = unit_key(session, job, segment, own, weights_id)
            units.append(Unit(index=len(units), frames=own, steps=session.count_steps(own), key=key))
    return units


def run_key(units: Sequence[Unit]) -> str:
    """The run folder's key: the keys of all its units, in order."""
    return _digest({"units": [unit.key for unit in units]})[:20]
