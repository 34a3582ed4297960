"""Shots for the controller: found in the background after a video opens, edited by the restorer, told to the session.

A project that stores a shot list (found earlier, or edited) keeps it; one without detects its shots when its video
opens (:mod:`app.shots_worker`, cached by the library). Adding a cut at the playhead and removing the cut that opens
the shot under it are steps of the project's history, so Edit ▸ Undo takes them back. Every new list goes to the
session, whose segments then stop at the cuts, and the session answers with where each shot's colours come from
(:class:`app.model.shot_list.ShotState`), which the timeline shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import SignalInstance

from app.jobs import RunRequest
from app.model.shot_list import ShotState, add_cut, next_without_exemplar, remove_cut, shot_states
from colormnet.shots import Shot, ShotListError, validate_shots

if TYPE_CHECKING:
    from app.model.project import Project
    from app.shots_worker import ShotDetection
    from app.undo import ProjectHistory

logger = logging.getLogger(__name__)


class ShotEdits:
    """Mixin of the controller holding the shots of the project."""

    project: Project
    current_frame: int
    history: ProjectHistory
    shot_detection: ShotDetection
    # Signals of the controller (declared there).
    sig_error: SignalInstance
    sig_status: SignalInstance
    sig_shots_changed: SignalInstance
    sig_shot_progress: SignalInstance
    _sig_worker_shots: SignalInstance
    _borrowed: dict[int, tuple[int, str]]  # a shot's first frame -> (exemplar frame it borrows, how chosen)
    _session_shots: list[Shot] | None  # the list last handed to the session

    @property
    def frame_count(self) -> int:
        raise NotImplementedError

    def navigate(self, index: int) -> None:
        raise NotImplementedError

    def _start_colorize(self, request: RunRequest) -> None:
        raise NotImplementedError

    def _connect_shot_detection(self) -> None:
        self._borrowed = {}
        self._session_shots = None
        self.shot_detection.sig_progress.connect(self._on_shots_progress)
        self.shot_detection.sig_found.connect(self._on_shots_found)
        self.shot_detection.sig_failed.connect(self._on_shots_failed)

    # -- what the views read -----------------------------------------------------------------------------------

    @property
    def shots(self) -> list[Shot]:
        """The project's shots ([] while they are being found)."""
        return list(self.project.shots or [])

    def shot_states(self) -> list[ShotState]:
        """Every shot with where its colours come from."""
        return shot_states(self.shots, (e.frame for e in self.project.exemplars), self._borrowed)

    # -- detection ---------------------------------------------------------------------------------------------

    def _shots_for_opened_video(self) -> None:
        """The video of the project opened: use its stored shots if they fit it, else find them."""
        self._borrowed = {}
        self._session_shots = None
        stored = self.project.shots
        if stored is not None:
            try:
                validate_shots(stored, self.frame_count)
            except ShotListError as exc:
                logger.warning("stored shots do not fit the video: %s", exc)
                self.project.shots = None
                self.sig_error.emit(
                    f"The project's shot list does not fit its video ({exc}); the shots are found again."
                )
        if self.project.shots is None and self.project.video is not None:
            self.shot_detection.start(self.project.video)
            self.sig_shot_progress.emit(0, self.frame_count)
        self._send_shots(force=True)
        self.sig_shots_changed.emit()

    def find_shots_again(self) -> None:
        """Find the shots again: the list found replaces the current one, edits included, as one undoable step."""
        if self.project.video is None or self.frame_count == 0:
            return
        self.shot_detection.start(self.project.video)
        self.sig_shot_progress.emit(0, self.frame_count)

    def cancel_shot_detection(self) -> None:
        """Stop finding the shots (the film is then colorized as one shot, or with the list it had)."""
        self.shot_detection.cancel()

    def _on_shots_progress(self, done: int, total: int) -> None:
        self.sig_shot_progress.emit(done, total)

    def _on_shots_found(self, shots: list[Shot]) -> None:
        self.sig_shot_progress.emit(-1, 0)
        try:
            validate_shots(shots, self.frame_count)
        except ShotListError as exc:
            self.sig_error.emit(f"The shots found do not fit the video ({exc}); the film is colorized as one shot.")
            return
        if self.project.shots is None:  # the first list of a project is not an edit
            self.project.shots = list(shots)
        else:
            with self.history.edit("Find Shots Again"):
                self.project.shots = list(shots)
        count = len(shots)
        self.sig_status.emit(f"{count} shot{'s' if count != 1 else ''} found.")
        self._send_shots()
        self.sig_shots_changed.emit()

    def _on_shots_failed(self, message: str, cancelled: bool) -> None:
        self.sig_shot_progress.emit(-1, 0)
        if cancelled:
            self.sig_status.emit("Finding the shots was cancelled; Shots ▸ Find Shots Again starts it again.")
        else:
            self.sig_error.emit(message)

    # -- edits -------------------------------------------------------------------------------------------------

    def add_cut_at_playhead(self) -> None:
        """Start a new shot at the playhead (a hard cut)."""
        self._edit_shots("Add Cut", lambda shots: add_cut(shots, self.current_frame))

    def remove_cut_at_playhead(self) -> None:
        """Remove the cut that opens the shot under the playhead (it joins the shot before)."""
        self._edit_shots("Remove Cut", lambda shots: remove_cut(shots, self.current_frame)[0])

    def _edit_shots(self, text: str, change: Callable[[list[Shot]], list[Shot]]) -> None:
        shots = self.project.shots
        if shots is None or self.frame_count == 0:
            self.sig_error.emit("The shots are not found yet; wait for them (see the status bar) and try again.")
            return
        try:
            new = change(shots)
        except ShotListError as exc:
            self.sig_error.emit(str(exc))
            return
        with self.history.edit(text):
            self.project.shots = new
        self._shots_edited()

    def _shots_edited(self) -> None:
        """The shot list changed (an edit, an undo or a redo): the session gets it."""
        self._send_shots()
        self.sig_shots_changed.emit()

    def _send_shots(self, *, force: bool = False) -> None:
        shots = self.project.shots
        if shots == self._session_shots and not force:
            return
        cuts_before = _cuts(self._session_shots, self.frame_count)
        self._session_shots = list(shots) if shots is not None else None
        if _cuts(self._session_shots, self.frame_count) != cuts_before:  # else the run's segments stay as they are
            self._restart_run()
        self._sig_worker_shots.emit(self._session_shots)

    def _restart_run(self) -> None:
        raise NotImplementedError

    def _on_worker_shot_sources(self, borrowed: dict[int, tuple[int, str]]) -> None:
        self._borrowed = dict(borrowed)
        self.sig_shots_changed.emit()

    # -- navigation and runs -----------------------------------------------------------------------------------

    def go_to_next_shot_without_exemplar(self) -> None:
        """Move the playhead to the next shot with no exemplar of its own (the restorer's checklist)."""
        state = next_without_exemplar(self.shot_states(), self.current_frame)
        if state is None:
            self.sig_status.emit("Every shot has an exemplar of its own.")
            return
        self.navigate(state.start)

    def colorize_shot(self) -> None:
        """Colorize the shot under the playhead."""
        self._start_colorize(RunRequest("shot", self.current_frame))


def _cuts(shots: list[Shot] | None, frame_count: int) -> list[tuple[int, int, tuple[int, int] | None]]:
    """The shots as the planner sees them: no list is one shot over the whole video."""
    if not shots:
        return [(0, frame_count, None)]
    return [(s.start, s.stop, s.transition) for s in shots]
