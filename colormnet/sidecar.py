"""The record written beside every export (``NAME.colormnet.json``): how the restoration was made.

An archive documents a restoration so that it can be checked and made again: which engine and weights (by
fingerprint), at what precision and settings, from which exemplars (file names and content hashes) and with which
shot list. The record holds no pixels; it is written atomically once the export is complete.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from colormnet import __version__
from colormnet.engines.registry import ENGINES
from colormnet.errors import OutputError
from colormnet.fileio import quoted, write_bytes_atomic
from colormnet.output_guard import refuse_protected

SUFFIX = ".colormnet.json"


def sidecar_path(output: Path, *, folder: bool = False) -> Path:
    """``film.mov`` -> ``film.mov.colormnet.json``; a folder of frames keeps its record inside
    (``reel1/reel1.colormnet.json``), so that nothing appears beside a folder the user named."""
    output = Path(output)
    if folder:
        return output / (output.resolve().name + SUFFIX)
    return output.with_name(output.name + SUFFIX)


def check_sidecar(output: Path, overwrite: bool, *, folder: bool = False, inputs: Sequence[Path] = ()) -> None:
    """Refuses to start an export whose record would replace a file without ``--overwrite``, or a file it reads.

    Raises:
        OutputError: the record exists and ``overwrite`` is False, or it is one of ``inputs``.
    """
    path = sidecar_path(output, folder=folder)
    refuse_protected([path], inputs)
    if path.exists() and not overwrite:
        raise OutputError(f"{quoted(path)} already exists; choose another output name or pass --overwrite.")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ExemplarFiles(Protocol):
    """Where an exemplar's images came from: the app's and the command line's exemplar specs both are."""

    @property
    def frame(self) -> int: ...
    @property
    def image(self) -> Path: ...
    @property
    def references(self) -> tuple[Path, ...]: ...


def exemplar_files(session: Any, specs: Sequence[ExemplarFiles]) -> list[tuple[Path, tuple[Path, ...]]]:
    """Per exemplar of ``session``, in its order, the image file and the further references it was given, from the
    spec pinned at its frame (the ``exemplar_files`` of :func:`build_record`)."""
    by_frame = {spec.frame: spec for spec in specs}
    return [(by_frame[ex.frame].image, by_frame[ex.frame].references[:len(ex.references)])
            for ex in session.exemplars]


def build_record(session: Any, *, output: Path, codec: str, frames: Sequence[int],
                 exemplar_files: Sequence[tuple[Path, Sequence[Path]]], cluster: str | None = None,
                 config: Any = None) -> dict[str, Any]:
    """The record of an export made with ``session``.

    Args:
        session: the :class:`~colormnet.session.Session` that colorized it (model loaded), or, for a run on a
            cluster, one with the run's video, settings, exemplars and shots.
        output, codec, frames: what was written.
        exemplar_files: per exemplar in frame order, its image file and its further references' files.
        cluster: the Ray cluster's address when the frames were rendered there: the record then names it and the
            device setting the workers were given, not this machine's device.
        config: the :class:`~colormnet.session.SessionConfig` the frames were rendered with, where ``session``'s
            differs (a cluster run is described by a session on the driver's CPU).
    """
    model = session.load_model()
    info = session.video_info
    exemplars = []
    for i, (ex, (image, references)) in enumerate(zip(session.exemplars, exemplar_files, strict=True)):
        exemplars.append({
            "frame": ex.frame,
            "kind": ex.kind,
            "used_as": session.resolve_kind(i)[0],
            "file": Path(image).name,
            "sha256": file_digest(image),
            "references": [{"file": Path(r).name, "sha256": file_digest(r)} for r in references],
        })
    shots = [{"start": s.start, "stop": s.stop, "transition": list(s.transition) if s.transition else None}
             for s in session.shots]
    # "shot" indexes "shots" (from 0; the command line's messages count from 1), "frames" says which it is
    borrowed = [{"shot": src.shot, "frames": [src.start, src.stop],
                 "exemplar_frame": session.exemplars[src.borrowed].frame, "how": src.how}
                for src in session.shot_sources() if src.borrowed is not None]
    config = config if config is not None else session.config
    # only an engine that reads the memory schedule has it in its record
    memory_schedule = config.engine in ENGINES and ENGINES[config.engine].memory_schedule
    if cluster is None:  # what the frames were computed in: fp16 asked for on a CPU runs in fp32
        from colormnet.engines.precision import effective_precision

        precision = effective_precision(model.name, config.precision, model.device)
    else:  # the workers resolve the setting on their own devices
        precision = config.precision
    return {
        "program": f"colormnet {__version__}",
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": {"file": Path(session.video_path).name, "frames": info.frame_count,
                   "size": [info.width, info.height], "fps": str(info.fps)},
        "output": {"file": Path(output).name, "codec": codec, "frames": [min(frames), max(frames) + 1]},
        "engine": {"name": model.name, "weights_fingerprint": model.fingerprint, "random_weights": model.is_random,
                   "device": str(model.device) if cluster is None else config.device, "precision": precision,
                   "precision_requested": config.precision,
                   "rendered_on": "this machine" if cluster is None else f"the Ray cluster at {cluster}"},
        "settings": {"process_size": session.process_size, "transition": config.transition,
                     "engine_options": [list(o) for o in config.engine_options],
                     **({"inference": dataclasses.asdict(config.inference)} if memory_schedule else {})},
        "exemplars": exemplars,
        "shots": shots,
        "borrowed": borrowed,
    }


def write_sidecar(output: Path, record: dict[str, Any], *, folder: bool = False) -> Path:
    """Writes ``record`` for ``output`` atomically (see :func:`sidecar_path`); returns its path.

    A range rendered again into a folder of frames patches the earlier render, so the folder's record keeps the
    earlier renders' records (``earlier``, newest first; past 50 the oldest are counted in ``earlier_left_out``) beside
    this one's; a render of the whole video starts afresh.
    """
    path = sidecar_path(output, folder=folder)
    if folder and not _covers_the_source(record):
        record = {**record, **_renders_in(path)}
    try:
        write_bytes_atomic(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"The export is complete, but its record {quoted(path)} could not be written "
                          f"({exc.strerror or exc}).") from exc
    return path


def _covers_the_source(record: dict[str, Any]) -> bool:
    return bool(record["output"]["frames"] == [0, record["source"]["frames"]])


def _own_record(path: Path, limit: int) -> dict[str, Any] | None:
    """The record at ``path`` if this program wrote it; None where the file is missing, larger than ``limit``, not
    JSON or another program's (a file in the user's folder is untrusted)."""
    try:
        if path.stat().st_size > limit:
            return None
        record = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) and str(record.get("program", "")).startswith("colormnet ") else None


def _renders_in(path: Path, limit: int = 64 << 20, keep: int = 50) -> dict[str, Any]:
    """``earlier`` and ``earlier_left_out`` for a record replacing the one at ``path``: the renders it holds (itself
    and its own ``earlier``), newest first, at most ``keep`` of them, and how many older ones are left out. No earlier
    render where the file is missing, too large, or not a record this program wrote (a file in the user's folder is
    untrusted)."""
    earlier = _own_record(path, limit)
    if earlier is None:
        return {"earlier": []}
    older, left_out = earlier.pop("earlier", []), earlier.pop("earlier_left_out", 0)
    renders = [earlier, *(r for r in older if isinstance(r, dict))] if isinstance(older, list) else [earlier]
    left_out = (left_out if isinstance(left_out, int) and left_out > 0 else 0) + max(0, len(renders) - keep)
    return {"earlier": renders[:keep], **({"earlier_left_out": left_out} if left_out else {})}


def recorded_first_frame(output: Path, frame_count: int, limit: int = 1 << 20) -> int | None:
    """The source frame that the first frame of the video file ``output`` shows, as its record says (a range render
    starts past 0); None without a record this program wrote for that file and its ``frame_count`` frames (the
    record is an untrusted file: one that does not fit is ignored)."""
    record = _own_record(sidecar_path(output), limit) if output.is_file() else None
    if record is None:
        return None
    written = record.get("output")
    frames = written.get("frames") if isinstance(written, dict) else None
    if not (isinstance(written, dict) and written.get("file") == output.name and isinstance(frames, list)
            and len(frames) == 2 and all(type(n) is int for n in frames)):
        return None
    start, stop = frames
    return start if start >= 0 and stop - start == frame_count else None
