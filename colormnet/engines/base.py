"""What every colorization engine shares: the two protocols a session drives, the exemplar as engines take it, and
the choice of device and precision.

A *backend* is a loaded engine (weights on a device, or nothing for a weights-free engine); it makes a fresh
:class:`SegmentEngine` for every segment run. A segment engine takes the frames of one run in processing order, the
first with the segment's exemplar, and returns each frame's normalised chroma.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines.registry import engine_info

ExemplarMode = Literal["keyframe", "reference"]


@dataclass(frozen=True)
class ExemplarInput:
    """An exemplar as the engines take it.

    Attributes:
        lab: ``3 x H x W`` normalised ``[L', a', b']`` at the frame's processing size (stretched to the frame's
            shape with Pillow's bilinear filter, like the reference implementation).
        mode: ``keyframe`` (the true colour of this very frame) or ``reference`` (any colour image).
        image: the exemplar as given, ``H' x W' x 3`` float32 RGB in [0, 1], for engines with their own
            pre-processing (ColorMNet does not use it).
    """

    lab: torch.Tensor
    mode: ExemplarMode
    image: np.ndarray | None = field(default=None, repr=False)


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

    def new_engine(self, config: InferenceConfig, references: Sequence[np.ndarray] = ()) -> SegmentEngine:
        """A fresh engine for one segment run.

        Args:
            config: the memory schedule.
            references: further ``H x W x 3`` RGB images matched jointly with the segment's exemplar; only an engine
                whose registry entry says ``takes_references`` receives any.
        """
        ...


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
    if precision != "auto" or not engine_info(engine).cpu_bf16:
        return precision
    on_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    return "bf16" if on_cpu and native_cpu_bf16() else precision


def effective_precision(engine: str, precision: Precision, device: torch.device) -> str:
    """What ``engine`` loaded with ``precision`` on ``device`` computes in: ``fp32``, ``fp16`` or ``bf16``.

    ``auto`` is fp16 on CUDA and fp32 on the CPU; fp16 is CUDA-only and bf16 on the CPU needs an engine with CPU
    bf16; an engine without reduced precision (``propagate``) always computes in fp32.
    """
    info = engine_info(engine)
    if not info.reduced_precision:
        return "fp32"
    if device.type == "cuda":
        return "fp16" if precision == "auto" else precision
    return "bf16" if precision == "bf16" and info.cpu_bf16 else "fp32"
