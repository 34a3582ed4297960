"""The colorization engines this installation knows, and what each can do, without importing any of them.

Reading the registry costs nothing (no torch, no OpenCV): the command line builds its parser from it, the app its
settings, the demo its choice of engine. :func:`load_backend` imports an engine only when it is loaded, so a missing
optional engine only disappears from :func:`available_engines`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colormnet.errors import InferenceError

if TYPE_CHECKING:
    from colormnet.config import Device, Precision
    from colormnet.engines.base import Backend


@dataclass(frozen=True)
class EngineInfo:
    """One engine as the registry describes it.

    Attributes:
        name: what the command line, the session config and project files call it.
        label: its name for people.
        summary: one line on what it is, for help texts.
        loader: ``module:function`` called as ``loader(weights, device=..., precision=...[, options=...])``.
        needs_weights: it runs only with its checkpoint (downloaded separately).
        weights_layout: ``file`` (one checkpoint file) or ``folder`` (several files); empty without weights.
        takes_references: its ``new_engine`` matches further reference images jointly with the exemplar.
        holds_several_exemplars: it can run a shot in one pass with all its exemplars (``--transition memory``):
            ColorMNet in its permanent memory, Deep Exemplar as joint references.
        reduced_precision: it computes in fp16/bf16 when asked (else always fp32).
        cpu_only: it computes on the CPU whatever device is asked for.
        cpu_bf16: it runs under CPU bf16 autocast.
        memory_schedule: it reads the session's memory schedule (``InferenceConfig``: ``mem_every``, ``top_k``).
        options: ``module:Class`` of its engine-specific options (built from keyword values); empty if none.
    """

    name: str
    label: str
    summary: str
    loader: str
    needs_weights: bool = True
    weights_layout: str = "file"
    takes_references: bool = False
    holds_several_exemplars: bool = False
    reduced_precision: bool = True
    cpu_only: bool = False
    cpu_bf16: bool = False
    memory_schedule: bool = False
    options: str = ""


ENGINES: dict[str, EngineInfo] = {
    info.name: info
    for info in (
        EngineInfo("colormnet", "ColorMNet", "the memory network (needs its weights)",
                   "colormnet.engines.colormnet.backend:load_model",
                   holds_several_exemplars=True, cpu_bf16=True, memory_schedule=True),
        EngineInfo("propagate", "Propagate", "no weights, fast",
                   "colormnet.engines.propagate.backend:load_backend",
                   needs_weights=False, weights_layout="", reduced_precision=False, cpu_only=True),
        EngineInfo("deepexemplar", "Deep Exemplar", "Zhang et al. 2019 (needs its weights)",
                   "colormnet.engines.deepexemplar.backend:load_backend",
                   weights_layout="folder", takes_references=True, holds_several_exemplars=True,
                   options="colormnet.engines.deepexemplar.engine:DeepExemplarOptions"),
    )
}

#: The engine that stands in for one whose weights are missing (it needs none).
FALLBACK_ENGINE = "propagate"


def engine_info(engine: str) -> EngineInfo:
    """The registry entry of ``engine``.

    Raises:
        InferenceError: no engine has that name.
    """
    try:
        return ENGINES[engine]
    except KeyError:
        raise InferenceError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINES)}.") from None


def takes_references(engine: str) -> bool:
    """Whether ``engine`` can match several reference images for one exemplar."""
    return engine in ENGINES and ENGINES[engine].takes_references


def holds_several_exemplars(engine: str) -> bool:
    """Whether ``engine`` can run a shot in one pass with all its exemplars (``--transition memory``)."""
    return engine in ENGINES and ENGINES[engine].holds_several_exemplars


def available_engines() -> list[str]:
    """Names of the engines this installation has (their packages are found, not imported)."""
    return [name for name, info in ENGINES.items() if _module_found(info.loader.split(":")[0].rsplit(".", 1)[0])]


def _module_found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


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
    info = ENGINES[engine]
    loader = _import(info.loader)
    if not options:
        backend: Backend = loader(weights, device=device, precision=precision)
        return backend
    if not info.options:
        raise InferenceError(f"The {engine} engine takes no options ({', '.join(sorted(options))} given).")
    try:
        built = _import(info.options)(**options)
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"Unusable options for the {engine} engine: {exc}") from exc
    backend = loader(weights, device=device, precision=precision, options=built)
    return backend
