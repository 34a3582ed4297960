"""The record of an app export (``NAME.colormnet.json``), made by the library exactly as the command line makes it.

:func:`check_record` runs before an export starts (the record must not replace an input, nor a file the user was not
asked about); :func:`write_record` runs once the export is complete, never after a cancelled or failed one. Both run
on the session worker's thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.jobs import ExemplarSpec, ExportJob

if TYPE_CHECKING:
    from colormnet.session import Session


def _is_folder(codec: str) -> bool:
    """Whether the codec writes a folder of frames (the record then goes inside it)."""
    from colormnet.video import CODECS

    return not CODECS[codec].extensions


def check_record(job: ExportJob, inputs: Sequence[Path]) -> None:
    """Refuses an export whose record would replace one of ``inputs``, or an existing file unless replacing was agreed.

    Raises:
        OutputError: one sentence saying which file and why.
    """
    from colormnet.sidecar import check_sidecar

    check_sidecar(job.path, job.overwrite, folder=_is_folder(job.codec), inputs=inputs)


def protected_inputs(session: Session, specs: Sequence[ExemplarSpec]) -> list[Path]:
    """The files an export reads: the video and every exemplar and reference image."""
    return [Path(session.video_path), *(path for spec in specs for path in (spec.image, *spec.references))]


def write_record(session: Session, job: ExportJob, specs: Sequence[ExemplarSpec]) -> Path:
    """Writes the record of the completed export ``job`` atomically; returns its path.

    Args:
        session: the session that colorized it (its exemplars are those of ``specs`` that could be read).
        job: the export just written.
        specs: the project's exemplars, for their image files (the session holds only pixels) and where each came
            from (``from``: the file the user pinned, or ``clipboard``).

    Raises:
        OutputError: the record cannot be written (the export itself stays).
    """
    from colormnet.sidecar import build_record, exemplar_files, write_sidecar

    record = build_record(session, output=job.path, codec=job.codec, frames=range(job.start, job.stop),
                          exemplar_files=exemplar_files(session, specs), cluster=job.cluster)
    origins = {spec.frame: spec.name for spec in specs if spec.name}
    for exemplar in record["exemplars"]:  # "file" is the project's copy, which the restorer never named
        if exemplar["frame"] in origins:
            exemplar["from"] = origins[exemplar["frame"]]
    return write_sidecar(job.path, record, folder=_is_folder(job.codec))
