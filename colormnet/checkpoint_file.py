"""Reading an untrusted checkpoint file: torch's safe loader, a refusal for safety told apart from damage, and a
check that every weight is a finite number.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from colormnet.errors import WeightsError

logger = logging.getLogger(__name__)

_MAGICS = (b"PK\x03\x04", b"\x80")  # a zip archive (torch.save) or a legacy pickle
_REFUSED = re.compile(r"unsupported\s+(?:global|class)\W*(?:global\s+)?([\w.]+)?", re.IGNORECASE)


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


def read_checkpoint(path: Path, magic: bytes, *, foreign: str, advice: str) -> Any:
    """Loads ``path`` with torch's weights-only loader, turning every failure into one :class:`WeightsError`.

    Args:
        path: The checkpoint file (already known to exist and to be non-empty).
        magic: Its first bytes, to tell a file of another kind from a damaged checkpoint.
        foreign: What to do about a file that is no PyTorch checkpoint at all (ends that message).
        advice: How to get a good copy (ends the message about a damaged file).

    Raises:
        WeightsError: The file is not a checkpoint, was refused as unsafe, or is damaged.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails with many unrelated types on a bad file
        logger.debug("torch.load(%s) failed", path, exc_info=True)
        if not magic.startswith(_MAGICS):
            raise WeightsError(f"{path} is not a PyTorch checkpoint; {foreign}.") from exc
        wanted = refused_global(exc)
        if wanted is not None:
            raise WeightsError(
                f"{path} was refused as unsafe: it holds Python objects besides tensors (it asks for {wanted}, which "
                "could run code), so nothing of it was loaded; pass a plain state-dict checkpoint you trust."
            ) from exc
        raise WeightsError(f"{path} is damaged or incomplete (perhaps an interrupted download); delete it and "
                           f"{advice}.") from exc


def first_non_finite(state: Mapping[str, torch.Tensor]) -> str | None:
    """The first key (in the mapping's order) of a floating tensor holding a NaN or an infinity, else None."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return key
    return None


def check_finite(state: Mapping[str, torch.Tensor], path: Path, advice: str) -> None:
    """Refuses weights with a NaN or an infinity: they would render garbage (or black) without any error.

    Raises:
        WeightsError: Naming the first such parameter.
    """
    key = first_non_finite(state)
    if key is not None:
        raise WeightsError(f"{path} is damaged: its parameter {key} holds values that are not numbers (NaN or "
                           f"infinity); delete it and {advice}.")
