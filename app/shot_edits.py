"""Shots of the project: found in the background after a video opens, edited by the restorer, told to the session.

A project that stores a shot list (found earlier, or edited) keeps it; one without detects its shots when its video
opens (:mod:`app.shots_worker`, cached by the library). Adding a cut at the playhead and removing the cut that opens
the shot under it are steps of the project's history, so Edit ▸ Undo takes them back; so is linking a shot without
an exemplar to another shot's exemplar by hand (or back to automatic). Every new list, with its links, goes to the
session, whose segments then stop at the cuts, and the session answers with where each shot's colours come from
(:class:`app.model.shot_list.ShotState`), which the timeline shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.model.shot_list import (
    ShotState,
    add_cut,
    link_choices,
    next_without_exemplar,
    prune_links,
    remove_cut,
    shot_states,
)
from app.shots_worker import ShotDetection
from colormnet.shots import Shot, ShotListError, validate_shots

if TYPE_CHECKING:
    from app.model.workspace import Workspace
    from app.undo import ProjectHistory

logger = logging.getLogger(__name__)


class ShotEdits(QObject):
    """The shot list of the open project, where each shot's colours come from, and the shot detection.

    Args:
        workspace: The open project.
        history: The project's edit history.
    """

    sig_shots_changed = Signal()
    """The shot list or where a shot's colours come from changed (see :meth:`shot_states`)."""
    sig_shot_progress = Signal(int, int)
    """Finding the shots: frames read and frames in the video; (-1, 0) when it ended."""
    sig_send_shots = Signal(object, object)
    """The session needs this shot list (None: the video is one shot) and these links (see :meth:`link_shot`)."""
    sig_cuts_changed = Signal()
    """The cuts or the links changed: a colorize run in progress starts again on the new segments."""
    sig_navigate = Signal(int)
    """The user asked to go to this frame (the next shot without an exemplar)."""
    sig_error = Signal(str)
    """An edit was refused or the detection failed; carries the one-sentence reason."""
    sig_status = Signal(str)
    """A short note for the status bar."""

    def __init__(self, workspace: Workspace, history: ProjectHistory) -> None:
        super().__init__()
        self._workspace = workspace
        self._history = history
        self._borrowed: dict[int, tuple[int, str]] = {}  # a shot's first frame -> (exemplar frame, how chosen)
        self._session_shots: list[Shot] | None = None  # the list last handed to the session
        self._session_links: dict[int, int] = {}  # and its links
        self.detection = ShotDetection()
        self.detection.sig_progress.connect(self.sig_shot_progress)
        self.detection.sig_found.connect(self._on_detection_found)
        self.detection.sig_failed.connect(self._on_detection_failed)

    # -- what the views read -----------------------------------------------------------------------------------

    @property
    def shots(self) -> list[Shot]:
        """The project's shots ([] while they are being found)."""
        return list(self._workspace.project.shots or [])

    def shot_states(self) -> list[ShotState]:
        """Every shot with where its colours come from."""
        return shot_states(self.shots, (e.frame for e in self._workspace.project.exemplars), self._borrowed)

    # -- detection ---------------------------------------------------------------------------------------------

    def video_opened(self) -> None:
        """The video of the project opened: use its stored shots if they fit it, else find them."""
        self._borrowed = {}
        self._session_shots, self._session_links = None, {}
        stored = self._workspace.project.shots
        if stored is not None:
            try:
                validate_shots(stored, self._workspace.frame_count)
            except ShotListError as exc:
                logger.warning("stored shots do not fit the video: %s", exc)
                self._workspace.project.shots = None
                self.sig_error.emit(
                    f"The project's shot list does not fit its video ({exc}); the shots are found again."
                )
        if self._workspace.project.shots is None and self._workspace.project.video is not None:
            self.detection.start(self._workspace.project.video)
            self.sig_shot_progress.emit(0, self._workspace.frame_count)
        self._send_shots(force=True, opening=True)
        self.sig_shots_changed.emit()

    def for_session(self) -> tuple[tuple[Any, ...] | None, tuple[tuple[int, int], ...]]:
        """The shots (None: one shot) and the hand-chosen links the session has, for a session that opens."""
        shots = tuple(self._session_shots) if self._session_shots is not None else None
        return shots, tuple(sorted(self._session_links.items()))

    def find_shots_again(self) -> None:
        """Find the shots again: the list found replaces the current one, edits included, as one undoable step."""
        if self._workspace.project.video is None or self._workspace.frame_count == 0:
            return
        self.detection.start(self._workspace.project.video)
        self.sig_shot_progress.emit(0, self._workspace.frame_count)

    def cancel_shot_detection(self) -> None:
        """Stop finding the shots (the film is then colorized as one shot, or with the list it had)."""
        self.detection.cancel()

    def _on_detection_found(self, shots: list[Shot]) -> None:
        self.sig_shot_progress.emit(-1, 0)
        try:
            validate_shots(shots, self._workspace.frame_count)
        except ShotListError as exc:
            self.sig_error.emit(f"The shots found do not fit the video ({exc}); the film is colorized as one shot.")
            return
        if self._workspace.project.shots is None:  # the first list of a project is not an edit
            self._workspace.project.shots = list(shots)
        else:
            with self._history.edit("Find Shots Again"):
                self._workspace.project.shots = list(shots)
        count = len(shots)
        self.sig_status.emit(f"{count} shot{'s' if count != 1 else ''} found.")
        self._send_shots()
        self.sig_shots_changed.emit()

    def _on_detection_failed(self, message: str, cancelled: bool) -> None:
        self.sig_shot_progress.emit(-1, 0)
        if cancelled:
            self.sig_status.emit("Finding the shots was cancelled; Shots ▸ Find Shots Again starts it again.")
        else:
            self.sig_error.emit(message)

    # -- edits -------------------------------------------------------------------------------------------------

    def add_cut_at_playhead(self) -> None:
        """Start a new shot at the playhead (a hard cut)."""
        self._edit_shots("Add Cut", lambda shots: add_cut(shots, self._workspace.current_frame))

    def remove_cut_at_playhead(self) -> None:
        """Remove the cut that opens the shot under the playhead (it joins the shot before)."""
        self._edit_shots("Remove Cut", lambda shots: remove_cut(shots, self._workspace.current_frame)[0])

    def _edit_shots(self, text: str, change: Callable[[list[Shot]], list[Shot]]) -> None:
        shots = self._workspace.project.shots
        if shots is None or self._workspace.frame_count == 0:
            self.sig_error.emit("The shots are not found yet; wait for them (see the status bar) and try again.")
            return
        try:
            new = change(shots)
        except ShotListError as exc:
            self.sig_error.emit(str(exc))
            return
        with self._history.edit(text):
            self._workspace.project.shots = new
            self._workspace.project.shot_links = prune_links(new, self._workspace.project.shot_links)
        self.shots_edited()

    def link_choices(self, frame: int) -> list[tuple[int, str]]:
        """The exemplars (frame, name) the shot holding ``frame`` may take its colours from; [] when it has its own."""
        project = self._workspace.project
        frames = link_choices(self.shots, (e.frame for e in project.exemplars), frame)
        entries = [project.exemplar_at(f) for f in frames]
        return [(f, (e.name or e.image.name) if e is not None else "") for f, e in zip(frames, entries, strict=True)]

    def link_of(self, frame: int) -> int | None:
        """The exemplar frame the shot holding ``frame`` is linked to by hand (None: chosen automatically)."""
        shot = next((s for s in self.shots if s.start <= frame < s.stop), None)
        return self._workspace.project.shot_links.get(shot.start) if shot is not None else None

    def link_shot(self, frame: int, exemplar: int | None) -> None:
        """Make the shot holding ``frame`` take its colours from the exemplar at ``exemplar`` (None: automatic)."""
        shot = next((s for s in self.shots if s.start <= frame < s.stop), None)
        if shot is None:
            self.sig_error.emit("The shots are not found yet; wait for them (see the status bar) and try again.")
            return
        links = dict(self._workspace.project.shot_links)
        if exemplar is None:
            links.pop(shot.start, None)
            text = "Automatic Colours"
        elif exemplar in dict(self.link_choices(frame)):
            links[shot.start] = exemplar
            text = f"Take Colours from Frame {exemplar}"
        else:
            self.sig_error.emit(f"The shot at frame {shot.start} cannot take its colours from frame {exemplar}: "
                                "choose the exemplar of another shot, for a shot without one of its own.")
            return
        with self._history.edit(text):
            self._workspace.project.shot_links = links
        self.shots_edited()

    def shots_edited(self) -> None:
        """The shot list changed (an edit, an undo or a redo): the session gets it."""
        self._send_shots()
        self.sig_shots_changed.emit()

    def _send_shots(self, *, force: bool = False, opening: bool = False) -> None:
        """Send the shots to the session if they changed (or ``force``); ``opening``: the session opening next
        takes them with it (:meth:`for_session`), the one still open must not check them against its film."""
        shots, links = self._workspace.project.shots, self._workspace.project.shot_links
        if not self.session_shots_stale and not force:
            return
        count = self._workspace.frame_count
        cuts_before, links_before = _cuts(self._session_shots, count), self._session_links
        self._session_shots = list(shots) if shots is not None else None
        self._session_links = dict(links)
        if _cuts(self._session_shots, count) != cuts_before or links != links_before:  # else the segments stay
            self.sig_cuts_changed.emit()
        if not opening:
            self.sig_send_shots.emit(self._session_shots, dict(self._session_links))

    @property
    def session_shots_stale(self) -> bool:
        """Whether the project's shots or links differ from those the session has (after an undo or a redo)."""
        project = self._workspace.project
        return project.shots != self._session_shots or project.shot_links != self._session_links

    def forget(self) -> None:
        """Another project opens: stop finding the shots of this one."""
        self.detection.forget()

    def on_shot_sources(self, borrowed: dict[int, tuple[int, str]]) -> None:
        """The session says which exemplar each shot without its own borrows."""
        self._borrowed = dict(borrowed)
        self.sig_shots_changed.emit()

    # -- navigation --------------------------------------------------------------------------------------------

    def go_to_next_shot_without_exemplar(self) -> None:
        """Move the playhead to the next shot with no exemplar of its own (the restorer's checklist)."""
        state = next_without_exemplar(self.shot_states(), self._workspace.current_frame)
        if state is None:
            self.sig_status.emit("Every shot has an exemplar of its own.")
            return
        self.sig_navigate.emit(state.start)


def _cuts(shots: list[Shot] | None, frame_count: int) -> list[tuple[int, int, tuple[int, int] | None]]:
    """The shots as the planner sees them: no list is one shot over the whole video."""
    if not shots:
        return [(0, frame_count, None)]
    return [(s.start, s.stop, s.transition) for s in shots]
