"""A key-value memory store: flattened memory elements with optional usage counters.

One element is one pixel of a memory frame's /16 feature map. Shapes: key ``C_k x N``, shrinkage ``1 x N``,
selection ``C_k x N`` (working memory only), value ``O x C_v x N``, usage counters ``N``.
"""

from __future__ import annotations

import torch

LIFE_START = 1e-7  # initial "life" of an element, so use / life is defined before the first readout


class MemoryStore:
    """Appends elements and keeps usage statistics for consolidation and eviction.

    Args:
        keep_selection: store the selection term (needed to build prototypes from working memory).
    """

    def __init__(self, keep_selection: bool) -> None:
        self.keep_selection = keep_selection
        self.key: torch.Tensor | None = None
        self.shrinkage: torch.Tensor | None = None
        self.selection: torch.Tensor | None = None
        self.value: torch.Tensor | None = None
        self.use: torch.Tensor | None = None
        self.life: torch.Tensor | None = None

    @property
    def size(self) -> int:
        """Number of elements."""
        return 0 if self.key is None else self.key.shape[-1]

    def add(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        value: torch.Tensor,
        selection: torch.Tensor | None = None,
    ) -> None:
        """Appends elements (``key C_k x n``, ``shrinkage 1 x n``, ``value O x C_v x n``) with fresh counters."""
        n = key.shape[-1]
        use = key.new_zeros(n, dtype=torch.float32)
        life = key.new_full((n,), LIFE_START, dtype=torch.float32)
        if self.key is None:
            self.key, self.shrinkage, self.value, self.use, self.life = key, shrinkage, value, use, life
            self.selection = selection if self.keep_selection else None
            return
        assert self.shrinkage is not None and self.value is not None and self.use is not None and self.life is not None
        self.key = torch.cat([self.key, key], -1)
        self.shrinkage = torch.cat([self.shrinkage, shrinkage], -1)
        self.value = torch.cat([self.value, value], -1)
        self.use = torch.cat([self.use, use])
        self.life = torch.cat([self.life, life])
        if self.keep_selection:
            assert self.selection is not None and selection is not None
            self.selection = torch.cat([self.selection, selection], -1)

    def update_usage(self, usage: torch.Tensor) -> None:
        """Adds one readout's affinity mass per element (``N``) and ages every element by one."""
        if self.use is None or self.life is None:
            return
        self.use += usage.float()
        self.life += 1

    def usage(self) -> torch.Tensor:
        """Usage frequency ``use / life`` per element."""
        assert self.use is not None and self.life is not None
        return self.use / self.life

    def keep(self, index: torch.Tensor) -> None:
        """Keeps only the elements selected by ``index`` (a boolean mask or integer indices)."""
        assert self.key is not None and self.shrinkage is not None and self.value is not None
        assert self.use is not None and self.life is not None
        self.key = self.key[:, index]
        self.shrinkage = self.shrinkage[:, index]
        self.value = self.value[:, :, index]
        self.use = self.use[index]
        self.life = self.life[index]
        if self.selection is not None:
            self.selection = self.selection[:, index]

    def remove_obsolete(self, keep: int) -> None:
        """Evicts the least used elements so at most ``keep`` remain.

        Elements whose usage ties with the last evicted one go too, like the reference implementation; the
        reference crashes when nothing needs evicting (``size == keep``), which is simply a no-op here.
        """
        if self.size <= keep:
            return
        usage = self.usage()
        threshold = torch.topk(usage, k=self.size - keep, largest=False, sorted=True).values[-1]
        self.keep(usage > threshold)
