"""The main window: viewer, timeline and exemplar panel, wired to the controller."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app.autosave import AutosaveWriter
from app.controller import Controller
from app.icons import icon
from app.shuttle import Shuttle
from app.thumbnails import ThumbnailStrip
from app.widgets.actions import MENUS, TOOLBAR, create_actions, create_history_actions
from app.widgets.compare_view import CompareView
from app.widgets.exemplar_panel import ExemplarPanel, dock_exemplar_panel
from app.widgets.fitting_toolbar import FittingToolBar
from app.widgets.marker_menu import MarkerCommands
from app.widgets.shot_track import ShotsPresenter
from app.widgets.status_bar import StudioStatusBar
from app.widgets.timeline import Timeline
from app.widgets.viewer import FrameViewer
from app.widgets.window_commands import WindowCommands
from app.widgets.window_placement import place_window
from colormnet.engines.registry import takes_references

if TYPE_CHECKING:
    from colormnet.video import VideoInfo

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


class MainWindow(QMainWindow):
    """ColorMNet Studio's window.

    Args:
        controller: The application controller.
    """

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("ColorMNet Studio")
        self.setWindowIcon(icon("colorize_all"))
        self.actions_by_name = create_actions(self)
        self.actions_by_name.update(create_history_actions(controller.history.stack, self))
        self.last_message: QMessageBox | None = None
        self.viewer = FrameViewer(self)
        self.timeline = Timeline(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.viewer, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        a = self.actions_by_name
        edit_actions = [
            a[n]
            for n in (
                "add_exemplar",
                "paste_exemplar",
                "pin_frame",
                "replace_exemplar",
                "add_reference",
                "move_exemplar",
                "remove_exemplar",
            )
        ]
        self.exemplars = ExemplarPanel(edit_actions, self)
        remove = self.actions_by_name["remove_exemplar"]
        remove.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # Delete only where exemplars are
        self.exemplars.addAction(remove)
        self.exemplar_dock = dock_exemplar_panel(self.exemplars, self)
        self.status = StudioStatusBar(self.actions_by_name["cancel"], self)
        self.setStatusBar(self.status)
        self._build_menus_and_toolbar()
        self.shots = ShotsPresenter(controller, self.timeline, self.actions_by_name, self.status)
        self.shuttle = Shuttle(self._shuttle_step, self)
        self.autosaver = AutosaveWriter(controller.paths.autosave, lambda: controller.project, parent=self)
        self.markers = MarkerCommands(controller, self.timeline, self.exemplars, self.actions_by_name, self._notify)
        self.commands = WindowCommands(self, controller, self.actions_by_name, self.recent_menu, self.exemplars,
                                       self.autosaver, self.show_error, self.markers.move)
        self._connect()
        self._connect_editor_features()
        self._restore_view_state()
        self._on_controller_project_changed()
        self._on_engine_changed()
        self._update_enabled()

    # -- construction ------------------------------------------------------------------------------------------

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions_by_name
        for title, names in MENUS.items():
            menu = self.menuBar().addMenu(title)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(a[name])
                if name == "open_project":
                    self.recent_menu = menu.addMenu(icon("recent"), "Open &Recent")
        toolbar = FittingToolBar("Main", self)
        self.addToolBar(toolbar)
        for name in TOOLBAR:
            if name is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(a[name])
        for name in ("side_by_side", "wipe", "color_only"):
            a[name].triggered.connect(lambda checked=False, mode=name: self.set_view_mode(mode))

    def _connect(self) -> None:
        c, a = self.controller, self.actions_by_name
        c.sig_video_opened.connect(self._on_controller_video_opened)
        c.sig_project_changed.connect(self._on_controller_project_changed)
        c.sig_segments_changed.connect(self._on_controller_segments_changed)
        c.sig_colorized_changed.connect(self._on_controller_colorized_changed)
        c.sig_current_frame_changed.connect(self.timeline.set_current)
        c.sig_follow_changed.connect(a["follow"].setChecked)
        c.sig_frame_shown.connect(self._on_controller_frame_shown)
        c.engine.sig_changed.connect(self._on_engine_changed)
        c.engine.sig_weights_missing.connect(self.commands.show_weights_dialog)
        c.runs.sig_run_started.connect(self._on_runs_run_started)
        c.engine.sig_model_state.connect(self.status.show_model_state)
        c.runs.sig_progress.connect(self.status.show_progress)
        c.runs.sig_export_progress.connect(self.status.show_export_progress)
        c.runs.sig_run_finished.connect(self._on_runs_run_finished)
        c.runs.sig_forgotten.connect(self.status.forget_run)
        c.sig_error.connect(self.show_error)
        c.sig_status.connect(self._notify)
        self.timeline.sig_scrubbed.connect(c.navigate)
        self.timeline.goto.sig_invalid.connect(self._notify)
        self.timeline.goto.sig_withdrawn.connect(self.status.withdraw)
        self.timeline.goto.sig_done.connect(self.viewer.setFocus)
        self.shuttle.sig_speed_changed.connect(self._on_shuttle_speed_changed)
        self.viewer.sig_files_dropped.connect(self._on_viewer_files_dropped)
        self.viewer.sig_image_dropped.connect(lambda image: c.edits.add_exemplar_image(image, name="dropped image"))
        self.exemplars.sig_activated.connect(c.navigate)
        c.sig_current_frame_changed.connect(self.exemplars.select_frame)  # the exemplar on screen is the one edited
        self.exemplars.sig_kind_changed.connect(c.edits.set_exemplar_kind)
        self.exemplars.sig_selected.connect(lambda frame: self._update_enabled())
        triggers = {
            "previous_frame": lambda: c.step(-1),
            "next_frame": lambda: c.step(1),
            "back_ten": lambda: c.step(-10),
            "forward_ten": lambda: c.step(10),
            "first_frame": lambda: c.navigate(0),
            "last_frame": lambda: c.navigate(c.frame_count - 1),
            "goto_frame": self.timeline.goto.start_typing,
            "shuttle_reverse": self.shuttle.reverse,
            "shuttle_stop": self.shuttle.stop,
            "shuttle_forward": self.shuttle.forward,
            "in_point": lambda: c.edits.set_in_point(),
            "out_point": lambda: c.edits.set_out_point(),
            "clear_in_out": c.edits.clear_in_out,
            "paste_exemplar": self.paste_exemplar,
            "pin_frame": c.edits.pin_current_frame,
            "colorize_segment": c.runs.colorize_segment,
            "colorize_in_out": c.runs.colorize_in_out,
            "colorize_from_here": c.runs.colorize_from_here,
            "colorize_all": c.runs.colorize_all,
            "cancel": self._on_cancel_triggered,
            "fit": self.viewer.fit_to_window,
            "actual_size": lambda: self.viewer.set_zoom(1.0),
            "zoom_in": self.viewer.zoom_in,
            "zoom_out": self.viewer.zoom_out,
            "quit": self.close,
        }
        for name, slot in triggers.items():
            a[name].triggered.connect(slot)
        a["play"].toggled.connect(self._on_play_toggled)
        a["follow"].toggled.connect(self._on_follow_toggled)

    def _connect_editor_features(self) -> None:
        """The timeline's thumbnail strip (see app.thumbnails), the viewer's comparisons (before/now, exemplar) with
        their bar over the timeline, and the exemplar panel's resolved kinds and further references."""
        c, panel = self.controller, self.exemplars
        self.thumbnails = ThumbnailStrip(c.paths.thumbnails, self)
        self.thumbnails.attach(c, self.timeline)
        self.compare = CompareView(c, self.viewer, self.actions_by_name, self._notify, self)
        self.timeline.add_notice(self.compare.bar)
        c.engine.sig_resolved_kinds.connect(panel.set_resolved_kinds)
        c.engine.sig_resolved_kinds.connect(self.timeline.set_resolved_kinds)
        c.sig_project_changed.connect(lambda: panel.set_takes_references(takes_references(c.project.settings.engine)))
        panel.set_takes_references(takes_references(c.project.settings.engine))
        panel.sig_reference_removed.connect(c.edits.remove_reference)
        panel.sig_reference_moved.connect(c.edits.move_reference)

    def _notify(self, text: str) -> None:
        """A note in the status bar for a few seconds."""
        self.status.showMessage(text, self.status.note_ms)

    def _restore_view_state(self) -> None:
        settings = self.controller.settings
        geometry, state = settings.window_state()
        place_window(self, geometry)
        if state is not None:
            self.restoreState(state)
        self.actions_by_name["follow"].setChecked(self.controller.follow_playhead)
        self.set_view_mode(settings.view_mode)

    # -- view --------------------------------------------------------------------------------------------------

    def set_view_mode(self, mode: str) -> None:
        """Show side_by_side, wipe or color_only."""
        self.viewer.set_mode(mode)
        for name in ("side_by_side", "wipe", "color_only"):
            self.actions_by_name[name].setChecked(name == mode)
        self.controller.settings.view_mode = mode

    def show_error(self, message: str) -> None:
        """Show ``message`` in a message box that does not block the event loop."""
        logger.info("message to the user: %s", message)
        if self.last_message is not None:
            self.last_message.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "ColorMNet Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        box.open()
        self.last_message = box

    def _update_enabled(self) -> None:
        c, a = self.controller, self.actions_by_name
        has_video = c.frame_count > 0
        busy = c.runs.busy
        selected = self.exemplars.selected_frame() is not None
        for name in (
            "previous_frame",
            "next_frame",
            "goto_frame",
            "shuttle_reverse",
            "shuttle_stop",
            "shuttle_forward",
            "back_ten",
            "forward_ten",
            "first_frame",
            "last_frame",
            "play",
            "in_point",
            "out_point",
            "clear_in_out",
            "add_exemplar",
            "paste_exemplar",
            "pin_frame",
            "save",
            "save_as",
            "close_project",
        ):
            a[name].setEnabled(has_video)
        for name in ("replace_exemplar", "move_exemplar", "remove_exemplar"):
            a[name].setEnabled(has_video and selected)
        a["add_reference"].setEnabled(
            has_video and selected and takes_references(c.project.settings.engine)
        )
        for name in ("colorize_segment", "colorize_from_here", "colorize_all", "export"):
            a[name].setEnabled(has_video and not busy and bool(c.project.exemplars))
        has_range = c.project.in_point is not None or c.project.out_point is not None
        a["colorize_in_out"].setEnabled(has_video and not busy and bool(c.project.exemplars) and has_range)
        a["cancel"].setEnabled(busy)
        self.shots.update_enabled()
        self.timeline.goto.escape.setEnabled(not busy)

    # -- controller signals ------------------------------------------------------------------------------------

    def _on_controller_video_opened(self, info: VideoInfo) -> None:
        fps = float(info.fps)
        self.timeline.set_video(info.frame_count, fps)
        self.timeline.set_current(self.controller.current_frame)
        self.status.show_video(info)
        self.viewer.clear("Loading frame…")
        self.shuttle.set_fps(fps)
        self._update_enabled()

    def _on_controller_project_changed(self) -> None:
        project = self.controller.project
        self.setWindowTitle(f"{project.title}[*] — ColorMNet Studio")
        self.setWindowModified(project.dirty)
        known = self.exemplars.frames()
        self.exemplars.set_exemplars(project.exemplars)
        if self.controller.current_frame not in known:  # one added on screen is the one the commands act on
            self.exemplars.select_frame(self.controller.current_frame)
        self.timeline.set_in_out(project.in_point, project.out_point)
        self._on_controller_segments_changed()
        if project.dirty:
            self.autosaver.schedule()
        if project.video is None:
            self.viewer.clear()
            self.status.show_video(None)
            self.timeline.set_video(0, 24.0)
        self._update_enabled()

    def _on_controller_segments_changed(self) -> None:
        c = self.controller
        markers = [(e.frame, e.kind) for e in c.project.exemplars]
        self.timeline.set_markers(markers, [s.start for s in c.segments])

    def _on_controller_colorized_changed(self) -> None:
        self.timeline.set_colorized(self.controller.colorized)

    def _on_controller_frame_shown(self, index: int, source: QImage, color: QImage | None) -> None:
        self.viewer.set_frame(index, source, color)

    def _on_engine_changed(self) -> None:
        self.status.show_engine(self.controller.engine.status())

    def _on_runs_run_started(self, kind: str) -> None:
        self.status.run_started(kind, loading=self.controller.engine.model_state == "loading")
        self._update_enabled()

    def _on_runs_run_finished(self, kind: str, cancelled: bool) -> None:
        runs = self.controller.runs
        if not runs.run_forgotten:  # a run of the project before ends unseen (its progress went with the project)
            self.status.run_finished(kind, cancelled, runs.run_notice, failed=runs.run_failed, ended=runs.run_end_note)
        self._update_enabled()

    # -- playback ----------------------------------------------------------------------------------------------

    def _on_play_toggled(self, playing: bool) -> None:
        c = self.controller
        if playing and c.frame_count:
            if self.shuttle.speed <= 0 and c.current_frame >= c.frame_count - 1:
                c.navigate(0)
            if self.shuttle.speed <= 0:
                self.shuttle.play()
        elif not playing and self.shuttle.speed > 0:  # not when J turned the shuttle round
            self.shuttle.stop()

    def _shuttle_step(self, delta: int) -> bool:
        """Move the playhead ``delta`` frames for the shuttle; False once it stands at either end."""
        c = self.controller
        target = min(max(0, c.current_frame + delta), c.frame_count - 1)
        if target == c.current_frame or not c.frame_count:  # at either end, or the film was closed
            return False
        c.navigate(target)
        return True

    def _on_shuttle_speed_changed(self, speed: int) -> None:
        self.actions_by_name["play"].setChecked(speed > 0)
        if speed:
            direction = "forwards" if speed > 0 else "backwards"
            self.statusBar().showMessage(f"Playing {direction} at {abs(speed)}x (K stops).", 3000)
        elif self.statusBar().currentMessage().startswith("Playing "):  # stopped: the note must not outlive it
            self.statusBar().clearMessage()

    def _on_cancel_triggered(self) -> None:
        if self.timeline.goto.hasFocus():  # Esc in the go-to field leaves the field; the run goes on
            self.timeline.goto.leave()
        else:
            if self.controller.runs.busy:
                self.status.cancelling()
            self.controller.runs.cancel()

    def _on_follow_toggled(self, follow: bool) -> None:
        if follow != self.controller.follow_playhead:  # the user's choice, not the controller's own turn-off
            self.controller.set_follow_playhead(follow)

    # -- drops -------------------------------------------------------------------------------------------------

    def _on_viewer_files_dropped(self, files: list[Path]) -> None:
        first = files[0]
        if first.suffix.lower() in IMAGE_SUFFIXES and first.is_file():
            if self.controller.frame_count == 0:
                self.show_error("Open a video before dropping exemplar images on it.")
                return
            self.controller.edits.add_exemplar_file(first)
        else:
            self.commands.open_path(first)

    # -- closing -----------------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self.commands.confirm_discard():
            event.ignore()
            return
        self.shuttle.stop()
        self.thumbnails.shutdown()
        self.exemplars.icons.shutdown()
        self.compare.shutdown()
        settings = self.controller.settings
        settings.set_window_state(self.saveGeometry(), self.saveState())
        settings.sync()
        self.controller.shutdown()
        self.autosaver.discard(self.controller.project)
        self.autosaver.close()
        self.controller.files.discard_unsaved_files()
        event.accept()

    def paste_exemplar(self) -> None:
        """Pin the clipboard's image at the current frame."""
        self.controller.edits.add_exemplar_image(QGuiApplication.clipboard().image(), name="clipboard")
