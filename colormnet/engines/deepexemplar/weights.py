"""Locate, download, create and load the three Deep Exemplar checkpoints.

The engine needs three plain state dicts from the official release (SPEC section 1), kept together in one folder:
``vgg19_conv.pth`` (VGG19 conv trunk), ``nonlocal_net_iter_76000.pth`` (correspondence subnet) and
``colornet_iter_76000.pth`` (colorization subnet). Their keys and shapes are listed in
``colormnet/data/deepexemplar_state_dict_keys.tsv``; every file is checked against that manifest before a module
is built, so a missing, foreign or truncated file fails with one clear sentence.

Where the folder is, first match wins: an explicit path, ``$COLORMNET_DEEPEXEMPLAR_WEIGHTS``, then the user data
folder (:func:`default_weights_dir`). The folder may also be the release zip unpacked as is (``checkpoints/...``
and ``data/...`` inside it).
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import os
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
import torch

from colormnet.checkpoint_file import check_finite, read_checkpoint
from colormnet.engines.colormnet import weights as colormnet_weights
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

_HOW_TO_GET = ("run `colormnet weights download --engine deepexemplar`, or pass --weights FOLDER / set "
               f"{ENV_VAR}")

ManifestRow = tuple[str, tuple[int, ...]]


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
    return platformdirs.user_data_path("colormnet", appauthor=False) / "deepexemplar"


def resolve_weights_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$COLORMNET_DEEPEXEMPLAR_WEIGHTS`` (when non-empty), else :func:`default_weights_dir`.

    A path to one of the three files stands for its folder.
    """
    if explicit is not None and str(explicit):
        path = Path(explicit).expanduser()
    elif os.environ.get(ENV_VAR, "").strip():
        path = Path(os.environ[ENV_VAR].strip()).expanduser()
    else:
        path = default_weights_dir()
    return path.parent if path.name in WEIGHT_FILES and path.is_file() else path


def weight_file(folder: Path, name: str) -> Path:
    """Where ``name`` is in ``folder``: directly inside it, or at its place in the unpacked release zip."""
    direct = folder / name
    if direct.exists():
        return direct
    nested = folder / ZIP_MEMBERS[name]
    return nested if nested.exists() else direct


# --- manifest and random weights ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _manifest() -> dict[str, tuple[ManifestRow, ...]]:
    name = "deepexemplar_state_dict_keys.tsv"
    try:
        text = (importlib.resources.files("colormnet") / "data" / name).read_text("utf-8")
    except (TypeError, NotADirectoryError):  # a namespace package behind an editable-install finder
        text = (Path(__file__).parent.parent / "data" / name).read_text("utf-8")
    rows: dict[str, list[ManifestRow]] = {f: [] for f in WEIGHT_FILES}
    for line in text.splitlines()[1:]:
        if line.strip():
            file, key, shape, _dtype, _numel = line.split("\t")
            rows[file].append((key, tuple(int(d) for d in shape.strip("[]").split(","))))
    return {file: tuple(r) for file, r in rows.items()}


def read_key_manifest(file: str) -> list[tuple[str, tuple[int, ...]]]:
    """The ``(key, shape)`` entries of one of the three files, in the official order (all float32)."""
    return list(_manifest()[file])


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
    return {file: {key: _random_tensor(file, key, shape, seed) for key, shape in rows}
            for file, rows in _manifest().items()}


def _save_atomic(state: dict[str, torch.Tensor], path: Path) -> None:
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
            _save_atomic(state, folder / file)
    except OSError as exc:
        raise WeightsError(f"Could not write random Deep Exemplar weights to {folder} ({exc.strerror or exc}); "
                           "choose another folder.") from exc
    logger.info("Wrote random Deep Exemplar weights (seed %d) to %s", seed, folder)
    return folder


# --- loading -------------------------------------------------------------------------------------------------------


def _read(path: Path) -> Any:
    if not path.is_file():
        raise WeightsError(f"The Deep Exemplar file {path.name} is missing from {path.parent}; {_HOW_TO_GET}.")
    with open(path, "rb") as f:
        magic = f.read(4)
    if not magic:
        raise WeightsError(f"{path} is empty (0 bytes); delete it and {_HOW_TO_GET}.")
    return read_checkpoint(path, magic, foreign=_HOW_TO_GET, advice=_HOW_TO_GET)


def _validate(obj: Any, path: Path, file: str) -> tuple[dict[str, torch.Tensor], int | None]:
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict of named tensors; {_HOW_TO_GET}.")
    state = {k.removeprefix("module."): v for k, v in obj.items()}
    marker = state.pop(RANDOM_SEED_KEY, None)
    seed = int(marker.item()) if isinstance(marker, torch.Tensor) and marker.numel() == 1 else None
    rows = _manifest()[file]
    expected = {key for key, _ in rows}
    missing = [key for key, _ in rows if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        example = (missing or unexpected)[0]
        raise WeightsError(f"{path} is not the Deep Exemplar {file}: {len(missing)} of {len(rows)} expected keys are "
                           f"missing and {len(unexpected)} are unexpected (e.g. {example}); {_HOW_TO_GET}.")
    out = {}
    for key, shape in rows:
        value = state[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point() or tuple(value.shape) != shape:
            got = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise WeightsError(f"{path} does not fit the Deep Exemplar network: {key} is {got} where a float "
                               f"tensor of {list(shape)} is expected; {_HOW_TO_GET}.")
        out[key] = value.to(device="cpu", dtype=torch.float32)
    check_finite(out, path, _HOW_TO_GET)
    return out, seed


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
        raise WeightsError(f"No Deep Exemplar weights folder at {root}; {_HOW_TO_GET}.")
    states, seeds = {}, set()
    for file in WEIGHT_FILES:
        path = weight_file(root, file)
        states[file], seed = _validate(_read(path), path, file)
        seeds.add(seed)
    if len(seeds) > 1:
        raise WeightsError(f"The files in {root} mix trained and random (or differently seeded) weights; "
                           f"{_HOW_TO_GET}.")
    seed = seeds.pop()
    if seed is not None:
        logger.warning("%s holds random Deep Exemplar weights (seed %d): the colours are meaningless", root, seed)
    return DeepExemplarWeights(states[VGG_FILE], states[CORRESPONDENCE_FILE], states[COLORIZATION_FILE], root, seed)


def fingerprint(folder: str | Path) -> str:
    """A cheap identity of the three files (size, mtime, first and last MiB of each), for caches."""
    root = resolve_weights_dir(folder)
    return "-".join(colormnet_weights.fingerprint(weight_file(root, f))[:16] for f in WEIGHT_FILES)


# --- downloading ---------------------------------------------------------------------------------------------------


def _extract(archive: Path, folder: Path) -> None:
    """Copies the three members of the release zip into ``folder``, each through a temporary file and a rename."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            for file in WEIGHT_FILES:
                member = next((n for n in names if n.endswith(ZIP_MEMBERS[file])), None)
                if member is None:
                    member = next((n for n in names if n.rsplit("/", 1)[-1] == file), None)
                if member is None:
                    raise WeightsError(f"The downloaded {archive.name} has no {file}; download the release by hand "
                                       f"and unpack {file} into {folder}.")
                with zf.open(member) as src, tempfile.NamedTemporaryFile(
                    dir=folder, prefix=f".{file}.", suffix=".tmp", delete=False
                ) as dst:
                    tmp = Path(dst.name)
                    try:
                        while block := src.read(1 << 20):
                            dst.write(block)
                        dst.flush()
                        os.fsync(dst.fileno())
                    except BaseException:
                        tmp.unlink(missing_ok=True)
                        raise
                os.replace(tmp, folder / file)
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
    progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetches the official release zip (resumable, checked) and unpacks the three inference files.

    Nothing is fetched when the three files are already there. The zip (about 0.8 GB, most of it files this engine
    does not use) is deleted once unpacked.

    Args:
        dest_dir: target folder (None: :func:`resolve_weights_dir`).
        progress: called as ``progress(done_bytes, total_bytes_or_None)`` during the download.
        cancel: when set, the download stops at the next chunk and keeps its partial file for a resume.

    Returns:
        The folder holding the three files.

    Raises:
        WeightsError: network, disk, size or checksum failure (``DownloadCancelledError`` when cancelled).
    """
    folder = resolve_weights_dir(dest_dir)
    if all((folder / f).is_file() for f in WEIGHT_FILES):
        logger.info("The Deep Exemplar weights are already in %s", folder)
        return folder
    archive = colormnet_weights.download_weights(
        folder / ZIP_NAME, url=ZIP_URL, expected_sha256=ZIP_SHA256, expected_size=ZIP_SIZE, progress=progress,
        cancel=cancel,
    )
    _extract(archive, folder)
    archive.unlink(missing_ok=True)
    logger.info("Saved the Deep Exemplar weights to %s. %s", folder, WEIGHTS_LICENCE)
    return folder
