"""Exemplar, working and long-term memory, with XMem-style consolidation and eviction.

Three stores are read together, in the order ``[long-term, permanent, working]`` (the reference order, in which
the first working-memory frame plays the permanent role):

* **permanent** — exemplar elements; never consolidated or evicted.
* **working** — the most recent memory frames. When ``permanent + working`` reach ``T_max`` frames, all but the
  newest ``T_min - 1`` working frames are summarised into ``P`` prototypes that move to long-term memory.
* **long-term** — prototypes, at most ``LT_max``; the least used are evicted when it fills up.

With one exemplar this is exactly the reference schedule; memory stays bounded however long the video is.

The readout keeps, for every query pixel, only its ``top_k`` most similar elements. The reference multiplies the
values with the whole ``N x HW`` affinity, almost all of it zeros (``N`` is ten frames' worth of elements); the
sparse readout (the default) gathers the ``top_k`` values per query instead and works through the queries in
chunks, so neither the dense affinity nor the full similarity matrix is ever held.

Legend: ``C_k`` key channels, ``O x C_v`` value channels, ``N`` memory elements, ``HW`` elements per frame.
"""

from __future__ import annotations

import math

import torch

from colormnet.config import InferenceConfig
from colormnet.engines.colormnet.inference.memory_store import MemoryStore


def similarity(
    mem_key: torch.Tensor, mem_shrinkage: torch.Tensor, query_key: torch.Tensor, query_selection: torch.Tensor
) -> torch.Tensor:
    """Negative shrinkage-scaled, selection-weighted squared distance, ``N x HW`` (0 = perfect match).

    ``sim[n, q] = -s_n * sum_c e_cq (k_cn - q_cq)^2 / sqrt(C_k)``, expanded into matrix products as the
    reference implementation does (same rounding).
    """
    mem_key, query_key, query_selection = mem_key.float(), query_key.float(), query_selection.float()
    a_sq = mem_key.pow(2).t() @ query_selection
    two_ab = 2 * (mem_key.t() @ (query_key * query_selection))
    b_sq = (query_selection * query_key.pow(2)).sum(0, keepdim=True)
    return (-a_sq + two_ab - b_sq) * mem_shrinkage.float().t() / math.sqrt(mem_key.shape[0])


def top_k_affinity(sim: torch.Tensor, top_k: int) -> torch.Tensor:
    """Softmax over the ``top_k`` largest similarities of each query column, zero elsewhere (``N x HW``).

    The maximum is subtracted before ``exp`` (the reference does not, and yields 0/0 when every kept similarity of
    a query is below about -100 in fp32).
    """
    values, indices = torch.topk(sim, k=min(top_k, sim.shape[0]), dim=0)
    weights = torch.softmax(values, dim=0)
    return torch.zeros_like(sim).scatter_(0, indices, weights)


QUERY_CHUNK = 512  # query pixels per step of the sparse readout (bounds its temporary memory)


def similarity_to_queries(
    mem_key: torch.Tensor, mem_shrinkage: torch.Tensor, query_key: torch.Tensor, query_selection: torch.Tensor
) -> torch.Tensor:
    """:func:`similarity` transposed, ``HW x N`` (one row per query), so that top-k runs along contiguous rows."""
    mem_key, query_key, query_selection = mem_key.float(), query_key.float(), query_selection.float()
    a_sq = query_selection.t() @ mem_key.pow(2)
    two_ab = 2 * ((query_key * query_selection).t() @ mem_key)
    b_sq = (query_selection * query_key.pow(2)).sum(0)[:, None]
    return (-a_sq + two_ab - b_sq) * mem_shrinkage.float() / math.sqrt(mem_key.shape[0])


def top_k_mass(sim: torch.Tensor, top: torch.Tensor, dim: int) -> torch.Tensor:
    """The share of a full softmax over ``sim`` that its ``top`` values (the top-k) hold, per query, in [0, 1].

    Near 1 where a query's best matches stand out from the rest of the memory; near ``k / N`` where nothing in the
    memory matches it better than anything else. The readout uses only the top-k; this says how much of the
    attention that leaves out.
    """
    return torch.exp(torch.logsumexp(top, dim=dim) - torch.logsumexp(sim, dim=dim)).clamp_(0.0, 1.0)


def sparse_top_k_readout(
    mem_key: torch.Tensor,
    mem_shrinkage: torch.Tensor,
    mem_value_t: torch.Tensor,
    query_key: torch.Tensor,
    query_selection: torch.Tensor,
    top_k: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top-k readout without the dense affinity: what ``mem_value @ top_k_affinity(similarity(...))`` gives.

    Args:
        mem_key: ``C_k x N``; mem_shrinkage: ``1 x N``; mem_value_t: ``N x C`` (values, one row per element).
        query_key: ``C_k x HW``; query_selection: ``C_k x HW``.
        top_k: elements kept per query.

    Returns:
        readout ``C x HW``, usage ``N`` (each element's affinity summed over the queries) and each query's
        :func:`top_k_mass` ``HW``.
    """
    n, hw = mem_key.shape[1], query_key.shape[1]
    k = min(top_k, n)
    readout = mem_value_t.new_empty(hw, mem_value_t.shape[1])
    usage = torch.zeros(n, dtype=torch.float32, device=mem_key.device)
    mass = torch.empty(hw, dtype=torch.float32, device=mem_key.device)
    for start in range(0, hw, QUERY_CHUNK):
        stop = min(hw, start + QUERY_CHUNK)
        sim = similarity_to_queries(mem_key, mem_shrinkage, query_key[:, start:stop], query_selection[:, start:stop])
        values, indices = torch.topk(sim, k=k, dim=1)  # q x k
        weights = torch.softmax(values, dim=1)
        gathered = mem_value_t[indices.flatten()].view(stop - start, k, -1)  # q x k x C
        readout[start:stop] = torch.bmm(weights.to(gathered.dtype)[:, None], gathered)[:, 0]
        usage.index_add_(0, indices.flatten(), weights.flatten())
        mass[start:stop] = top_k_mass(sim, values, dim=1)
    return readout.t(), usage, mass


class MemoryManager:
    """Holds the memory of one segment and reads it out for a query frame.

    Args:
        config: memory schedule.
        dense_readout: read out through the dense ``N x HW`` affinity, literally as the reference does (slow).
    """

    def __init__(self, config: InferenceConfig, dense_readout: bool = False) -> None:
        self.config = config
        self.dense_readout = dense_readout
        self._concatenated: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # fast path only
        self._value_shape: tuple[int, ...] = ()  # O, C_v
        self.permanent = MemoryStore(keep_selection=False)
        self.working = MemoryStore(keep_selection=True)
        self.long_term = MemoryStore(keep_selection=False)
        self.frame_elements = 0  # HW of the current frame size
        self.last_mass: torch.Tensor | None = None  # 1 x h x w, of the last readout

    @property
    def size(self) -> int:
        """Total number of memory elements."""
        return self.permanent.size + self.working.size + self.long_term.size

    def add_exemplar(self, key: torch.Tensor, shrinkage: torch.Tensor, value: torch.Tensor) -> None:
        """Adds an exemplar frame to permanent memory (``key 1 x C_k x h x w``, ``value 1 x O x C_v x h x w``)."""
        self.frame_elements = key.shape[-2] * key.shape[-1]
        self._concatenated = None
        self.permanent.add(key.flatten(2)[0], shrinkage.flatten(2)[0], value.flatten(3)[0])

    def add_frame(
        self, key: torch.Tensor, shrinkage: torch.Tensor, selection: torch.Tensor, value: torch.Tensor
    ) -> None:
        """Adds a memory frame to working memory, then consolidates if working memory is full."""
        self.frame_elements = key.shape[-2] * key.shape[-1]
        self._concatenated = None
        self.working.add(key.flatten(2)[0], shrinkage.flatten(2)[0], value.flatten(3)[0], selection.flatten(2)[0])
        if self.config.enable_long_term:
            self._maybe_consolidate()

    def read(self, key: torch.Tensor, selection: torch.Tensor) -> torch.Tensor:
        """Top-k readout for a query frame (``key``/``selection`` ``1 x C_k x h x w``) -> ``1 x O x C_v x h x w``.

        Also accumulates the usage of long-term and working elements, and keeps each query's share of the memory's
        attention in its top-k in :attr:`last_mass` (``1 x h x w``, see :func:`top_k_mass`).
        """
        h, w = key.shape[-2:]
        if self.dense_readout:
            stores = [s for s in (self.long_term, self.permanent, self.working) if s.size]
            mem_key = torch.cat([s.key for s in stores], -1)  # type: ignore[misc]
            mem_shrinkage = torch.cat([s.shrinkage for s in stores], -1)  # type: ignore[misc]
            mem_value = torch.cat([s.value for s in stores], -1)  # type: ignore[misc]
            sim = similarity(mem_key, mem_shrinkage, key.flatten(2)[0], selection.flatten(2)[0])
            affinity = top_k_affinity(sim, self.config.top_k)  # N x HW
            readout = mem_value @ affinity.to(mem_value.dtype)  # O x C_v x HW
            usage = affinity.sum(1)
            top = torch.topk(sim, k=min(self.config.top_k, sim.shape[0]), dim=0).values
            mass = top_k_mass(sim, top, dim=0)
        else:
            mem_key, mem_shrinkage, mem_value_t = self._concatenate()
            flat, usage, mass = sparse_top_k_readout(
                mem_key, mem_shrinkage, mem_value_t, key.flatten(2)[0], selection.flatten(2)[0], self.config.top_k
            )
            readout = flat.view(*self._value_shape, -1)  # O x C_v x HW
        if self.config.enable_long_term:
            lt, perm = self.long_term.size, self.permanent.size
            self.long_term.update_usage(usage[:lt])
            self.working.update_usage(usage[lt + perm :])
        self.last_mass = mass.view(1, h, w)
        return readout.view(1, *readout.shape[:2], h, w)

    def _concatenate(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keys, shrinkages and values (``N x O*C_v``) of all stores in readout order, kept until memory changes."""
        if self._concatenated is None:
            stores = [s for s in (self.long_term, self.permanent, self.working) if s.size]
            mem_key = torch.cat([s.key for s in stores], -1)  # type: ignore[misc]
            mem_shrinkage = torch.cat([s.shrinkage for s in stores], -1)  # type: ignore[misc]
            value_t = torch.cat([s.value.flatten(0, 1).t() for s in stores], 0).contiguous()  # type: ignore[union-attr]
            self._value_shape = tuple(stores[0].value.shape[:2])  # type: ignore[union-attr]
            self._concatenated = (mem_key, mem_shrinkage, value_t)
        return self._concatenated

    def _maybe_consolidate(self) -> None:
        cfg, hw = self.config, self.frame_elements
        permanent_frames = 1 if self.permanent.size else 0
        if self.working.size + permanent_frames * hw < cfg.max_mid_term_frames * hw:
            return
        if self.long_term.size >= cfg.max_long_term_elements - cfg.num_prototypes:
            self.long_term.remove_obsolete(cfg.max_long_term_elements - cfg.num_prototypes)
        end = self.working.size - (cfg.min_mid_term_frames - 1) * hw
        if end <= 0:
            return
        wm = self.working
        assert wm.key is not None and wm.shrinkage is not None and wm.selection is not None and wm.value is not None
        key, shrinkage, selection = wm.key[:, :end], wm.shrinkage[:, :end], wm.selection[:, :end]
        value = wm.value[..., :end]
        chosen = torch.topk(wm.usage()[:end], k=min(cfg.num_prototypes, end), sorted=True).indices
        sim = similarity(key, shrinkage, key[:, chosen], selection[:, chosen])  # N_c x P
        affinity = torch.softmax(sim, dim=0)
        proto_value = value @ affinity.to(value.dtype)
        proto_shrinkage = shrinkage.float() @ affinity
        wm.keep(torch.arange(end, wm.size, device=key.device))
        self.long_term.add(key[:, chosen], proto_shrinkage.to(shrinkage.dtype), proto_value)
