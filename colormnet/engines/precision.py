"""The device an engine computes on and the precision it computes in, decided once for every engine.

``auto`` is CUDA when there is one; fp16 runs on CUDA only, bf16 on CUDA and, for engines that support it, on a
CPU that computes it natively (AMX or AVX512-BF16). What each engine supports is read from the registry.
"""

from __future__ import annotations

import functools
import logging

import torch

from colormnet.config import Device, Precision
from colormnet.engines.registry import engine_info
from colormnet.errors import InferenceError

logger = logging.getLogger(__name__)

# CPU capabilities (as torch.cpu.get_capabilities names them) with which oneDNN computes bf16 natively
_NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), so that bf16 autocast runs faster than fp32.

    Without them oneDNN emulates bf16 far slower than fp32 (on an AVX2 CPU a 3x3 convolution of 256 channels at
    126 x 70 took 32 s against 0.1 s), so bf16 is then run as fp32.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        capabilities = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):  # a torch without the capability query
        return False
    return any(bool(capabilities.get(flag, False)) for flag in _NATIVE_BF16_FLAGS)


def available_devices() -> list[str]:
    """The devices this machine computes on: ``cpu``, and ``cuda`` where a CUDA device is present."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def interactive_precision(engine: str, precision: Precision, device: Device) -> Precision:
    """The precision of interactive previews: ``auto`` becomes ``bf16`` where the CPU runs it natively.

    Previews favour speed; exports and the command line keep ``precision`` as given (``auto`` is exact fp32 on the
    CPU). Anything but ``auto``, a CUDA device, an engine without CPU bf16 or a CPU without native bf16 returns
    ``precision`` unchanged.
    """
    if precision != "auto" or not engine_info(engine).cpu_bf16:
        return precision
    on_cpu = not torch.cuda.is_available() if device == "auto" else device == "cpu"
    return "bf16" if on_cpu and native_cpu_bf16() else precision


def effective_precision(engine: str, precision: Precision, device: torch.device) -> str:
    """What ``engine`` loaded with ``precision`` on ``device`` computes in: ``fp32``, ``fp16`` or ``bf16``.

    ``auto`` is fp16 on CUDA and fp32 on the CPU; fp16 is CUDA-only and bf16 on the CPU needs an engine with CPU
    bf16 and a CPU that computes it natively; an engine without reduced precision (``propagate``) always computes in
    fp32.
    """
    info = engine_info(engine)
    if not info.reduced_precision:
        return "fp32"
    if device.type == "cuda":
        return "fp16" if precision == "auto" else precision
    return "bf16" if precision == "bf16" and info.cpu_bf16 and native_cpu_bf16() else "fp32"


_AUTOCAST = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": None}


def resolve_device(device: Device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU.

    Raises:
        InferenceError: ``cuda`` was asked for and none is available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InferenceError("No CUDA device is available on this machine: run on the CPU (device cpu, or auto).")
    return torch.device(device)


def resolve_autocast(engine: str, precision: Precision, device: torch.device) -> torch.dtype | None:
    """The autocast dtype ``engine`` runs under on ``device`` (None for fp32), as :func:`effective_precision` says.

    ``auto`` is fp16 on CUDA and stays exact (fp32) on the CPU even where the CPU computes bf16 natively: the app
    asks for bf16 explicitly for its previews (see :func:`interactive_precision`). A reduced precision the device,
    the CPU or the engine cannot run (fast) falls back to fp32 with a warning.
    """
    effective = effective_precision(engine, precision, device)
    info = engine_info(engine)
    if effective == "fp32" and precision == "bf16" and device.type == "cpu" and info.cpu_bf16:
        logger.warning("this CPU has no native bf16 (AMX or AVX512-BF16), where bf16 would run many times slower than "
                       "fp32: running in fp32")
    elif effective == "fp32" and precision in ("fp16", "bf16") and info.reduced_precision:
        logger.warning("%s needs a CUDA device with the %s engine; running in fp32 on the CPU", precision, engine)
    return _AUTOCAST[effective]
