"""Comparisons in the viewer: the render from before the last exemplar change against the render now, the exemplar
pinned to a frame against its colorized frame, and a pinned keyframe's own colours for a frame not colorized yet.

After an edit changes the renders of some frames (see :mod:`app.render_compare`), a bar over the timeline says which
frames have a render from before the change and offers Compare Before/Now (B: side by side and across the wipe the
earlier render takes the source's place; Colorized Only flips between the two), Keep Before (the change is undone,
so the earlier renders are what the film uses again) and Keep Now. Earlier renders are read from the frame cache by
a frame loader of their own, off the GUI thread. Show Exemplar (E) puts the image pinned to the frame under the
playhead in the source's place. Exemplar images are decoded off the GUI thread (:mod:`app.image_loader`), at most at
the frame's size and once per file version, and shown when ready.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.frame_loader import FrameLoader, FrameRequest, LoadedFrame
from app.image_loader import ImageLoader
from app.render_compare import BeforeRenders
from app.thumbnails import to_qimage
from app.worker import WorkerThread

if TYPE_CHECKING:
    from app.controller import Controller
    from app.model.project import ExemplarEntry
    from app.widgets.viewer import FrameViewer
    from colormnet.video import VideoInfo

logger = logging.getLogger(__name__)


class _Choices(NamedTuple):
    """What the restorer chose that a Before/Now comparison is about: the exemplars, the shots linked by hand to
    one (Take Colours From); and the shots, to tell a link the user chose from one a shot edit dropped."""

    exemplars: tuple[tuple[object, ...], ...]
    links: tuple[tuple[int, int], ...]
    shots: tuple[tuple[int, int], ...]

COMPARE_ACTIONS = ("compare_before", "keep_before", "keep_now", "show_exemplar")


class CompareBar(QFrame):
    """The note over the timeline while frames have a render from before the last change, with its actions."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare_bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        row.addWidget(self.label, 1)
        for name in ("compare_before", "keep_before", "keep_now"):
            button = QToolButton(self)
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            row.addWidget(button)
        self.hide()


class CompareView(QObject):
    """Shows earlier renders, exemplars and keyframe stand-ins in the viewer.

    Args:
        controller: The application controller.
        viewer: The frame viewer.
        actions: The window's actions by name (those of :data:`COMPARE_ACTIONS` are handled here).
        notify: Shows a short note in the status bar.
        parent: The window (owner of the compare bar).
    """

    _sig_loader_open = Signal(int, str, object)

    def __init__(
        self,
        controller: Controller,
        viewer: FrameViewer,
        actions: dict[str, QAction],
        notify: Callable[[str], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._viewer = viewer
        self._actions = actions
        self._notify = notify
        self.renders = BeforeRenders()
        self.bar = CompareBar(actions, parent)
        self._stack_index = -1  # the undo stack's index when the comparison began
        self._shown: tuple[int, bool] = (-1, False)  # the frame on screen and whether it is colorized
        self._exemplar_images = ImageLoader(self)
        self._exemplar_images.sig_ready.connect(self._refresh)
        self._seen = _Choices((), (), ())  # the restorer's choices when the segments last came
        self._auto_keyframes: set[int] = set()  # frames of the auto exemplars the session uses as keyframes
        self._token = 0
        loader = FrameLoader()
        loader.sig_loaded.connect(self._on_loader_loaded)
        self._sig_loader_open.connect(loader.open)
        self._loader = loader
        self._thread: WorkerThread | None = WorkerThread(loader, "colormnet-before-frames")
        controller.sig_video_opened.connect(self._on_controller_video_opened)
        controller.files.sig_close_video.connect(self._forget_film)
        controller.sig_segments_changed.connect(self._on_controller_segments_changed)
        controller.sig_frame_shown.connect(self._on_controller_frame_shown)
        controller.sig_project_changed.connect(self._refresh)
        controller.engine.sig_resolved_kinds.connect(self._on_controller_resolved_kinds)
        actions["compare_before"].toggled.connect(self._refresh)
        actions["show_exemplar"].toggled.connect(self._refresh)
        actions["keep_before"].triggered.connect(self.keep_before)
        actions["keep_now"].triggered.connect(self.keep_now)
        self._update_bar()

    def shutdown(self) -> None:
        """Stop the loader's thread (later calls do nothing)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()
            self._loader.close()
        self._exemplar_images.shutdown()

    # -- keeping one -------------------------------------------------------------------------------------------

    def keep_before(self) -> None:
        """Keep the renders from before the change: the change is undone (Redo brings it back)."""
        stack = self._controller.history.stack
        if stack.index() != self._stack_index or not stack.canUndo():
            self._notify("Other edits followed that change: use Edit ▸ Undo to go back to the earlier renders.")
            return
        self.renders.ignore_next_change()
        stack.undo()
        self._finish("The earlier renders are kept: the change was undone (Redo makes it again).")

    def keep_now(self) -> None:
        """Keep the renders after the change (the earlier ones stay in the cache until it needs the room)."""
        self.renders.forget()
        self._finish("The renders after the change are kept.")

    def _finish(self, note: str) -> None:
        self._actions["compare_before"].setChecked(False)
        self._update_bar()
        self._refresh()
        self._notify(note)

    # -- controller signals ------------------------------------------------------------------------------------

    def _on_controller_video_opened(self, info: VideoInfo) -> None:
        self._forget_film()
        c = self._controller
        if c.project.video is not None and c.cache is not None:
            self._token += 1
            self._sig_loader_open.emit(self._token, str(c.project.video), c.cache)

    def _forget_film(self) -> None:
        """Another film opened, or the project was closed: nothing of the film before is compared or shown."""
        self.renders.reset()
        self._seen = self._choices()
        self._exemplar_images.clear()  # let the last film's exemplars go
        self._actions["compare_before"].setChecked(False)
        self._update_bar()

    def _on_controller_segments_changed(self) -> None:
        c = self._controller
        cache = c.cache
        cached = cache.frames if cache is not None else (lambda key: frozenset())
        now, seen = self._choices(), self._seen
        self._seen = now
        # links alone count where the shots stayed: a shot edit drops the links of the shots it removes
        edited = now.exemplars != seen.exemplars or (now.links != seen.links and now.shots == seen.shots)
        if self.renders.update(c.segments, cached, exemplars_edited=edited):
            self._stack_index = c.history.stack.index()
            if not self.renders.runs:
                self._actions["compare_before"].setChecked(False)
            self._update_bar()

    def _choices(self) -> _Choices:
        project = self._controller.project
        return _Choices(tuple((e.frame, e.image, e.kind, tuple(e.references)) for e in project.exemplars),
                        tuple(sorted(project.shot_links.items())),
                        tuple((shot.start, shot.stop) for shot in project.shots or ()))

    def _on_controller_frame_shown(self, index: int, source: QImage, color: QImage | None) -> None:
        self._shown = (index, color is not None)
        self._refresh()

    def _on_controller_resolved_kinds(self, kinds: dict[int, tuple[str, float]]) -> None:
        self._auto_keyframes = {frame for frame, (kind, _) in kinds.items() if kind == "keyframe"}
        self._refresh()

    def _on_loader_loaded(self, frame: LoadedFrame) -> None:
        if frame.index != self._shown[0] or frame.color is None or not self._comparing_before():
            return
        if frame.key == self.renders.key_at(frame.index):
            self._viewer.set_override(to_qimage(frame.color), "Before this change", "Now")

    # -- what the viewer shows ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Put the stand-in and the override for the frame on screen into the viewer."""
        index, colorized = self._shown
        if index < 0 or index != self._viewer.frame_index:
            return
        entry = self._controller.project.exemplar_at(index)
        stand_in = None
        keyframe = entry is not None and (entry.kind == "keyframe" or (
            entry.kind == "auto" and entry.frame in self._auto_keyframes))
        if entry is not None and not colorized and keyframe:
            stand_in = self._exemplar_image(entry)
        self._viewer.set_stand_in(stand_in, "Keyframe exemplar (not colorized yet)")
        if self._actions["show_exemplar"].isChecked() and entry is not None:
            self._viewer.set_override(self._exemplar_image(entry), f"Exemplar · {entry.name}", "Colorized")
            return
        self._viewer.set_override(None)
        if self._comparing_before():
            video = self._controller.project.video
            self._loader.request(FrameRequest(index, self.renders.key_at(index), video=str(video) if video else ""))

    def _comparing_before(self) -> bool:
        return self._actions["compare_before"].isChecked() and bool(self.renders.key_at(self._shown[0]))

    def _update_bar(self) -> None:
        has_before = bool(self.renders.runs)
        for name in ("compare_before", "keep_before", "keep_now"):
            self._actions[name].setEnabled(has_before)
        self.bar.setVisible(has_before)
        if has_before:
            self.bar.label.setText(
                f"The last change affects {self.renders.describe()}; their earlier render is kept to compare with "
                "the new one (B). Then keep one."
            )

    def _exemplar_image(self, entry: ExemplarEntry) -> QImage | None:
        """The exemplar's image, at most as large as the frame; None while it is decoded (the view is refreshed when
        it is ready) or when it cannot be read."""
        frame = self._controller.video_info
        size = QSize(frame.width, frame.height) if frame is not None else QSize(1 << 15, 1 << 15)
        return self._exemplar_images.image(entry.image, size)
