"""Key manifests: the entries an official checkpoint holds, read from a table in ``colormnet/data``, and the check of
a state dict against them before any ``nn.Module`` exists.

A manifest is a sequence of :data:`ManifestRow` ``(key, shape, dtype)`` in the official order, shape ``()`` for a
scalar. The tables are tab-separated with a header line; each engine reads its own columns with
:func:`read_data_table` and :func:`parse_shape`.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from colormnet.engines.checkpoints.reading import Source, check_finite, file_error

ManifestRow = tuple[str, tuple[int, ...], torch.dtype]

DTYPES = {"float32": torch.float32, "float16": torch.float16, "int64": torch.int64}


def read_data_table(name: str) -> list[list[str]]:
    """The rows of the tab-separated table ``colormnet/data/<name>``, without its header and blank lines."""
    try:
        text = (importlib.resources.files("colormnet") / "data" / name).read_text("utf-8")
    except (TypeError, NotADirectoryError):
        # importlib.resources cannot read a namespace package behind an editable-install finder (Python 3.11).
        text = (Path(__file__).parents[2] / "data" / name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines()[1:] if line.strip()]


def parse_shape(text: str) -> tuple[int, ...]:
    """A shape as the tables write it: ``64x3x7x7``, ``[64, 3, 7, 7]``, or ``scalar`` for ``()``."""
    text = text.strip().strip("[]").strip()
    if text in ("", "scalar"):
        return ()
    return tuple(int(d) for d in re.split(r"\s*[x,]\s*", text))


def shape_text(shape: tuple[int, ...]) -> str:
    """``64x3x7x7``, or ``scalar`` for ``()``."""
    return "x".join(map(str, shape)) if shape else "scalar"


def _examples(keys: list[str]) -> str:
    return f" (e.g. {', '.join(keys[:2])})" if keys else ""


def check_against_manifest(
    state: dict[str, Any], rows: Sequence[ManifestRow], path: Path, source: Source, what: str
) -> dict[str, torch.Tensor]:
    """Checks a state dict entry by entry against a manifest and returns it in the manifest's order.

    Args:
        state: as read from the file (no wrapping, no seed marker).
        rows: the manifest.
        path: the file, for the messages.
        source: whose weights, for the messages.
        what: what the file should be, as in "``path`` is not *a ColorMNet checkpoint*".

    Returns:
        Every manifest key: floating tensors as float32 and integer ones in the manifest's dtype, on the CPU.

    Raises:
        WeightsError: Keys are missing or unexpected (counted, with examples), an entry has another shape or kind of
            number than the manifest says, or a weight is NaN or infinite.
    """
    expected = {key for key, _, _ in rows}
    missing = [key for key, _, _ in rows if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise file_error(
            f"{path} is not {what}: {len(missing)} of {len(rows)} expected keys are missing{_examples(missing)} and "
            f"{len(unexpected)} are unexpected{_examples(unexpected)}", source.advice)
    wrong = [(key, shape) for key, shape, _ in rows
             if not isinstance(state[key], torch.Tensor) or tuple(state[key].shape) != shape]
    if wrong:
        key, shape = wrong[0]
        value = state[key]
        got = shape_text(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__
        more = f" (and {len(wrong) - 1} more entries differ)" if len(wrong) > 1 else ""
        raise file_error(f"{path} does not fit the {source.label} network: {key} is {got} where "
                         f"{shape_text(shape)} is expected{more}", source.advice)
    out: dict[str, torch.Tensor] = {}
    for key, _, dtype in rows:
        tensor = state[key]
        if dtype.is_floating_point != tensor.is_floating_point():
            raise file_error(f"{path} stores {key} as {tensor.dtype} where {dtype} is expected", source.advice)
        out[key] = tensor.to(device="cpu", dtype=torch.float32 if dtype.is_floating_point else dtype)
    check_finite(out, path, source)
    return out
