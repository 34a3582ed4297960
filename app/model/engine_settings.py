"""How frames are colorized: the engine settings a project stores and the settings dialog edits (Qt-free)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from colormnet.engines import registry
from colormnet.engines.registry import holds_several_exemplars

logger = logging.getLogger(__name__)

#: Engines the settings may name (the library's registry); which of them this installation has is asked of the library
#: at run time (:func:`colormnet.engines.registry.available_engines`).
ENGINES: tuple[str, ...] = tuple(registry.ENGINES)
#: The engine whose checkpoint the app can download or locate (the others bring their own weights, or none).
CHECKPOINT_ENGINE = "colormnet"
#: The engine that stands in for ColorMNet while its checkpoint is missing or unusable (it needs no weights).
FALLBACK_ENGINE = registry.FALLBACK_ENGINE
#: What the app says while the fallback engine stands in (status bar and weights dialog).
FALLBACK_NOTICE = (
    f"No ColorMNet weights installed: previews use the {registry.ENGINES[FALLBACK_ENGINE].label} engine (no weights). "
    "Download the weights for the final render."
)
DEVICES = ("auto", "cuda", "cpu")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
#: What the export dialog says about the precision of exported frames.
EXPORT_PRECISION_NOTE = (
    "Exports run at the precision set in Settings (Automatic: full fp32 on the CPU); frames previewed in bf16 "
    "are computed again, not copied."
)


def describe_precision(preview: str, export: str) -> str:
    """``bf16 preview · fp32 export`` where previews and exports run at different precisions, else the one."""
    return preview if preview == export else f"{preview} preview · {export} export"


#: How two exemplars of one shot meet (the library's ``SessionConfig.transition``): ``blend`` fuses a forward pass from
#: the first with a backward pass from the second; ``cut`` lets each exemplar govern up to the next; ``memory`` runs
#: the shot in one pass holding all its exemplars (only engines that hold several, see :func:`transitions_for`).
TRANSITIONS = ("blend", "cut", "memory")


def transitions_for(engine: str) -> tuple[str, ...]:
    """The transitions ``engine`` can run (``memory`` only where it holds several exemplars at once)."""
    return TRANSITIONS if holds_several_exemplars(engine) else tuple(t for t in TRANSITIONS if t != "memory")


def engine_label(engine: str) -> str:
    """The engine's name for people (its own name when the registry does not know it)."""
    info = registry.ENGINES.get(engine)
    return info.label if info is not None else engine


@dataclass(frozen=True)
class EngineSettings:
    """Everything the user can set about how frames are colorized."""

    engine: str = "colormnet"  # one of ENGINES
    device: str = "auto"  # auto | cuda | cpu
    precision: str = "auto"  # auto | fp32 | fp16 | bf16 (auto: bf16 previews on CPUs that have it, fp32 exports)
    process_size: int = 540  # cap on the short side at which the model runs
    mem_every: int = 5  # a frame becomes a memory frame every this many frames
    top_k: int = 30  # k of the top-k memory readout
    max_mid_term_frames: int = 10  # working-memory frames that trigger consolidation
    min_mid_term_frames: int = 5  # working-memory frames kept after consolidation
    num_prototypes: int = 128  # long-term prototypes made per consolidation
    max_long_term_elements: int = 10000  # long-term capacity before eviction
    transition: str = "blend"  # one of TRANSITIONS

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineSettings:
        """Build settings from stored values, keeping defaults for missing or invalid entries."""
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            default = getattr(defaults, f.name)
            try:
                value = type(default)(data[f.name])
            except (TypeError, ValueError):
                logger.warning("ignoring invalid setting %s=%r", f.name, data[f.name])
                continue
            values[f.name] = value
        settings = replace(defaults, **values)
        choices = {"engine": ENGINES, "device": DEVICES, "precision": PRECISIONS, "transition": TRANSITIONS}
        for name, allowed in choices.items():
            if getattr(settings, name) not in allowed:
                settings = replace(settings, **{name: getattr(defaults, name)})
        if settings.transition not in transitions_for(settings.engine):
            logger.warning("the %s engine cannot run transition=%s", settings.engine, settings.transition)
            settings = replace(settings, transition=defaults.transition)
        return settings
