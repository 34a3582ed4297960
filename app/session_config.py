"""The library's SessionConfig for the app's engine settings: one for previews, one for exports."""

from __future__ import annotations

from typing import Any

from app.model.engine_settings import EngineSettings


def session_config(settings: EngineSettings, *, preview: bool) -> Any:
    """The SessionConfig of previews or of exports for ``settings`` (raises ValueError for invalid memory parameters).

    Exports take the precision as set; previews may run faster (see :func:`colormnet.engines.interactive_precision`).
    A project set to CUDA runs on the CPU of a machine without a CUDA device (the status bar names the device).
    """
    from colormnet.config import InferenceConfig
    from colormnet.engines.precision import available_devices, interactive_precision
    from colormnet.session import SessionConfig

    device = settings.device
    if device == "cuda" and "cuda" not in available_devices():  # a project set up on a machine with a GPU
        device = "cpu"

    inference = InferenceConfig(
        mem_every=settings.mem_every,
        top_k=settings.top_k,
        max_mid_term_frames=settings.max_mid_term_frames,
        min_mid_term_frames=settings.min_mid_term_frames,
        num_prototypes=settings.num_prototypes,
        max_long_term_elements=settings.max_long_term_elements,
    )
    return SessionConfig(
        engine=settings.engine,
        device=device,  # type: ignore[arg-type]
        precision=interactive_precision(settings.engine, settings.precision, device)  # type: ignore[arg-type]
        if preview else settings.precision,
        process_size=settings.process_size,
        inference=inference,
        transition=settings.transition,  # type: ignore[arg-type]
    )
