"""Locate, download, create and load ColorMNet checkpoints.

Everything here works from the key manifest of the official checkpoint (``colormnet/data/state_dict_keys.tsv``,
one ``key  shape  dtype`` row per entry), never from the network module, so a checkpoint can be checked, converted
and validated before any ``nn.Module`` exists.

Where a checkpoint comes from, first match wins: an explicit path, ``$COLORMNET_WEIGHTS``, then the user data
folder (:func:`default_weights_path`). :func:`download_weights` fetches the official file there with resume,
progress, cancel and checks; :func:`save_random_weights` writes deterministic random weights of the same layout for
tests and for trying the pipeline without the real file; :func:`load_weights` reads either kind into a validated
float32 CPU state dict. The generic work (safe reading, the manifest check, the resumable download) is
:mod:`colormnet.engines.checkpoints`; this module holds ColorMNet's own facts.
"""

from __future__ import annotations

import logging
import math
import threading
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from colormnet.engines import checkpoints
from colormnet.engines.checkpoints import DownloadCancelledError, ManifestRow, Progress
from colormnet.errors import WeightsError

logger = logging.getLogger(__name__)

__all__ = [
    "ENV_VAR",
    "RANDOM_SEED_KEY",
    "WEIGHTS_FILENAME",
    "WEIGHTS_LICENCE",
    "WEIGHTS_URL",
    "DownloadCancelledError",
    "LoadedWeights",
    "default_weights_path",
    "download_weights",
    "fingerprint",
    "load_weights",
    "looks_random",
    "random_state_dict",
    "read_key_manifest",
    "resolve_weights_path",
    "save_random_weights",
]

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

SOURCE = checkpoints.Source(
    "ColorMNet", f"run `colormnet weights download`, or pass --weights PATH / set {ENV_VAR}")
RELEASE = checkpoints.Release(
    "the ColorMNet weights", WEIGHTS_URL, WEIGHTS_SHA256, WEIGHTS_SIZE, WEIGHTS_LICENCE,
    by_hand="download the file by hand and pass --weights PATH")

_LEGACY_KEY = "value_encoder.conv1.weight"  # older checkpoints take 4 input channels here instead of 5


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
    return checkpoints.user_data_dir() / WEIGHTS_FILENAME


def resolve_weights_path(explicit: str | Path | None = None) -> Path:
    """Pick the checkpoint path: ``explicit``, else ``$COLORMNET_WEIGHTS`` (when non-empty), else the default.

    Args:
        explicit: A path given by the user (``--weights``), or None.

    Returns:
        The path, with ``~`` expanded; it may not exist yet.
    """
    return checkpoints.resolve_path(explicit, ENV_VAR, default_weights_path())


def fingerprint(path: Path) -> str:
    """A cheap identity of a checkpoint for caches: sha256 of its size, mtime and first and last MiB.

    Raises:
        WeightsError: The file does not exist.
    """
    return checkpoints.fingerprint(path, SOURCE)


@lru_cache(maxsize=1)
def _manifest_rows() -> tuple[ManifestRow, ...]:
    return tuple((key, checkpoints.parse_shape(shape), checkpoints.DTYPES[dtype])
                 for key, shape, dtype in checkpoints.read_data_table("state_dict_keys.tsv"))


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
        checkpoints.save_state_dict(state, path)
    except OSError as exc:
        raise WeightsError(f"Could not write random weights to {path} ({exc.strerror or exc}); "
                           "choose another path.") from exc
    logger.info("Wrote random ColorMNet weights (seed %d) to %s", seed, path)
    return path


# --- loading -------------------------------------------------------------------------------------------------------


def looks_random(path: str | Path) -> bool:
    """Whether ``path`` is a file of :func:`save_random_weights`, told from its entries' names alone (cheap enough to
    ask on the GUI thread); :func:`load_weights` reads and checks the file itself."""
    return checkpoints.names_entry(Path(path).expanduser(), RANDOM_SEED_KEY)


def _convert_legacy(state: dict[str, Any]) -> None:
    conv = state.get(_LEGACY_KEY)
    if isinstance(conv, torch.Tensor) and conv.dim() == 4 and conv.shape[1] == 4:
        logger.info("Converting a legacy checkpoint: appending a zero input channel to %s", _LEGACY_KEY)
        state[_LEGACY_KEY] = torch.cat([conv, conv.new_zeros(conv.shape[0], 1, *conv.shape[2:])], dim=1)


def load_weights(path: str | Path) -> LoadedWeights:
    """Read, convert and validate a ColorMNet checkpoint.

    Accepts the official file, a legacy one (4-channel ``value_encoder.conv1``), one wrapped in ``{"state_dict":
    ...}`` / ``{"model": ...}`` or with a ``module.`` prefix, and files from :func:`save_random_weights`.

    Args:
        path: The checkpoint file.

    Returns:
        Every manifest key with the manifest's shape; floating tensors as float32 on the CPU.

    Raises:
        DamagedWeightsError: The file is empty, or a torch file that is truncated or damaged, or holds a NaN or an
            infinity: a fresh copy replaces it.
        WeightsError: The file is missing, a folder, unreadable, not a torch file, refused as unsafe (it holds
            Python objects besides tensors), or does not match the manifest. Every message is one sentence saying
            what to do.
    """
    path = Path(path).expanduser()
    state = checkpoints.read_state_dict(path, SOURCE)
    seed = checkpoints.pop_seed(state, RANDOM_SEED_KEY, path)
    _convert_legacy(state)
    checked = checkpoints.check_against_manifest(state, _manifest_rows(), path, SOURCE, "a ColorMNet checkpoint")
    weights = LoadedWeights(state_dict=checked, path=path, random_seed=seed)
    if seed is not None:
        checkpoints.warn_random(path, seed, SOURCE)
    return weights


# --- downloading ---------------------------------------------------------------------------------------------------


def download_weights(
    dest: Path | None = None,
    *,
    url: str = WEIGHTS_URL,
    expected_sha256: str | None = WEIGHTS_SHA256,
    expected_size: int | None = WEIGHTS_SIZE,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the checkpoint to ``dest`` through ``dest.part``, resuming a partial file left by an earlier try.

    See :func:`colormnet.engines.checkpoints.download_file`: ``dest`` is either absent or complete and checked.
    Nothing is fetched when a checkpoint that reads is there already (random weights too: delete them to download
    the real ones). An empty, cut-short or damaged one is replaced once the new copy is complete; any other file
    there is the user's and is left alone (:func:`colormnet.engines.checkpoints.already_there`).

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
        WeightsError: A network error, a size or checksum mismatch (the partial file is then deleted), or a file at
            ``dest`` that is not this checkpoint (a checkpoint of other weights, a video named by mistake).
    """
    dest = Path(dest).expanduser() if dest is not None else resolve_weights_path()
    if checkpoints.already_there(dest, [dest], load_weights):
        logger.info("The ColorMNet weights are already at %s", dest)
        return dest
    release = replace(RELEASE, url=url, sha256=expected_sha256, size=expected_size)
    return checkpoints.download_file(dest, release, progress=progress, cancel=cancel, timeout=timeout)
