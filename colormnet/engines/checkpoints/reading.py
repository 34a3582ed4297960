"""Reading an untrusted checkpoint file: torch's safe loader, a refusal for safety told apart from damage, the usual
wrappings taken off, and a check that every weight is a finite number.

``torch.load(..., weights_only=True)`` builds only tensors and plain containers; a file that asks for anything else
(a pickled class whose ``__reduce__`` would run code) is refused with :class:`pickle.UnpicklingError` naming the
global it wanted, before anything of it runs. That refusal is reported as such, never as a damaged download, since
downloading the same file again would not help. The wording of torch's message has changed between versions
("Unsupported global: GLOBAL x.y", "unsupported GLOBAL x.y", "Unsupported class x.y"), so it is matched by the
exception type and case-insensitively.
"""

from __future__ import annotations

import logging
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from colormnet.engines.base import RANDOM_WEIGHTS_LOGGER
from colormnet.errors import DamagedWeightsError, WeightsError

logger = logging.getLogger(__name__)

_ZIP = b"PK\x03\x04"  # torch.save's archive
_MAGICS = (_ZIP, b"\x80")  # a zip archive or a legacy pickle
_LEGACY = b"\x80\x02\x8a\n"  # torch.save's legacy format starts with a pickled magic number (protocol 2, LONG1)
_REFUSED = re.compile(r"unsupported\s+(?:global|class)\W*(?:global\s+)?([\w.]+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """Whose checkpoints these are, as every error message about them says it.

    Attributes:
        label: the engine's name for people (``ColorMNet``), as in "No ColorMNet weights at ...".
        advice: how to get a good copy, ending every message (``run `colormnet weights download`, or ...``).
    """

    label: str
    advice: str


_MAX_PICKLE_BYTES = 16 * 2**20  # a state dict's pickle holds names and shapes: a few hundred KB for ColorMNet


def file_error(fault: str, advice: str, kind: type[WeightsError] = WeightsError) -> WeightsError:
    """The one sentence ``"<fault>; <advice>."`` as ``kind``, keeping ``fault`` (which names the file) apart."""
    return kind(f"{fault}; {advice}.", fault=fault)


def refused_global(exc: BaseException) -> str | None:
    """What a checkpoint asked to build when torch's safe loader refused it (``"posix.system"``), else None.

    Returns ``"a Python object"`` when the refusal names nothing recognisable.
    """
    if not isinstance(exc, pickle.UnpicklingError):
        return None
    match = _REFUSED.search(str(exc))
    if match is None:
        return None
    return match.group(1) or "a Python object"


def _load(path: Path, magic: bytes, source: Source) -> Any:
    """Loads ``path`` with torch's weights-only loader, turning every failure into one :class:`WeightsError`."""
    try:
        with warnings.catch_warnings():  # torch's advice on pickle protocols is for its developers, not our users
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails with many unrelated types on a bad file
        logger.debug("torch.load(%s) failed", path, exc_info=True)
        if not magic.startswith(_MAGICS):
            raise file_error(f"{path} is not a PyTorch checkpoint", source.advice) from exc
        wanted = refused_global(exc)
        if wanted is not None:
            raise file_error(
                f"{path} was refused as unsafe: it holds Python objects besides tensors (it asks for {wanted}, which "
                "could run code), so nothing of it was loaded", "pass a plain state-dict checkpoint you trust") from exc
        if not magic.startswith((_ZIP, _LEGACY)):
            raise file_error(f"{path} is a Python pickle, not a PyTorch checkpoint", source.advice) from exc
        raise file_error(f"{path} is damaged or incomplete (perhaps an interrupted download)",
                         source.advice, DamagedWeightsError) from exc


def _unwrap(obj: Any, path: Path, source: Source) -> dict[str, Any]:
    # Training scripts often save {"state_dict": ...} / {"model": ...} and DataParallel adds "module." to every key.
    while isinstance(obj, dict):
        inner = next((obj[k] for k in ("state_dict", "model") if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise file_error(f"{path} holds a {type(obj).__name__}, not a state dict of named tensors", source.advice)
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return dict(obj)


def read_state_dict(path: Path, source: Source) -> dict[str, Any]:
    """Reads an untrusted checkpoint file into a state dict, without running anything it holds.

    A state dict wrapped in ``{"state_dict": ...}`` or ``{"model": ...}``, or with DataParallel's ``module.`` prefix
    on every key, is taken out of its wrapping. Keys and values are not checked yet (see
    :func:`colormnet.engines.checkpoints.manifest.check_against_manifest`).

    Raises:
        DamagedWeightsError: The file is empty, or a PyTorch checkpoint that is damaged or cut short; one sentence
            ending with ``source.advice``.
        WeightsError: The file is missing, a folder, unreadable, not a PyTorch checkpoint, refused as unsafe (it
            holds Python objects besides tensors), or not a mapping of names.
    """
    if not path.exists():
        raise WeightsError(f"No {source.label} weights at {path}; {source.advice}.")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a checkpoint file; pass the path of the .pth file itself.")
    if not path.is_file():  # a pipe would be waited on for ever, a device read without end
        raise WeightsError(f"{path} is a pipe or a device, not a checkpoint file; pass the .pth file itself.")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise WeightsError(f"Cannot read {path} ({exc.strerror or exc}); check the file's permissions.") from exc
    if not magic:
        raise file_error(f"{path} is empty (0 bytes)", source.advice, DamagedWeightsError)
    return _unwrap(_load(path, magic, source), path, source)


def names_entry(path: Path, key: str) -> bool:
    """Whether the PyTorch checkpoint at ``path`` names an entry ``key``, seen in its pickle alone: no tensor is read
    (milliseconds for a file of any size). False for anything else, a file that is not a PyTorch zip archive or
    whose pickle is implausibly large included."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickled = next((i for i in archive.infolist() if i.filename.endswith("/data.pkl")), None)
            if pickled is None or pickled.file_size > _MAX_PICKLE_BYTES:
                return False
            return key.encode() in archive.read(pickled)
    except Exception:  # any file at all: a damaged member fails with zlib's, lzma's or bz2's own errors
        return False


def pop_seed(state: dict[str, Any], key: str, path: Path) -> int | None:
    """Removes the 0-d integer entry ``key`` that marks a file of random weights and returns its seed.

    Returns:
        The seed, or None for a file without the entry (trained weights).

    Raises:
        WeightsError: The entry is there but is not a single integer.
    """
    marker = state.pop(key, None)
    if marker is None:
        return None
    if not isinstance(marker, torch.Tensor) or marker.numel() != 1 or marker.is_floating_point():
        raise file_error(f"{path} has a malformed {key} entry", "write it again with `save_random_weights`")
    return int(marker.item())


def warn_random(where: Path, seed: int, source: Source) -> None:
    """Warns that ``where`` holds random weights (those :func:`pop_seed` found), on the logger
    :data:`~colormnet.engines.base.RANDOM_WEIGHTS_LOGGER` that a front end saying so itself turns down."""
    logging.getLogger(RANDOM_WEIGHTS_LOGGER).warning(
        "%s holds RANDOM %s weights (seed %d), made for tests and demos: the colours are meaningless",
        where, source.label, seed)


def all_finite(tensor: torch.Tensor) -> bool:
    """Whether a floating tensor holds no NaN and no infinity.

    A sum is finite only when every term is (an infinity or a NaN carries through additions in any order), so one
    reduction settles the common case; a sum that is not finite is either such a value or finite values overflowing,
    which the element-wise test tells apart. (``torch.isfinite`` over a checkpoint's ~124 M values takes seconds on
    some CPUs; the sum a few tens of milliseconds.)
    """
    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())


def first_non_finite(state: Mapping[str, torch.Tensor]) -> str | None:
    """The first key (in the mapping's order) of a floating tensor holding a NaN or an infinity, else None."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not all_finite(tensor):
            return key
    return None


def check_finite(state: Mapping[str, torch.Tensor], path: Path, source: Source) -> None:
    """Refuses weights with a NaN or an infinity: they would render garbage (or black) without any error.

    Raises:
        DamagedWeightsError: Naming the first such parameter.
    """
    key = first_non_finite(state)
    if key is not None:
        raise file_error(f"{path} is damaged: its parameter {key} holds values that are not numbers (NaN or "
                         "infinity)", source.advice, DamagedWeightsError)
