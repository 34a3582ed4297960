"""Locate, download, create and load the three Deep Exemplar checkpoints.

The engine needs three plain state dicts from the official release (SPEC section 1), kept together in one folder:
``vgg19_conv.pth`` (VGG19 conv trunk), ``nonlocal_net_iter_76000.pth`` (correspondence subnet) and
``colornet_iter_76000.pth`` (colorization subnet). Their keys and shapes are listed in
``colormnet/data/deepexemplar_state_dict_keys.tsv``; every file is checked against that manifest before a module
is built, so a missing, foreign or truncated file fails with one clear sentence.

Where the folder is, first match wins: an explicit path, ``$COLORMNET_DEEPEXEMPLAR_WEIGHTS``, then the user data
folder (:func:`default_weights_dir`). The folder may also be the release zip unpacked as is (``checkpoints/...``
and ``data/...`` inside it). The generic work (safe reading, the manifest check, the resumable download) is
:mod:`colormnet.engines.checkpoints`; this module holds Deep Exemplar's own facts.
"""

from __future__ import annotations

import functools
import logging
import math
import shutil
import threading
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

import torch

from colormnet.engines import checkpoints
from colormnet.engines.checkpoints import ManifestRow, Progress
from colormnet.errors import WeightsError

logger = logging.getLogger(__name__)

VGG_FILE = "vgg19_conv.pth"
CORRESPONDENCE_FILE = "nonlocal_net_iter_76000.pth"
COLORIZATION_FILE = "colornet_iter_76000.pth"
WEIGHT_FILES = (VGG_FILE, CORRESPONDENCE_FILE, COLORIZATION_FILE)
# Where each file sits inside the release zip (and in the official repository once it is unpacked there).
ZIP_MEMBERS = {
    VGG_FILE: "data/vgg19_conv.pth",
    CORRESPONDENCE_FILE: "checkpoints/video_moredata_l1/nonlocal_net_iter_76000.pth",
    COLORIZATION_FILE: "checkpoints/video_moredata_l1/colornet_iter_76000.pth",
}
ZIP_NAME = "colorization_checkpoint.zip"
ZIP_URL = f"https://github.com/zhangmozhe/Deep-Exemplar-based-Video-Colorization/releases/download/v1.0/{ZIP_NAME}"
ZIP_SHA256: str | None = None  # not yet confirmed against the published file; the download logs what it computed
ZIP_SIZE: int | None = None
WEIGHTS_LICENCE = (
    "The Deep Exemplar-based Video Colorization weights (Zhang et al., CVPR 2019, "
    "https://github.com/zhangmozhe/Deep-Exemplar-based-Video-Colorization) are published with that repository "
    "under its MIT licence; the VGG19 trunk derives from the VGG model of Simonyan and Zisserman, released under "
    "CC BY 4.0 (attribution required)."
)
ENV_VAR = "COLORMNET_DEEPEXEMPLAR_WEIGHTS"
RANDOM_SEED_KEY = "colormnet.engines.deepexemplar.random_init_seed"  # extra 0-d entry marking a random-init file

SOURCE = checkpoints.Source(
    "Deep Exemplar",
    f"run `colormnet weights download --engine deepexemplar`, or pass --weights FOLDER / set {ENV_VAR}")
RELEASE = checkpoints.Release(
    "the Deep Exemplar weights", ZIP_URL, ZIP_SHA256, ZIP_SIZE, WEIGHTS_LICENCE,
    by_hand=f"download {ZIP_NAME} by hand, unpack it and pass --weights FOLDER")


@dataclass(frozen=True)
class DeepExemplarWeights:
    """The three validated state dicts.

    Attributes:
        vgg: keys of ``vgg19_conv.pth``.
        correspondence: keys of ``nonlocal_net_iter_76000.pth``.
        colorization: keys of ``colornet_iter_76000.pth``.
        folder: where they were read from.
        random_seed: seed of files written by :func:`save_random_weights`, None for the trained weights.
    """

    vgg: dict[str, torch.Tensor]
    correspondence: dict[str, torch.Tensor]
    colorization: dict[str, torch.Tensor]
    folder: Path
    random_seed: int | None

    @property
    def is_random(self) -> bool:
        """Whether these are random-init weights (pipeline tests only)."""
        return self.random_seed is not None


# --- locating ------------------------------------------------------------------------------------------------------


def default_weights_dir() -> Path:
    """The folder used when nothing else is configured: ``deepexemplar`` in the user data folder of ``colormnet``."""
    return checkpoints.user_data_dir() / "deepexemplar"


def resolve_weights_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$COLORMNET_DEEPEXEMPLAR_WEIGHTS`` (when non-empty), else :func:`default_weights_dir`.

    A path to one of the three files stands for its folder.
    """
    path = checkpoints.resolve_path(explicit, ENV_VAR, default_weights_dir())
    return path.parent if path.name in WEIGHT_FILES and path.is_file() else path


def weight_file(folder: Path, name: str) -> Path:
    """Where ``name`` is in ``folder``: directly inside it, or at its place in the unpacked release zip."""
    direct = folder / name
    if direct.exists():
        return direct
    nested = folder / ZIP_MEMBERS[name]
    return nested if nested.exists() else direct


def fingerprint(folder: str | Path) -> str:
    """A cheap identity of the three files (size, mtime, first and last MiB of each), for caches."""
    root = resolve_weights_dir(folder)
    return "-".join(checkpoints.fingerprint(weight_file(root, f), SOURCE)[:16] for f in WEIGHT_FILES)


# --- manifest and random weights ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _manifest() -> dict[str, tuple[ManifestRow, ...]]:
    rows: dict[str, list[ManifestRow]] = {f: [] for f in WEIGHT_FILES}
    for file, key, shape, dtype, _numel in checkpoints.read_data_table("deepexemplar_state_dict_keys.tsv"):
        rows[file].append((key, checkpoints.parse_shape(shape), checkpoints.DTYPES[dtype]))
    return {file: tuple(r) for file, r in rows.items()}


def read_key_manifest(file: str) -> list[tuple[str, tuple[int, ...]]]:
    """The ``(key, shape)`` entries of one of the three files, in the official order (all float32)."""
    return [(key, shape) for key, shape, _ in _manifest()[file]]


def _random_tensor(file: str, key: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    # The exact rule of the golden data (seed 0): keep the order of the rules and the division.
    generator = torch.Generator().manual_seed(zlib.crc32(f"{file}/{key}".encode()) + seed)
    n = torch.randn(shape, generator=generator, dtype=torch.float32)
    if key.endswith("weight") and shape == (1,):
        return 0.25 + 0.05 * n
    if key.endswith("weight") and len(shape) == 1:
        return 1 + 0.1 * n
    if key.endswith("bias"):
        return 0.01 * n
    if key.endswith("weight"):
        return n / math.sqrt(math.prod(shape[1:]))
    return 0.02 * n


def random_state_dicts(seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    """Deterministic random weights of the official layout, one state dict per file name.

    Args:
        seed: non-negative; seed 0 gives the weights of the golden conformance data.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return {file: {key: _random_tensor(file, key, shape, seed) for key, shape, _ in rows}
            for file, rows in _manifest().items()}


def save_random_weights(dest_dir: str | Path, seed: int = 0) -> Path:
    """Writes the three files of :func:`random_state_dicts` (with a seed marker entry) into ``dest_dir`` (~240 MB).

    Returns:
        The folder written.

    Raises:
        WeightsError: the folder cannot be written.
    """
    folder = Path(dest_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, state in random_state_dicts(seed).items():
            state[RANDOM_SEED_KEY] = torch.tensor(seed, dtype=torch.int64)
            checkpoints.save_state_dict(state, folder / file)
    except OSError as exc:
        raise WeightsError(f"Could not write random Deep Exemplar weights to {folder} ({exc.strerror or exc}); "
                           "choose another folder.") from exc
    logger.info("Wrote random Deep Exemplar weights (seed %d) to %s", seed, folder)
    return folder


# --- loading -------------------------------------------------------------------------------------------------------


def _load_file(path: Path, file: str) -> tuple[dict[str, torch.Tensor], int | None]:
    if not path.exists():
        raise WeightsError(f"The Deep Exemplar file {path.name} is missing from {path.parent}; {SOURCE.advice}.")
    state = checkpoints.read_state_dict(path, SOURCE)
    seed = checkpoints.pop_seed(state, RANDOM_SEED_KEY, path)
    return checkpoints.check_against_manifest(state, _manifest()[file], path, SOURCE, f"the Deep Exemplar {file}"), seed


def load_weights(folder: str | Path | None = None) -> DeepExemplarWeights:
    """Reads and validates the three files.

    Args:
        folder: the folder that holds them (None: :func:`resolve_weights_dir`).

    Raises:
        WeightsError: the folder or a file is missing, unreadable, truncated, refused as unsafe, holds a NaN or an
            infinity, or is not the expected checkpoint.
    """
    root = resolve_weights_dir(folder)
    if not root.is_dir():
        raise WeightsError(f"No Deep Exemplar weights folder at {root}; {SOURCE.advice}.")
    states, seeds = {}, set()
    for file in WEIGHT_FILES:
        states[file], seed = _load_file(weight_file(root, file), file)
        seeds.add(seed)
    if len(seeds) > 1:
        raise WeightsError(f"The files in {root} mix trained and random (or differently seeded) weights; "
                           f"{SOURCE.advice}.")
    seed = seeds.pop()
    if seed is not None:
        checkpoints.warn_random(root, seed, SOURCE)
    return DeepExemplarWeights(states[VGG_FILE], states[CORRESPONDENCE_FILE], states[COLORIZATION_FILE], root, seed)


# --- downloading ---------------------------------------------------------------------------------------------------


def _zip_member(names: list[str], file: str) -> str | None:
    """The name of ``file`` in the release zip: at its official place, else anywhere."""
    member = next((n for n in names if n.endswith(ZIP_MEMBERS[file])), None)
    return member or next((n for n in names if n.rsplit("/", 1)[-1] == file), None)


def _copy(src: IO[bytes], dst: IO[bytes]) -> None:
    shutil.copyfileobj(src, dst, 1 << 20)


def _extract(archive: Path, folder: Path) -> None:
    """Copies the three members of the release zip into ``folder``, each through a temporary file and a rename."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for file in WEIGHT_FILES:
                member = _zip_member(zf.namelist(), file)
                if member is None:
                    raise WeightsError(f"The downloaded {archive.name} has no {file}; download the release by hand "
                                       f"and unpack {file} into {folder}.")
                with zf.open(member) as src:
                    checkpoints.write_atomic(folder / file, functools.partial(_copy, src))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        archive.unlink(missing_ok=True)
        raise WeightsError(f"The downloaded {archive.name} is damaged ({exc}); it was deleted, so run the download "
                           "again.") from exc
    except OSError as exc:
        raise WeightsError(f"Could not unpack the Deep Exemplar weights into {folder} ({exc.strerror or exc}); free "
                           "some disk space or choose another folder.") from exc


def download_weights(
    dest_dir: str | Path | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetches the official release zip (resumable, checked) and unpacks the three inference files.

    Nothing is fetched when the three files are already there and read as checkpoints; one that does not (empty, cut
    short) is replaced, each file only once its new copy is complete. The zip (about 0.8 GB, most of it files this
    engine does not use) is deleted once unpacked.

    Args:
        dest_dir: target folder (None: :func:`resolve_weights_dir`).
        progress: called as ``progress(done_bytes, total_bytes_or_None)`` during the download.
        cancel: when set, the download stops at the next chunk and keeps its partial file for a resume.

    Returns:
        The folder holding the three files.

    Raises:
        WeightsError: network, disk, size or checksum failure (``DownloadCancelledError`` when cancelled), or a file
            there that is a checkpoint of other weights (it is left alone).
    """
    folder = resolve_weights_dir(dest_dir)
    if checkpoints.already_there(folder, [folder / f for f in WEIGHT_FILES], load_weights):
        logger.info("The Deep Exemplar weights are already in %s", folder)
        return folder
    archive = checkpoints.download_file(folder / ZIP_NAME, RELEASE, progress=progress, cancel=cancel)
    _extract(archive, folder)
    archive.unlink(missing_ok=True)
    logger.info("Unpacked the Deep Exemplar weights into %s", folder)
    return folder
