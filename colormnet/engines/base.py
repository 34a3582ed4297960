"""What every colorization engine shares: the two protocols a session drives, the exemplar as engines take it, and
the choice of device and precision.

A *backend* is a loaded engine (weights on a device, or nothing for a weights-free engine); it makes a fresh
:class:`SegmentEngine` for every segment run. A segment engine takes the frames of one run in processing order, the
first with the segment's exemplar, and returns each frame's normalised chroma.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines.registry import engine_info
from colormnet.errors import InferenceError

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


logger = logging.getLogger(__name__)

_AUTOCAST = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": None}


def resolve_device(device: Device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU.

    Raises:
        InferenceError: ``cuda`` was asked for and none is available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InferenceError("No CUDA device is available: use --device cpu (or auto).")
    return torch.device(device)


def resolve_autocast(engine: str, precision: Precision, device: torch.device) -> torch.dtype | None:
    """The autocast dtype ``engine`` runs under on ``device`` (None for fp32), as :func:`effective_precision` says.

    ``auto`` is fp16 on CUDA and stays exact (fp32) on the CPU even where the CPU computes bf16 natively: the app
    asks for bf16 explicitly for its previews (see :func:`interactive_precision`). A reduced precision the device or
    the engine cannot run falls back to fp32 with a warning.
    """
    effective = effective_precision(engine, precision, device)
    if effective == "fp32" and precision in ("fp16", "bf16") and engine_info(engine).reduced_precision:
        logger.warning("%s needs a CUDA device with the %s engine; running in fp32 on the CPU", precision, engine)
    elif effective == "bf16" and device.type == "cpu" and not native_cpu_bf16():
        logger.info("this CPU has no native bf16 (AMX or AVX512-BF16): bf16 runs, but slower than fp32")
    return _AUTOCAST[effective]


def process_shape(height: int, width: int, cap: int) -> tuple[int, int]:
    """The size at which an engine sees a ``height x width`` frame: unchanged up to ``cap`` on the short side, else
    scaled down (aspect kept, rounded) so that the short side is ``cap``."""
    short = min(height, width)
    if short <= cap:
        return height, width
    scale = cap / short
    return max(1, round(height * scale)), max(1, round(width * scale))
