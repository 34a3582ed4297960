"""The memory entry an exemplar makes, kept for the next run that starts from the same exemplar.

A run that starts from an exemplar first encodes it: a pass of the key encoder and one of the value encoder, as much
as a frame costs (about 5 s at 960x536 on two CPU cores). The same exemplar starts several runs: the forward and
the backward pass of the segments on both sides of it, every colorize call after an edit elsewhere in the film, a
shot that borrows another shot's exemplar, the export after the preview. The entry depends only on the exemplar's
pixels (and, for a keyframe, its frame's), the processing size and the numerics, so it is kept, per loaded network,
for the last few exemplars.

Legend: ``C_k`` key channels, ``O`` objects, ``C_v`` value channels, ``h x w`` the key grid of the padded frame.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["ExemplarCache", "ExemplarEntry", "pixels_digest"]


class ExemplarEntry(NamedTuple):
    """What an exemplar adds to the permanent memory: key ``1 x C_k x h x w``, shrinkage ``1 x 1 x h x w``, value
    ``1 x O x C_v x h x w``."""

    key: torch.Tensor
    shrinkage: torch.Tensor
    value: torch.Tensor


def pixels_digest(*arrays: np.ndarray) -> str:
    """A digest of arrays' shapes, types and bytes (the exemplar's RGB, a keyframe's luminance)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(f"{array.shape}{array.dtype.str};".encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


class ExemplarCache:
    """The last ``capacity`` exemplar entries of one network, least recently used first out.

    Engines share the entries: the memory appends them and never writes into them.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, ExemplarEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_encode(self, ident: Hashable, encode: Callable[[], ExemplarEntry]) -> ExemplarEntry:
        """The entry for ``ident``, from the cache or made by ``encode()`` (then kept)."""
        with self._lock:
            entry = self._entries.get(ident)
            if entry is not None:
                self._entries.move_to_end(ident)
                self.hits += 1
                return entry
            self.misses += 1
        entry = encode()  # outside the lock: seconds of work, and a second thread may encode another exemplar
        with self._lock:
            self._entries[ident] = entry
            self._entries.move_to_end(ident)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forgets every entry (the device ran out of memory, say)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
