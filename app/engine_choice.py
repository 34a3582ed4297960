"""Which engine runs, and why: the user's choice, the fallback standing in for it, the model's state and device.

The project names an engine (the user's choice, kept in the project and the settings). What the session really runs
can differ: while the ColorMNet checkpoint is missing or unusable, :data:`~app.model.engine_settings.FALLBACK_ENGINE`
stands in for it (no weights needed), and after the GPU runs out of memory the session steps down to a smaller
processing size or to the CPU. This object holds all of that in one place, decides when the session must reopen on
another engine (``sig_reopen``), and describes the engine actually running for the status bar and the settings
dialog (:class:`EngineStatus`), so no view states the user's choice as if it were what runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.model.engine_settings import (
    CHECKPOINT_ENGINE,
    FALLBACK_ENGINE,
    FALLBACK_NOTICE,
    engine_label,
    transitions_for,
)

if TYPE_CHECKING:
    from app.model.engine_settings import EngineSettings
    from app.model.workspace import Workspace
    from app.settings import AppSettings

logger = logging.getLogger(__name__)

RANDOM_WEIGHTS_NOTICE = "These weights are random: the colours are meaningless (pipeline check only)."
WEIGHTS_ADVICE = "download the weights, or locate a copy you have"  # the weights dialog offers both


def in_app_words(message: str) -> str:
    """A message about the ColorMNet weights with the app's advice in place of the command line's (``run `colormnet
    weights download`, or pass --weights ...``)."""
    from colormnet.engines.colormnet.weights import SOURCE  # torch is loaded by then: the worker read the weights

    return message.replace(f"; {SOURCE.advice}.", f"; {WEIGHTS_ADVICE}.")


@dataclass(frozen=True)
class EngineStatus:
    """What the views say about the engine.

    Attributes:
        state: The model's state: idle (no video), loading, ready, missing or failed.
        engines_known: Whether the library has said which engines this installation has (torch is imported).
        chosen: The engine the project names.
        running: The engine the session runs (the fallback may stand in for ``chosen``).
        device: The device the model runs on ("" until it is loaded).
        precision: What it computes in, e.g. ``bf16 preview · fp32 export`` ("" until it is loaded).
        random_weights: Whether the checkpoint holds random weights.
        why: In a few words, why ``running`` is not ``chosen`` as chosen: the fallback, a step down after the
            GPU ran out of memory, or no CUDA device for a project set to CUDA ("" when none).
        detail: The same at length (the checkpoint's problem, the session's notice), for tooltips.
    """

    state: str
    engines_known: bool
    chosen: str
    running: str
    device: str
    precision: str
    random_weights: bool
    why: str
    detail: str

    def running_note(self) -> str:
        """One line on the engine actually running where it differs from the choice ("" when it does not)."""
        if not self.why:
            return ""
        device = f" on {self.device.upper()}" if self.device else ""
        return f"Running now: {engine_label(self.running)}{device} ({self.why}). {self.detail}"


class EngineChoice(QObject):
    """The engine of the open session: the fallback, the model's state, the device; ``sig_*`` for the views.

    Args:
        workspace: The open project (its settings name the chosen engine).
        settings: The persisted settings (the checkpoint's path).
        weights: A checkpoint given on the command line (overrides the settings).
    """

    sig_model_state = Signal(str)
    """The model's state changed: idle, loading, ready, missing or failed."""
    sig_changed = Signal()
    """Anything :meth:`status` describes changed (state, engine running, device, a step down)."""
    sig_weights_missing = Signal(str)
    """The checkpoint is missing or unusable; carries the one-sentence reason (the app can download or locate it)."""
    sig_reopen = Signal()
    """The session must reopen: the engine that runs changed (the fallback started or ended)."""
    sig_error = Signal(str)
    """The model failed for a reason other than its weights; carries the message."""
    sig_status = Signal(str)
    """A short note for the status bar."""
    sig_resolved_kinds = Signal(object)
    """What each ``auto`` exemplar is used as (relayed from the session): its frame -> (keyframe or reference,
    luminance similarity)."""

    def __init__(self, workspace: Workspace, settings: AppSettings, *, weights: Path | None = None) -> None:
        super().__init__()
        self._workspace = workspace
        self._settings = settings
        self._weights_override = weights
        self.engine_ready = False  # the library said which engines it has
        self.available_engines = [CHECKPOINT_ENGINE]  # until the library says which it has
        self.available_devices: list[str] | None = None  # the devices this machine has (None: not known yet)
        self.fallback_active = False  # the ColorMNet checkpoint is unusable: FALLBACK_ENGINE stands in for it
        self.model_state = "idle"
        self.model_problem = ""
        self.device = ""
        self.precision = ""
        self.weights_are_random = False
        self.step_down = ""  # what the session did after the GPU ran out of memory ("" when it did not)

    # -- what runs ---------------------------------------------------------------------------------------------

    @property
    def chosen(self) -> str:
        """The engine the project names."""
        return self._workspace.project.settings.engine

    @property
    def session_engine(self) -> str:
        """The engine the session runs: the project's, or the fallback standing in for a missing checkpoint."""
        return FALLBACK_ENGINE if self.fallback_active and self.chosen == CHECKPOINT_ENGINE else self.chosen

    @property
    def on_fallback(self) -> bool:
        """Whether the fallback engine stands in for ColorMNet in the open session."""
        return self.session_engine != self.chosen

    def session_settings(self) -> EngineSettings:
        """The project's settings with the engine that really runs (the project itself keeps the user's choice).

        A transition the fallback cannot run (``memory``) becomes ``blend`` while it stands in.
        """
        settings = self._workspace.project.settings
        engine = self.session_engine
        transition = settings.transition if settings.transition in transitions_for(engine) else "blend"
        return replace(settings, engine=engine, transition=transition)

    def weights_path(self) -> Path | None:
        """The checkpoint to use: the command line's, else the one in the settings, else the library's default."""
        return self._weights_override or self._settings.weights_path

    def session_weights(self) -> Path | None:
        """What the session gets as weights: the ColorMNet checkpoint, or None (other engines find their own)."""
        return self.weights_path() if self.session_engine == CHECKPOINT_ENGINE else None

    def status(self) -> EngineStatus:
        """The engine as the views describe it."""
        why = detail = ""
        if self.on_fallback:
            why, detail = f"fallback: no usable {engine_label(self.chosen)} weights", self.model_problem
        elif self.step_down:
            why, detail = "stepped down: the GPU ran out of memory", self.step_down
        elif self._workspace.project.settings.device == "cuda" and "cuda" not in (self.available_devices or ["cuda"]):
            why, detail = "no CUDA device on this machine", "The project asks for CUDA; the model runs on the CPU."
        return EngineStatus(self.model_state, self.engine_ready, self.chosen, self.session_engine, self.device,
                            self.precision, self.weights_are_random, why, detail)

    # -- the user's moves --------------------------------------------------------------------------------------

    def set_weights_path(self, path: Path) -> None:
        """Use the checkpoint at ``path`` from now on (remembered in the settings); ColorMNet runs again."""
        self._weights_override = None
        self._settings.weights_path = Path(path)
        self.fallback_active = False
        self.sig_reopen.emit()

    def use_fallback_engine(self, reason: str) -> bool:
        """Let the weights-free engine stand in for ColorMNet, whose checkpoint is missing or unusable.

        The session reopens on :data:`FALLBACK_ENGINE` (its frames are cached under its own keys); the project's
        and the saved engine setting stay ColorMNet, and locating or downloading a checkpoint switches back.

        Args:
            reason: Why the checkpoint cannot be used (shown in the weights dialog).

        Returns:
            False when this installation lacks the fallback engine (nothing changes). Before the library has said
            which engines it has, the caller is trusted (the demo asks the library itself).
        """
        if self.engine_ready and FALLBACK_ENGINE not in self.available_engines:
            return False
        logger.info("no usable ColorMNet checkpoint (%s): %s stands in", reason, FALLBACK_ENGINE)
        self.fallback_active = True
        self.model_problem = reason
        self.sig_weights_missing.emit(reason)  # still offer to download or locate the checkpoint
        self.sig_reopen.emit()
        return True

    def explain_missing(self) -> None:
        """Tell the user why nothing can run while the model is missing (and offer the checkpoint where it can)."""
        if self.chosen == CHECKPOINT_ENGINE:
            self.sig_weights_missing.emit("The ColorMNet weights are not installed; download or locate them first.")
        else:
            self.sig_error.emit(self.model_problem)

    # -- the session's answers ---------------------------------------------------------------------------------

    def engines_known(self, engines: list[str], devices: list[str]) -> None:
        """The library is imported and has ``engines``; this machine computes on ``devices``."""
        from app.model.engine_settings import ENGINES

        self.engine_ready = True
        self.available_devices = list(devices)
        self.available_engines = [name for name in engines if name in ENGINES] or [CHECKPOINT_ENGINE]
        if self.fallback_active and FALLBACK_ENGINE not in self.available_engines:
            self.fallback_active = False  # asked for before the engines were known; ColorMNet explains itself
            self.sig_reopen.emit()
        self.sig_status.emit("Colorization engine ready.")
        self.sig_changed.emit()

    def loading(self) -> None:
        """A session is opening: its model loads next."""
        self.step_down = ""
        self._set_state("loading")

    def closed(self) -> None:
        """No video is open, so no model is loaded."""
        self.step_down = ""
        self._set_state("idle")

    def model_loaded(self, device: str, random: bool, precision: str) -> None:
        """The session's model is loaded on ``device``."""
        self.device = device
        self.precision = precision
        self.weights_are_random = random
        self._set_state("ready")
        if self.on_fallback:
            self.sig_status.emit(FALLBACK_NOTICE)
        elif random:
            self.sig_status.emit(RANDOM_WEIGHTS_NOTICE)

    def model_failed(self, message: str, weights_problem: bool) -> str:
        """The session's model could not be loaded.

        Returns:
            ``late`` (an answer of a session the fallback already replaced: ignore it), ``fallback`` (the fallback
            stands in now and the session reopens on it) or ``failed`` (nothing can run; the user was told).
        """
        checkpoint = weights_problem and self.chosen == CHECKPOINT_ENGINE
        if checkpoint:
            message = in_app_words(message)
        if checkpoint and self.fallback_active:
            return "late"
        if checkpoint and self.use_fallback_engine(message):
            return "fallback"
        self.model_problem = message
        self._set_state("missing" if weights_problem else "failed")
        if checkpoint:
            self.sig_weights_missing.emit(message)  # the app can download or locate this checkpoint
        else:
            self.sig_error.emit(message)
        return "failed"

    def stepped_down(self, device: str, precision: str, notice: str) -> None:
        """The GPU ran out of memory during a run and the session carried on smaller or on the CPU (``notice``)."""
        self.device = device
        self.precision = precision or self.precision
        self.step_down = notice
        self.sig_changed.emit()

    def _set_state(self, state: str) -> None:
        self.model_state = state
        self.sig_model_state.emit(state)
        self.sig_changed.emit()
