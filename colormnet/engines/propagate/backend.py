"""Loads the ``propagate`` engine for the session: nothing to load but its settings."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines.propagate.config import PropagateConfig
from colormnet.engines.propagate.engine import PropagationEngine

logger = logging.getLogger(__name__)

__all__ = ["PropagateBackend", "load_backend"]

VERSION = 2  # bump when the numerics change, so cached frames are recomputed


@dataclass(frozen=True)
class PropagateBackend:
    """The loaded ``propagate`` engine: nothing to load but its settings.

    Attributes:
        config: the engine's settings.
        name: ``propagate``.
        device: the CPU (the engine runs OpenCV and NumPy code).
        is_random: always False: there are no weights.
    """

    config: PropagateConfig = field(default_factory=PropagateConfig)
    name: str = "propagate"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    is_random: bool = False

    @property
    def fingerprint(self) -> str:
        """Identity of the numerics (version, settings and OpenCV's version), for cache keys."""
        settings = hashlib.sha256(repr(sorted(asdict(self.config).items())).encode()).hexdigest()[:12]
        return f"propagate:v{VERSION}:opencv{cv2.__version__}:{settings}"

    def new_engine(self, config: InferenceConfig) -> PropagationEngine:
        """A fresh engine for one segment run (the memory schedule in ``config`` does not apply)."""
        return PropagationEngine(self.config)

    def release_memory(self) -> None:
        """Nothing to give back: the engine holds no device memory."""


def load_backend(weights: str | Path | None = None, *, device: Device = "auto", precision: Precision = "auto",
                 config: PropagateConfig | None = None) -> PropagateBackend:
    """The ``propagate`` engine; it needs no weights and computes on the CPU whatever device is asked for.

    Args:
        weights: ignored (accepted so every engine loads alike).
        device: ignored beyond a log line: the engine runs on the CPU.
        precision: ignored: the engine computes in float32.
        config: the engine's settings (default :class:`PropagateConfig`).
    """
    if weights is not None:
        logger.info("The propagate engine uses no weights; ignoring %s", weights)
    if device == "cuda":
        logger.info("The propagate engine computes on the CPU")
    return PropagateBackend(config or PropagateConfig())
