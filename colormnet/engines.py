"""The colorization engines a session can run, behind one small interface.

A *backend* is a loaded engine (weights on a device, or nothing for a weights-free engine); it makes a fresh
:class:`SegmentEngine` for every segment run. A segment engine takes the frames of one run in processing order,
the first with the segment's exemplar, and returns each frame's normalised chroma. Engines are imported lazily, so
listing them costs nothing and a missing optional engine only disappears from :func:`available_engines`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.errors import InferenceError
from colormnet.inference.engine import ExemplarInput

logger = logging.getLogger(__name__)


class SegmentEngine(Protocol):
    """Colorizes the frames of one segment run, one at a time."""

    def step(self, lightness: torch.Tensor, exemplar: ExemplarInput | None = None, end: bool = False) -> torch.Tensor:
        """``1 x H x W`` normalised L' (and the exemplar on the first step) -> ``2 x H x W`` normalised ab'."""
        ...


class Backend(Protocol):
    """A loaded engine.

    Attributes:
        name: the engine's name (``colormnet``, ...).
        device: where it computes.
        is_random: it runs with randomly initialised weights (tests and demos only).
        fingerprint: identity of the weights and numerics, for cache keys.
    """

    name: str
    device: torch.device
    is_random: bool
    fingerprint: str

    def new_engine(self, config: InferenceConfig) -> SegmentEngine:
        """A fresh engine for one segment run.

        An engine for which :func:`takes_references` holds also accepts ``references=`` (further ``H x W x 3`` RGB
        images matched jointly with the segment's exemplar).
        """
        ...


# engine name -> "module:loader"; a loader is called as loader(weights, device=..., precision=...)
_LOADERS = {
    "colormnet": "colormnet.model_loader:load_model",
    "propagate": "colormnet.propagate:load_backend",
    "deepexemplar": "colormnet.deepexemplar:load_backend",
}


# engines that run under CPU bf16 autocast (the others compute in fp32 on the CPU whatever the precision)
_CPU_BF16 = frozenset({"colormnet"})

# CPU capabilities (as torch.cpu.get_capabilities names them) with which oneDNN computes bf16 natively
_NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), so that bf16 autocast runs faster than fp32.

    Without them bf16 autocast still runs (emulated), only slower than fp32.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        capabilities = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):  # a torch without the capability query
        return False
    return any(bool(capabilities.get(flag, False)) for flag in _NATIVE_BF16_FLAGS)


def interactive_precision(engine: str, precision: Precision, device: Device) -> Precision:
    """The precision of interactive previews: ``auto`` becomes ``bf16`` where the CPU runs it natively.

    Previews favour speed; exports and the command line keep ``precision`` as given (``auto`` is exact fp32 on the
    CPU). Anything but ``auto``, a CUDA device, an engine without CPU bf16 or a CPU without native bf16 returns
    ``precision`` unchanged.
    """
    if precision != "auto" or engine not in _CPU_BF16:
        return precision
    on_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    return "bf16" if on_cpu and native_cpu_bf16() else precision


def effective_precision(engine: str, precision: Precision, device: torch.device) -> str:
    """What ``engine`` loaded with ``precision`` on ``device`` computes in: ``fp32``, ``fp16`` or ``bf16``.

    ``auto`` is fp16 on CUDA and fp32 on the CPU; fp16 is CUDA-only and bf16 on the CPU needs an engine with CPU
    bf16; the ``propagate`` engine always computes in fp32.
    """
    if engine == "propagate":
        return "fp32"
    if device.type == "cuda":
        return "fp16" if precision == "auto" else precision
    return "bf16" if precision == "bf16" and engine in _CPU_BF16 else "fp32"


# engines whose new_engine(config, references=...) matches further reference images jointly with the exemplar
_MULTI_REFERENCE = frozenset({"deepexemplar"})


def takes_references(engine: str) -> bool:
    """Whether ``engine`` can match several reference images for one exemplar."""
    return engine in _MULTI_REFERENCE


# engines that can hold every exemplar of a shot at once (the ``memory`` transition): ColorMNet in its permanent
# memory (its engine's ``hold``), Deep Exemplar as joint references
_JOINT_EXEMPLARS = frozenset({"colormnet", "deepexemplar"})


def holds_several_exemplars(engine: str) -> bool:
    """Whether ``engine`` can run a shot in one pass with all its exemplars (``--transition memory``)."""
    return engine in _JOINT_EXEMPLARS


def available_engines() -> list[str]:
    """Names of the engines this installation has."""
    return [name for name, target in _LOADERS.items() if importlib.util.find_spec(target.split(":")[0]) is not None]


# engine name -> "module:OptionsClass" for engines that take options (built from keyword values)
_OPTIONS = {"deepexemplar": "colormnet.deepexemplar:DeepExemplarOptions"}


def _import(target: str) -> Any:
    module_name, name = target.split(":")
    return getattr(importlib.import_module(module_name), name)


def load_backend(
    engine: str,
    weights: str | Path | None,
    *,
    device: Device = "auto",
    precision: Precision = "auto",
    options: Mapping[str, Any] | None = None,
) -> Backend:
    """Loads an engine.

    Args:
        engine: its name.
        weights: its weights (a file or folder; None: the engine's default place).
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``auto``, ``fp32``, ``fp16`` or ``bf16``.
        options: engine-specific settings (e.g. ``{"framing": "official"}`` for Deep Exemplar).

    Raises:
        InferenceError: unknown engine, options it does not take, or an unavailable device.
        WeightsError: the engine's weights are missing or unusable.
    """
    if engine not in available_engines():
        raise InferenceError(f"Unknown engine {engine!r}: choose one of {', '.join(available_engines())}.")
    loader = _import(_LOADERS[engine])
    if not options:
        backend: Backend = loader(weights, device=device, precision=precision)
        return backend
    if engine not in _OPTIONS:
        raise InferenceError(f"The {engine} engine takes no options ({', '.join(sorted(options))} given).")
    try:
        built = _import(_OPTIONS[engine])(**options)
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"Unusable options for the {engine} engine: {exc}") from exc
    backend = loader(weights, device=device, precision=precision, options=built)
    return backend
