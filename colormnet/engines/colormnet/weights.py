"""Locate, download, create and load ColorMNet checkpoints.

Everything here works from the key manifest of the official checkpoint (``colormnet/data/state_dict_keys.tsv``,
one ``key  shape  dtype`` row per entry), never from the network module, so a checkpoint can be checked, converted
and validated before any ``nn.Module`` exists.

Where a checkpoint comes from, first match wins: an explicit path, ``$COLORMNET_WEIGHTS``, then the user data
folder (:func:`default_weights_path`). :func:`download_weights` fetches the official file there with resume,
progress, cancel and checks; :func:`save_random_weights` writes deterministic random weights of the same layout for
tests and for trying the pipeline without the real file; :func:`load_weights` reads either kind into a validated
float32 CPU state dict.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.resources
import logging
import math
import os
import re
import tempfile
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
import torch

from colormnet.checkpoint_file import check_finite, read_checkpoint
from colormnet.errors import WeightsError

logger = logging.getLogger(__name__)

WEIGHTS_FILENAME = "DINOv2FeatureV6_LocalAtten_s2_154000.pth"
WEIGHTS_URL = f"https://github.com/yyang181/colormnet/releases/download/v0.1/{WEIGHTS_FILENAME}"
# Not yet confirmed against the published file; while None, the download logs the sha256 it computed.
WEIGHTS_SHA256: str | None = None
WEIGHTS_SIZE: int | None = None
WEIGHTS_LICENCE = (
    "The ColorMNet weights (Yang et al., ECCV 2024, https://github.com/yyang181/colormnet) are licensed under "
    "CC BY-NC-SA 4.0 (https://creativecommons.org/licenses/by-nc-sa/4.0/): non-commercial use only, with "
    "attribution, and derivatives shared under the same licence."
)
ENV_VAR = "COLORMNET_WEIGHTS"
RANDOM_SEED_KEY = "colormnet.random_init_seed"  # extra 0-d int64 entry that marks a random-init checkpoint

_HOW_TO_GET = "run `colormnet weights download`, or pass --weights PATH / set COLORMNET_WEIGHTS"
_LEGACY_KEY = "value_encoder.conv1.weight"  # older checkpoints take 4 input channels here instead of 5
_CHUNK = 256 * 1024  # download read size: small enough for a responsive cancel
_MIB = 1024 * 1024
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "int64": torch.int64}

ManifestRow = tuple[str, tuple[int, ...], torch.dtype]


class DownloadCancelledError(WeightsError):
    """The download was stopped on request; the partial file is kept so a later call resumes it."""


@dataclass(frozen=True)
class LoadedWeights:
    """A validated checkpoint.

    Attributes:
        state_dict: Every manifest key; floating tensors as float32 on the CPU.
        path: The file it was read from.
        random_seed: The seed of a file written by :func:`save_random_weights`, None for trained weights.
    """

    state_dict: dict[str, torch.Tensor]
    path: Path
    random_seed: int | None

    @property
    def is_random(self) -> bool:
        """Whether these are random-init weights (pipeline tests only; they colorize nothing meaningful)."""
        return self.random_seed is not None


# --- locating ------------------------------------------------------------------------------------------------------


def default_weights_path() -> Path:
    """Where the weights live when nothing else is configured: the user data folder of ``colormnet``."""
    return platformdirs.user_data_path("colormnet", appauthor=False) / WEIGHTS_FILENAME


def resolve_weights_path(explicit: str | Path | None = None) -> Path:
    """Pick the checkpoint path: ``explicit``, else ``$COLORMNET_WEIGHTS`` (when non-empty), else the default.

    Args:
        explicit: A path given by the user (``--weights``), or None.

    Returns:
        The path, with ``~`` expanded; it may not exist yet.
    """
    if explicit is not None and str(explicit):
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return default_weights_path()


@lru_cache(maxsize=1)
def _manifest_rows() -> tuple[ManifestRow, ...]:
    try:
        text = (importlib.resources.files("colormnet") / "data" / "state_dict_keys.tsv").read_text("utf-8")
    except (TypeError, NotADirectoryError):
        # importlib.resources cannot read a namespace package behind an editable-install finder (Python 3.11).
        text = (Path(__file__).parent / "data" / "state_dict_keys.tsv").read_text("utf-8")
    rows = []
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
        rows.append((key, dims, _DTYPES[dtype]))
    return tuple(rows)


def read_key_manifest() -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    """The official checkpoint's entries in order: ``(key, shape, dtype)``, shape ``()`` for a scalar."""
    return list(_manifest_rows())


# --- random weights ------------------------------------------------------------------------------------------------


def _random_tensor(key: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    # The exact rule that rebuilds the weights of the golden conformance data (seed 0): do not reorder or simplify.
    if key.endswith("num_batches_tracked"):
        return torch.zeros((), dtype=torch.int64)
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()) + seed)
    n = torch.randn(shape, generator=generator, dtype=torch.float32)
    if key.endswith("running_mean"):
        return 0.1 * n
    if key.endswith("running_var"):
        return 1 + 0.1 * n.abs()
    if key.endswith("temperature"):
        return 1 + 0.1 * n
    if key.endswith(".gamma"):
        return 0.1 * n
    if key.endswith("weight") and len(shape) == 1:
        return 1 + 0.1 * n
    if key.endswith("bias"):
        return 0.01 * n
    if key.endswith("weight"):
        return n / math.sqrt(math.prod(shape[1:]))
    return 0.02 * n  # cls_token, pos_embed, mask_token


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Deterministic random weights with the official layout (about 2.5 s for the 123.6 M values on a CPU).

    Each entry is drawn from its own generator seeded with ``crc32(key) + seed``, so every tensor is independent
    of the others and of the manifest order.

    Args:
        seed: Non-negative; seed 0 reproduces the weights of the golden conformance data.

    Returns:
        A plain state dict: float32 CPU tensors, int64 zeros for ``num_batches_tracked``.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return {key: _random_tensor(key, shape, seed) for key, shape, _ in _manifest_rows()}


def save_random_weights(path: str | Path, seed: int = 0) -> Path:
    """Write :func:`random_state_dict` (plus the seed marker entry) atomically to ``path`` (about 495 MB).

    Args:
        path: Destination file; its folder is created.
        seed: Passed to :func:`random_state_dict`.

    Returns:
        The path written.
    """
    path = Path(path).expanduser()
    state: dict[str, torch.Tensor] = random_state_dict(seed)
    state[RANDOM_SEED_KEY] = torch.tensor(seed, dtype=torch.int64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as f:
            tmp = Path(f.name)
            try:
                torch.save(state, f)
                f.flush()
                os.fsync(f.fileno())
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        os.replace(tmp, path)
    except OSError as exc:
        raise WeightsError(f"Could not write random weights to {path} ({exc.strerror or exc}); "
                           "choose another path.") from exc
    logger.info("Wrote random ColorMNet weights (seed %d) to %s", seed, path)
    return path


# --- loading -------------------------------------------------------------------------------------------------------


def _read_checkpoint(path: Path) -> Any:
    if not path.exists():
        raise WeightsError(f"No ColorMNet weights at {path}. Run `colormnet weights download`, or pass "
                           "--weights PATH / set COLORMNET_WEIGHTS.")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a checkpoint file; pass the path of the .pth file itself.")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise WeightsError(f"Cannot read {path} ({exc.strerror or exc}); check the file's permissions.") from exc
    if not magic:
        raise WeightsError(f"{path} is empty (0 bytes); delete it and {_HOW_TO_GET}.")
    return read_checkpoint(path, magic, foreign=f"pass the ColorMNet weights file ({WEIGHTS_FILENAME})",
                           advice=_HOW_TO_GET)


def _unwrap(obj: Any, path: Path) -> dict[str, Any]:
    # Training scripts often save {"state_dict": ...} / {"model": ...} and DataParallel adds "module." to every key.
    while isinstance(obj, dict):
        inner = next((obj[k] for k in ("state_dict", "model") if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict of named tensors; pass the "
                           f"ColorMNet weights file ({WEIGHTS_FILENAME}).")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return dict(obj)


def _pop_seed(state: dict[str, Any], path: Path) -> int | None:
    marker = state.pop(RANDOM_SEED_KEY, None)
    if marker is None:
        return None
    if not isinstance(marker, torch.Tensor) or marker.numel() != 1 or marker.is_floating_point():
        raise WeightsError(f"{path} has a malformed {RANDOM_SEED_KEY} entry; write it again with "
                           "`save_random_weights`.")
    return int(marker.item())


def _convert_legacy(state: dict[str, Any]) -> None:
    conv = state.get(_LEGACY_KEY)
    if isinstance(conv, torch.Tensor) and conv.dim() == 4 and conv.shape[1] == 4:
        logger.info("Converting a legacy checkpoint: appending a zero input channel to %s", _LEGACY_KEY)
        state[_LEGACY_KEY] = torch.cat([conv, conv.new_zeros(conv.shape[0], 1, *conv.shape[2:])], dim=1)


def _examples(keys: list[str]) -> str:
    return f" (e.g. {', '.join(keys[:2])})" if keys else ""


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def _validate(state: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    rows = _manifest_rows()
    expected = {key for key, _, _ in rows}
    missing = [key for key, _, _ in rows if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise WeightsError(
            f"{path} is not a ColorMNet checkpoint: {len(missing)} of {len(rows)} expected keys are missing"
            f"{_examples(missing)} and {len(unexpected)} are unexpected{_examples(unexpected)}; pass the official "
            f"weights ({WEIGHTS_FILENAME})."
        )
    wrong = [(key, shape) for key, shape, _ in rows
             if not isinstance(state[key], torch.Tensor) or tuple(state[key].shape) != shape]
    if wrong:
        key, shape = wrong[0]
        value = state[key]
        got = _shape_text(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__
        more = f" (and {len(wrong) - 1} more entries differ)" if len(wrong) > 1 else ""
        raise WeightsError(f"{path} does not fit the ColorMNet network: {key} is {got} where {_shape_text(shape)} "
                           f"is expected{more}; pass the official weights ({WEIGHTS_FILENAME}).")
    out: dict[str, torch.Tensor] = {}
    for key, _, dtype in rows:
        tensor = state[key]
        if dtype.is_floating_point != tensor.is_floating_point():
            raise WeightsError(f"{path} stores {key} as {tensor.dtype} where {dtype} is expected; pass the "
                               f"official weights ({WEIGHTS_FILENAME}).")
        out[key] = tensor.to(device="cpu", dtype=torch.float32 if dtype.is_floating_point else dtype)
    check_finite(out, path, _HOW_TO_GET)
    return out


def load_weights(path: str | Path) -> LoadedWeights:
    """Read, convert and validate a ColorMNet checkpoint.

    Accepts the official file, a legacy one (4-channel ``value_encoder.conv1``), one wrapped in ``{"state_dict":
    ...}`` / ``{"model": ...}`` or with a ``module.`` prefix, and files from :func:`save_random_weights`.

    Args:
        path: The checkpoint file.

    Returns:
        Every manifest key with the manifest's shape; floating tensors as float32 on the CPU.

    Raises:
        WeightsError: The file is missing, a folder, empty, not a torch file, truncated, refused as unsafe (it
            holds Python objects besides tensors), holds a NaN or an infinity, or does not match the manifest; the
            message is one sentence saying what to do.
    """
    path = Path(path).expanduser()
    state = _unwrap(_read_checkpoint(path), path)
    seed = _pop_seed(state, path)
    _convert_legacy(state)
    weights = LoadedWeights(state_dict=_validate(state, path), path=path, random_seed=seed)
    if weights.is_random:
        logger.warning("%s holds random weights (seed %d): the output colours are meaningless", path, seed)
    return weights


def fingerprint(path: Path) -> str:
    """A cheap identity of a checkpoint for caches: sha256 of its size, mtime and first and last MiB.

    Raises:
        WeightsError: The file does not exist.
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
        raise WeightsError(f"Cannot read the ColorMNet weights at {path} ({exc.strerror or exc}); "
                           f"{_HOW_TO_GET}.") from exc
    return digest.hexdigest()


# --- downloading ---------------------------------------------------------------------------------------------------


class _ResumeRejectedError(Exception):
    """The server cannot continue the partial file; it has to be fetched again from the start."""


def _network_error(url: str, reason: object) -> WeightsError:
    if isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror
    return WeightsError(f"Could not download the ColorMNet weights from {url} ({reason}); download the file by "
                        "hand and pass --weights PATH.")


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": "colormnet-studio"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # the partial file is longer than (or as long as) the server's
            raise _ResumeRejectedError from exc
        raise _network_error(url, f"HTTP {exc.code} {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _network_error(url, exc) from exc


def _resume_point(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the body starts within the file and the file's total size, from the status and headers."""
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
        if match is None or int(match[1]) != offset:
            raise _ResumeRejectedError
        return offset, None if match[2] == "*" else int(match[2])
    length = response.headers.get("Content-Length")
    if offset:
        logger.info("The server ignored the resume request; downloading from the start")
    return 0, int(length) if length and length.isdigit() else None


def _interrupted(url: str, done: int, total: int | None, reason: object) -> WeightsError:
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror
    return WeightsError(f"The download from {url} stopped after {done} of {total or 'unknown'} bytes "
                        f"({reason or 'no reason given'}); run it again to resume, or download the file by hand "
                        "and pass --weights PATH.")


def _mismatch(part: Path, what: str) -> WeightsError:
    part.unlink(missing_ok=True)
    return WeightsError(f"The downloaded ColorMNet weights have {what}; the partial file was deleted, so run the "
                        "download again, or download the file by hand and pass --weights PATH.")


def _receive(response: http.client.HTTPResponse, part: Path, start: int, total: int | None, url: str,
             progress: Callable[[int, int | None], None] | None, cancel: threading.Event | None) -> str:
    """Append the response body to ``part`` from byte ``start``; return the sha256 of the whole file."""
    digest = hashlib.sha256()
    if start:
        with open(part, "rb") as f:
            while block := f.read(8 * _MIB):
                digest.update(block)
    done = start
    with open(part, "ab" if start else "wb") as f:
        if progress is not None:
            progress(done, total)
        while True:
            if cancel is not None and cancel.is_set():
                logger.info("Download cancelled after %d bytes; %s is kept for a resume", done, part)
                raise DownloadCancelledError("Download cancelled; run again to resume.")
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _interrupted(url, done, total, exc) from exc
            if not chunk:
                break
            try:
                f.write(chunk)
            except OSError as exc:
                raise WeightsError(f"Could not write {part} ({exc.strerror or exc}); free some disk space or "
                                   "choose another destination.") from exc
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        f.flush()
        os.fsync(f.fileno())
    if total is not None and done < total:
        raise _interrupted(url, done, total, "the connection closed")
    if total is not None and done > total:
        raise _mismatch(part, f"{done} bytes where the server announced {total}")
    return digest.hexdigest()


def download_weights(
    dest: Path | None = None,
    *,
    url: str = WEIGHTS_URL,
    expected_sha256: str | None = WEIGHTS_SHA256,
    expected_size: int | None = WEIGHTS_SIZE,
    progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the checkpoint to ``dest`` through ``dest.part``, resuming a partial file left by an earlier try.

    The file is checked against the server's size, ``expected_size`` and ``expected_sha256`` (when given), synced
    to disk and renamed into place, so ``dest`` is either absent or complete.

    Args:
        dest: Target file; None means :func:`resolve_weights_path` (``$COLORMNET_WEIGHTS`` or the default).
        url: Where to fetch it.
        expected_sha256: Hex digest to check, or None to log the computed one.
        expected_size: Exact size in bytes to check, or None.
        progress: Called as ``progress(done_bytes, total_bytes_or_None)`` at the start and after every chunk.
        cancel: When set, the download stops at the next chunk and keeps the partial file.
        timeout: Seconds to wait for the server on connect and on each read.

    Returns:
        The path of the complete file.

    Raises:
        DownloadCancelledError: ``cancel`` was set; a later call resumes.
        WeightsError: A network error, or a size or checksum mismatch (the partial file is then deleted).
    """
    dest = Path(dest).expanduser() if dest is not None else resolve_weights_path()
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the folder {dest.parent} ({exc.strerror or exc}); choose another "
                           "destination.") from exc
    for _ in range(3):
        offset = part.stat().st_size if part.is_file() else 0
        try:
            with _open(url, offset, timeout) as response:
                start, total = _resume_point(response, offset)
                if expected_size is not None and total is not None and total != expected_size:
                    raise _mismatch(part, f"a size of {total} bytes on the server where {expected_size} is expected")
                logger.info("Downloading %s to %s (%s bytes, from byte %d)", url, dest, total, start)
                sha256 = _receive(response, part, start, total, url, progress, cancel)
        except _ResumeRejectedError:
            logger.info("Cannot resume %s; starting again from the first byte", part)
            part.unlink(missing_ok=True)
            continue
        break
    else:
        raise _network_error(url, "the server did not answer the resume request consistently")
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        raise _mismatch(part, f"{size} bytes where {expected_size} are expected")
    if expected_sha256 is not None and sha256 != expected_sha256.lower():
        raise _mismatch(part, f"the sha256 {sha256} where {expected_sha256} is expected")
    if expected_sha256 is None:
        logger.info("sha256 of the downloaded weights (%d bytes): %s", size, sha256)
    os.replace(part, dest)
    logger.info("Saved the ColorMNet weights to %s. %s", dest, WEIGHTS_LICENCE)
    return dest
