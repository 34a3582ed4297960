"""``colormnet weights download | init-random | path``, for any engine the registry says needs weights.

Each such engine keeps its weights code in ``colormnet/engines/NAME/weights.py`` with the same names:
``WEIGHTS_LICENCE``, ``download_weights(dest, progress=, cancel=)``, ``save_random_weights(path, seed=)`` and
``load_weights(location)`` (the check a render makes, which ``path`` and ``download`` make too); where they live is
``resolve_weights_path(explicit)`` and its ``WEIGHTS_FILENAME`` for a one-file checkpoint (registry layout ``file``)
or ``resolve_weights_dir(explicit)`` and its ``WEIGHT_FILES`` for a folder (layout ``folder``).

Weights there that are empty, or a checkpoint cut short or damaged (:class:`~colormnet.errors.DamagedWeightsError`),
are not "present": ``path`` says so and ``download`` goes over them. Any other file that is not the weights (a
checkpoint of other weights, a video or a web page given by mistake) is said to be unusable and left alone.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import threading
from pathlib import Path
from types import ModuleType

from colormnet.cli.colorize import DEFAULT_ENGINE
from colormnet.engines.registry import EngineInfo, engine_info
from colormnet.errors import DamagedWeightsError, OutputError, WeightsError
from colormnet.fileio import quoted
from colormnet.progress import ProgressBar


def weights_module(info: EngineInfo) -> ModuleType:
    """The engine's ``weights`` module, next to the module its loader lives in."""
    package = info.loader.split(":")[0].rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.weights")


def _files(info: EngineInfo, module: ModuleType, location: Path) -> list[Path]:
    """The files that make up the weights at ``location`` (the checkpoint itself, or the folder's files)."""
    if info.weights_layout == "folder":
        return [location / name for name in module.WEIGHT_FILES]
    return [location]


def _location(info: EngineInfo, module: ModuleType, explicit: str | None) -> Path:
    """Where the engine looks for its weights: ``explicit``, else its environment variable, else its default."""
    resolve = module.resolve_weights_dir if info.weights_layout == "folder" else module.resolve_weights_path
    return Path(resolve(explicit))


def cmd_weights(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet weights``; returns the exit code."""
    info = engine_info(args.engine)
    module = weights_module(info)
    if args.weights_command == "download":
        return _download(info, module, _download_dest(info, module, args.dest), cancel)
    if args.weights_command == "init-random":
        taken = next((path for path in _files(info, module, Path(args.path)) if path.exists()), None)
        if taken is not None and not args.overwrite:
            raise OutputError(f"{quoted(taken)} already exists (perhaps real weights); choose another path or pass "
                              "--overwrite.")
        path = module.save_random_weights(args.path, seed=args.seed)
        print(f"Wrote RANDOM weights (seed {args.seed}) to {path}: for tests and demos, the colours are meaningless.",
              file=sys.stderr)
        return 0
    location = _location(info, module, args.weights)
    state = _state(info, module, location, args)
    print(f"{location}  [{state}]")
    return 0 if state.startswith("present") else 1  # a script can test it: `colormnet weights path && ...`


def _state(info: EngineInfo, module: ModuleType, location: Path, args: argparse.Namespace) -> str:
    """What ``weights path`` says of the weights at ``location``: present (random or not), unusable, or missing."""
    engine = "" if args.engine == DEFAULT_ENGINE else f" --engine {args.engine}"
    dest = f" --dest {shlex.quote(str(location))}" if args.weights else ""  # else it downloads to the same place
    download = f"`colormnet weights download{engine}{dest}`"
    if info.weights_layout == "file" and location.is_dir():
        return f"a folder, not a checkpoint: give the {module.WEIGHTS_FILENAME} file in it"
    if not all(path.is_file() for path in _files(info, module, location)):
        return f"missing (run {download})"
    try:
        seed = module.load_weights(location).random_seed
    except DamagedWeightsError as exc:
        return f"not usable: {_fault(exc, location)}; run {download} to replace it"
    except WeightsError as exc:
        return f"not usable: {_fault(exc, location)}"
    return "present" if seed is None else f"present: RANDOM weights (seed {seed}), for tests and demos"


def _fault(exc: WeightsError, location: Path) -> str:
    """What is wrong with the weights at ``location``, without advice, and naming ``location`` itself "it"."""
    fault = exc.fault or str(exc).removesuffix(".")
    for prefix, subject in ((f"{location} ", "it "), (f"{location}{os.sep}", "")):
        if fault.startswith(prefix):
            return subject + fault.removeprefix(prefix)
    return fault


def _download_dest(info: EngineInfo, module: ModuleType, given: str | None) -> Path:
    """Where ``weights download`` puts the weights: ``--dest`` or the default; a one-file checkpoint given a folder
    (one that exists, or a name ending in a slash: one to be made) goes into it under its published name."""
    dest = _location(info, module, given)
    folder = dest.is_dir() or bool(given and given.endswith(("/", os.sep)))
    return dest / module.WEIGHTS_FILENAME if info.weights_layout == "file" and folder else dest


def _download(info: EngineInfo, module: ModuleType, dest: Path, cancel: threading.Event) -> int:
    """Downloads the engine's official weights to ``dest`` with a progress bar, after showing their licence.

    Weights already at ``dest`` are left alone (they may be random ones: the user deletes them to download the real
    ones), and so is any other file that is not the weights (a checkpoint of other weights, a video given by
    mistake); an empty file or a checkpoint cut short or damaged is downloaded over, the download replacing it only
    once complete.
    """
    from colormnet.engines import checkpoints  # torch: not for --help

    def damaged(exc: DamagedWeightsError) -> None:
        print(f"{exc.fault or exc}: downloading the {info.label} weights over it.", file=sys.stderr)

    if checkpoints.already_there(dest, _files(info, module, dest), module.load_weights, on_damaged=damaged,
                                 elsewhere="choose another --dest"):
        print(f"The {info.label} weights are already at {dest}: nothing was downloaded (delete them to download "
              "them again).", file=sys.stderr)
        return 0
    print(module.WEIGHTS_LICENCE, file=sys.stderr)
    with ProgressBar(None, "downloading", unit="B", unit_scale=True) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done)

        path = module.download_weights(dest, progress=progress, cancel=cancel)
        bar.close(bar.last_done or 0)
    where = "in" if info.weights_layout == "folder" else "to"
    print(f"Saved the {info.label} weights {where} {path}.", file=sys.stderr)
    return 0
