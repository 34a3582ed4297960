"""Hostile and damaged checkpoint contents shared by the weights tests of both engines. This module holds no tests."""

from __future__ import annotations

import os
from pathlib import Path

import torch


class MakesAFolder:
    """Unpickling it calls ``os.mkdir(marker)``: harmless, and the folder shows whether the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def save_malicious(state: dict[str, object], path: Path, marker: Path, *, legacy: bool) -> Path:
    """Saves ``state`` plus an entry whose unpickling would run code, in the zip or the legacy torch format."""
    torch.save({**state, "payload": MakesAFolder(marker)}, path, _use_new_zipfile_serialization=not legacy)
    return path


def all_ones_bits(shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor of ``shape`` whose bytes are all 0xFF: every element is a NaN (as in a damaged file)."""
    count = 1
    for side in shape:
        count *= side
    return torch.frombuffer(bytearray(b"\xff" * (4 * count)), dtype=torch.float32).reshape(shape)
