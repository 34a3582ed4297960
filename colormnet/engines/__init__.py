"""The colorization engines: ColorMNet, the weight-free ``propagate`` and Deep Exemplar, behind one boundary.

* :mod:`colormnet.engines.registry` (imported here; no torch): which engines exist and what each can do.
* :mod:`colormnet.engines.base` (no torch): the protocols a session drives, the NumPy boundary
  (:class:`~colormnet.engines.base.ExemplarInput` in, :class:`~colormnet.engines.base.StepResult` out).
* :mod:`colormnet.engines.tensors`: the torch engines' side of that boundary (device placement, resizing, errors).
* :mod:`colormnet.engines.precision`: the device and the precision an engine computes in.
* :mod:`colormnet.engines.checkpoints`: locating, reading, checking and downloading weights, for every engine.
* one subpackage per engine (``colormnet``, ``propagate``, ``deepexemplar``), each with its ``backend.py``.
"""

from colormnet.engines.registry import (
    ENGINES,
    FALLBACK_ENGINE,
    EngineInfo,
    available_engines,
    engine_info,
    holds_several_exemplars,
    load_backend,
    takes_references,
)

__all__ = [
    "ENGINES",
    "FALLBACK_ENGINE",
    "EngineInfo",
    "available_engines",
    "engine_info",
    "holds_several_exemplars",
    "load_backend",
    "takes_references",
]
