"""``colormnet colorize --cluster ADDRESS | --work-dir DIR``: the command line's side of a chunked run."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from colormnet.progress import ProgressBar


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


def colorize_chunked(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet colorize`` chunk by chunk (``--cluster`` or ``--work-dir`` given)."""
    from colormnet.cli import _load_exemplars, infer_codec, parse_frame_range, split_kind
    from colormnet.cluster.driver import ChunkedRun, RunStatus, run_chunked
    from colormnet.config import InferenceConfig
    from colormnet.errors import ExemplarError
    from colormnet.exemplar import parse_exemplar_spec
    from colormnet.session import SessionConfig
    from colormnet.video import check_output_path, probe

    if args.workers is not None and args.workers < 1:
        raise ExemplarError("--workers must be at least 1.")
    if args.workers is not None and not args.cluster:
        raise ExemplarError("--workers applies to --cluster runs only.")
    source, output = Path(args.input), Path(args.output)
    codec = args.codec or infer_codec(output)
    inputs = [parse_exemplar_spec(split_kind(s, args.kind)[0])[0] for s in args.exemplar]
    inputs += [parse_exemplar_spec(s)[0] for s in args.extra_reference]
    check_output_path(output, inputs=[source, *inputs], codec=codec, overwrite=args.overwrite)
    exemplars = _load_exemplars(args.exemplar, args.kind, args.extra_reference)
    if args.framing and args.engine != "deepexemplar":
        raise ExemplarError("--framing applies to the deepexemplar engine only.")
    config = SessionConfig(
        engine=args.engine, engine_options=(("framing", args.framing),) if args.framing else (), device=args.device,
        precision=args.precision, process_size=args.process_size,
        inference=InferenceConfig(mem_every=args.mem_every, top_k=args.top_k),
    )
    frames = parse_frame_range(args.frames, probe(source).frame_count) if args.frames else None
    run = ChunkedRun(video=source, output=output, codec=codec, exemplars=exemplars, config=config,
                     weights=args.weights, frames=frames, audio=not args.no_audio, overwrite=args.overwrite,
                     work_dir=Path(args.work_dir) if args.work_dir else None, cluster=args.cluster,
                     workers=args.workers)
    bar = ProgressBar(None, "colorizing", stream=sys.stderr)

    def progress(status: RunStatus) -> None:  # noqa: F821 (imported above, inside the function)
        bar.total = status.total or None
        bar.label = (f"colorizing [units {status.units_done}/{status.units_total}, {status.running} running, "
                     f"{status.retried} retried]" if args.cluster else
                     f"colorizing [units {status.units_done}/{status.units_total}]")
        if status.stage == "assembling":
            bar.close(status.done)
            print(f"Assembling {len(frames) if frames else 'all'} frames into {output}…", file=sys.stderr)
        else:
            bar.update(status.done)

    summary = run_chunked(run, cancel=cancel, progress=progress, notice=lambda text: print(text, file=sys.stderr))
    count = sum(1 for _ in (frames or range(probe(source).frame_count)))
    print(f"Wrote {output} ({count} frames, {codec}; {len(summary.rendered)} chunk(s) rendered, "
          f"{len(summary.reused)} reused).", file=sys.stderr)
    return 0
