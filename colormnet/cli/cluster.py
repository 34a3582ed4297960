"""``colormnet colorize --cluster ADDRESS | --work-dir DIR``: the command line's side of a chunked run."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from colormnet.progress import ProgressBar, clear_bars

if TYPE_CHECKING:
    from colormnet.cluster.driver import ChunkedRun
    from colormnet.exemplar_spec import ExemplarSpec
    from colormnet.session import Exemplar, SessionConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The chunked-run options of ``colormnet colorize``."""
    group = parser.add_argument_group("rendering in chunks (resumable; on a Ray cluster with --cluster)")
    group.add_argument("--cluster", metavar="ADDRESS",
                       help="render the units as Ray tasks on the cluster at ADDRESS (host:port), or 'local' to "
                       "start Ray on this machine")
    group.add_argument("--workers", type=int, metavar="N",
                       help="with --cluster: at most N units at once (default: one per GPU, else per CPU)")
    group.add_argument("--work-dir", metavar="DIR",
                       help="where the run's chunks go (shared storage on a cluster; default: beside the output); "
                       "the same command resumes a killed run from its finished chunks")


def colorize_chunked(args: argparse.Namespace, cancel: threading.Event, *, exemplars: Sequence[Exemplar],
                     config: SessionConfig, codec: str, specs: Sequence[ExemplarSpec]) -> int:
    """Runs ``colormnet colorize`` chunk by chunk (``--cluster`` or ``--work-dir`` given), then writes its record.

    ``exemplars``, ``config`` and ``codec`` are those the command line built and checked for a local run, from
    ``specs`` (their files, which the record names with their hashes).
    """
    from colormnet.cli.colorize import frames_text, parse_frame_range, shots_and_links
    from colormnet.cluster.driver import ChunkedRun, RunStatus, run_chunked
    from colormnet.errors import ExemplarError
    from colormnet.fileio import quoted
    from colormnet.video import probe

    if args.workers is not None and args.workers < 1:
        raise ExemplarError("--workers must be at least 1.")
    if args.workers is not None and not args.cluster:
        raise ExemplarError("--workers applies to --cluster runs only.")
    source, output = Path(args.input), Path(args.output)
    info = probe(source)
    frame_count = info.frame_count
    frames = parse_frame_range(args.frames, frame_count) if args.frames else range(frame_count)
    shots, links = shots_and_links(getattr(args, "shots", "off"), source, info, cancel,
                                   [exemplar.frame for exemplar in exemplars])
    run = ChunkedRun(video=source, output=output, codec=codec, exemplars=exemplars, config=config, shots=shots,
                     links=links,
                     weights=args.weights, frames=frames, audio=not args.no_audio, overwrite=args.overwrite,
                     work_dir=Path(args.work_dir) if args.work_dir else None, cluster=args.cluster,
                     workers=args.workers)
    bar = ProgressBar(None, "colorizing", stream=sys.stderr)

    def progress(status: RunStatus) -> None:
        bar.total = status.total or None
        bar.label = (f"colorizing [units {status.units_done}/{status.units_total}, {status.running} running, "
                     f"{status.retried} retried]" if args.cluster else
                     f"colorizing [units {status.units_done}/{status.units_total}]")
        if status.stage == "assembling":
            bar.close(status.done)
            print(f"Assembling {frames_text(len(frames))} into {quoted(output)}…", file=sys.stderr)
        else:
            bar.update(status.done)

    def notice(text: str) -> None:
        clear_bars()  # a line of its own, not the rest of the bar's
        print(text, file=sys.stderr)

    summary = run_chunked(run, cancel=cancel, progress=progress, notice=notice)
    _write_record(run, args.cluster, specs)
    print(f"Wrote {quoted(output)} ({frames_text(len(frames))}, {codec}; {len(summary.rendered)} chunk(s) "
          f"rendered, {len(summary.reused)} reused).", file=sys.stderr)
    return 0


def _write_record(run: ChunkedRun, cluster: str | None, specs: Sequence[ExemplarSpec]) -> None:
    """The record beside the assembled output, as a single-machine run writes it (see :mod:`colormnet.sidecar`).

    A cluster's workers may have a device the driver lacks (CUDA on a CPU-only head node): the driver describes the
    engine from a session on its CPU, and the record names the settings the workers were given.
    """
    from dataclasses import replace

    from colormnet.errors import ColorMNetError, OutputError
    from colormnet.fileio import quoted
    from colormnet.session import Session
    from colormnet.sidecar import build_record, exemplar_files, sidecar_path, write_sidecar
    from colormnet.video import CODECS

    folder = not CODECS[run.codec].extensions
    here = run.config if cluster is None else replace(run.config, device="cpu", precision="fp32")
    try:
        with Session(run.video, weights=run.weights, config=here) as session:
            session.set_exemplars(list(run.exemplars))
            session.set_shots(run.shots, run.links)
            frames = run.frames if run.frames is not None else range(session.frame_count)
            record = build_record(session, output=run.output, codec=run.codec, frames=frames,
                                  exemplar_files=exemplar_files(session, specs), cluster=cluster, config=run.config)
    except (ColorMNetError, OSError) as exc:
        raise OutputError(f"The export is complete, but its record {quoted(sidecar_path(run.output, folder=folder))} "
                          f"could not be made ({str(exc).rstrip('.')}).") from exc
    write_sidecar(run.output, record, folder=folder)
