"""Loads the Deep Exemplar engine for the session: the three checkpoints on a device, once per process."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines import checkpoints
from colormnet.engines.deepexemplar.engine import DeepExemplarEngine, DeepExemplarOptions
from colormnet.engines.deepexemplar.network import DeepExemplarNetwork
from colormnet.engines.deepexemplar.weights import (
    ENV_VAR,
    SOURCE,
    fingerprint,
    load_weights,
    resolve_weights_dir,
)
from colormnet.engines.host_memory import keep_freed_memory
from colormnet.engines.precision import resolve_autocast, resolve_device
from colormnet.errors import WeightsError

__all__ = ["DeepExemplarBackend", "load_backend"]

_NUMERICS_VERSION = "v1"


@dataclass(frozen=True)
class DeepExemplarBackend:
    """The loaded engine (see :class:`colormnet.engines.Backend`).

    Attributes:
        network: the three modules in eval mode on ``device``.
        device: where it computes.
        autocast_dtype: CUDA autocast dtype of the convolutions, None for fp32.
        folder: the weights folder.
        weights_fingerprint: a cheap identity of the three files.
        is_random: the weights are randomly initialised (tests and demos only).
        options: the numerics every new engine gets.
    """

    network: DeepExemplarNetwork
    device: torch.device
    autocast_dtype: torch.dtype | None
    folder: Path
    weights_fingerprint: str
    is_random: bool
    options: DeepExemplarOptions = field(default_factory=DeepExemplarOptions)
    name: str = "deepexemplar"

    @property
    def fingerprint(self) -> str:
        """Identity of the weights and of the numerics, for cache keys."""
        return (f"{self.name}:{_NUMERICS_VERSION}:{self.weights_fingerprint}:{self.device.type}:{self.autocast_dtype}:"
                f"{self.options.tag()}")

    def with_options(self, options: DeepExemplarOptions) -> DeepExemplarBackend:
        """The same network with other numerics (e.g. ``official`` framing)."""
        return DeepExemplarBackend(self.network, self.device, self.autocast_dtype, self.folder,
                                   self.weights_fingerprint, self.is_random, options)

    def new_engine(self, config: InferenceConfig | None = None,
                   references: Sequence[np.ndarray] = ()) -> DeepExemplarEngine:
        """A fresh engine (zero recurrent state) for one segment run.

        Args:
            config: ColorMNet's memory schedule; this engine has no memory and ignores it.
            references: further reference images matched jointly with the segment's exemplar.
        """
        return DeepExemplarEngine(self.network, self.options, self.autocast_dtype, references)

    def release_memory(self) -> None:
        """Gives the CUDA caching allocator's free blocks back (after the GPU ran out of memory)."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


_lock = threading.Lock()
_cache: dict[tuple[str, str, str], DeepExemplarBackend] = {}


def load_backend(
    weights: str | Path | None = None,
    *,
    device: Device = "auto",
    precision: Precision = "auto",
    options: DeepExemplarOptions | None = None,
) -> DeepExemplarBackend:
    """Loads (or reuses) the Deep Exemplar networks.

    Args:
        weights: the folder holding the three checkpoint files (None: ``$COLORMNET_DEEPEXEMPLAR_WEIGHTS`` or
            :func:`colormnet.engines.deepexemplar.default_weights_dir`).
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``auto`` (fp16 autocast on CUDA, fp32 on CPU), ``fp32``, ``fp16`` or ``bf16``.
        options: numerics (default: ``fit`` framing, official post-processing).

    Raises:
        WeightsError: a file is missing, foreign or truncated.
        InferenceError: the device is unavailable.
    """
    folder = resolve_weights_dir(weights)
    checkpoints.refuse_missing_from_variable(folder, weights, ENV_VAR, SOURCE, "folder")
    torch_device = resolve_device(device)
    autocast = resolve_autocast("deepexemplar", precision, torch_device)
    if torch_device.type == "cpu":
        keep_freed_memory()
    options = options or DeepExemplarOptions()
    loaded = None
    try:
        ident = fingerprint(folder)
    except WeightsError:
        loaded = load_weights(folder)  # raises the precise one-sentence error
        raise
    key = (ident, str(torch_device), str(autocast))
    with _lock:
        if key not in _cache:
            loaded = loaded or load_weights(folder)
            try:
                network = DeepExemplarNetwork.from_weights(loaded).to(torch_device)
            except RuntimeError as exc:  # load_weights checked keys and shapes; this is a safety net
                raise WeightsError(f"The files in {folder} do not fit the Deep Exemplar network: {exc}") from exc
            _cache.clear()  # keep one network: each holds ~240 MB
            _cache[key] = DeepExemplarBackend(network, torch_device, autocast, folder, ident, loaded.is_random)
        return _cache[key].with_options(options)
