"""An export rendered on a Ray cluster (or resumably in chunks): the session's settings handed to the library's run.

The frames are rendered unit by unit by :func:`colormnet.cluster.driver.run_chunked` and assembled into the output
with the same atomic writer as a local export; the frame cache is neither read nor filled.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.jobs import ExportJob

if TYPE_CHECKING:
    from colormnet.session import Session


def export_on_cluster(session: Session, job: ExportJob, cancel: threading.Event,
                      progress: Callable[[int, int], None], *, device: str | None = None) -> None:
    """Renders ``job`` on the cluster ``job.cluster`` and writes it; returns quietly when cancelled.

    Args:
        session: the open session (video, exemplars, engine settings, weights).
        job: the export, with its cluster address and worker count.
        cancel: set to stop; finished chunks stay in the work folder for the next try.
        progress: called with (frames processed, frames to process).
        device: the project's device setting, which the workers resolve on their own machines (the session's is
            this machine's: the CPU for a project set to CUDA where it has none); None: the session's.

    Raises:
        ColorMNetError: what the same export would raise from the command line (one sentence).
    """
    from colormnet.cluster.driver import ChunkedRun, RunStatus, run_chunked

    def report(status: RunStatus) -> None:
        progress(status.done, max(1, status.total))

    config = session.config
    if device is not None:  # the setting as the project holds it, checked when the project was read
        config = dataclasses.replace(config, device=device)  # type: ignore[arg-type]
    run = ChunkedRun(video=session.video_path, output=job.path, codec=job.codec, exemplars=session.exemplars,
                     config=config, weights=session.weights, frames=range(job.start, job.stop),
                     audio=job.audio, overwrite=job.overwrite, cluster=job.cluster, workers=job.workers,
                     shots=session.shots, links=session.shot_links or None)
    try:
        run_chunked(run, cancel=cancel, progress=report)
    except KeyboardInterrupt:
        if not cancel.is_set():
            raise
