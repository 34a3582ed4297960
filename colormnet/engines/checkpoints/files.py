"""Where weights files live, writing them without ever leaving half a file, and a cheap identity for caches."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import platformdirs
import torch

from colormnet.engines.checkpoints.reading import Source
from colormnet.errors import WeightsError
from colormnet.fileio import fsync_path, owned_temp_file

_MIB = 1024 * 1024


def user_data_dir() -> Path:
    """The per-user data folder of ``colormnet``, where every engine keeps its downloaded weights."""
    return platformdirs.user_data_path("colormnet", appauthor=False)


def resolve_path(explicit: str | Path | None, env_var: str, default: Path) -> Path:
    """The first of: ``explicit`` (when given and non-empty), ``$env_var`` (when non-empty), ``default``.

    Returns:
        The path with ``~`` expanded; it may not exist yet.
    """
    if explicit is not None and str(explicit):
        return Path(explicit).expanduser()
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return default


def refuse_missing_from_variable(path: Path, explicit: str | Path | None, env_var: str, source: Source,
                                 layout: str = "file") -> None:
    """Raises WeightsError when ``path``, the weights ``$env_var`` named (see :func:`resolve_path`), is missing: the
    message names the variable, or a stale setting reads as a path the user typed.

    Args:
        layout: ``file`` (one checkpoint) or ``folder`` (several files).
    """
    if (explicit is not None and str(explicit)) or path.exists() or not os.environ.get(env_var, "").strip():
        return
    what = "weights" if layout == "file" else "weights folder"
    raise WeightsError(f"No {source.label} {what} at {path}, the {layout} ${env_var} names; {source.advice}.")


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Lets ``write`` fill a temporary file beside ``path``, syncs it and renames it onto ``path``.

    A crash or an error leaves either no file or the complete one under ``path``; the temporary file is removed on
    an error (and by :func:`colormnet.fileio.clear_leftovers` after a crash).

    Raises:
        OSError: The folder cannot be written.
    """
    tmp = owned_temp_file(path)
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.absolute().parent)


def save_state_dict(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """``torch.save`` of a plain state dict through :func:`write_atomic` (the folder must exist).

    Raises:
        OSError: The folder cannot be written.
    """
    write_atomic(path, lambda f: torch.save(dict(state), f))


def fingerprint(path: Path, source: Source) -> str:
    """A cheap identity of a checkpoint for caches: sha256 of its size, mtime and first and last MiB.

    Raises:
        WeightsError: The file cannot be read (it does not exist, say).
    """
    path = Path(path)
    try:
        stat = path.stat()
        digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:".encode())
        with open(path, "rb") as f:
            digest.update(f.read(_MIB))
            f.seek(max(0, stat.st_size - _MIB))
            digest.update(f.read(_MIB))
    except OSError as exc:
        raise WeightsError(f"Cannot read the {source.label} weights at {path} ({exc.strerror or exc}); "
                           f"{source.advice}.") from exc
    return digest.hexdigest()
