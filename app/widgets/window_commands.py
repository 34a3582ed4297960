"""The main window's commands that ask the user something: files, recent files, save, export, settings, weights,
help, and the exemplar edits that need an image or a frame picked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.icons import icon
from app.model.paths import a_place_to_write, user_folder
from app.model.project import PROJECT_SUFFIX, Project
from app.widgets import project_questions

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMainWindow, QMenu

    from app.autosave import AutosaveWriter
    from app.controller import Controller
    from app.widgets.exemplar_panel import ExemplarPanel
    from app.widgets.export_dialog import ExportDialog
    from app.widgets.settings_dialog import SettingsDialog
    from app.widgets.weights_dialog import WeightsDialog

logger = logging.getLogger(__name__)

VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.ogv *.webm *.m4v *.mxf *.mpg *.mpeg);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;All files (*)"
PROJECT_FILTER = f"ColorMNet Studio projects (*{PROJECT_SUFFIX})"
SAVED_NOTE_MS = 5000  # how long "Saved film.cmnproj." stays in the status bar


class WindowCommands:
    """The commands of the main window that open a dialog, a file chooser or a question.

    Args:
        window: The main window (the parent of every dialog).
        controller: The application controller.
        actions: The window's actions by name (the commands connect to theirs).
        recent_menu: The Open Recent menu (filled each time it opens).
        exemplars: The exemplar panel (its selection is what the exemplar commands act on).
        autosaver: Writes the recovery copy (a saved project has none).
        show_error: Shows a one-sentence message to the user.
        move_exemplar: Moves an exemplar from one frame to another as the timeline's markers do (a keyframe moved
            off its frame becomes a reference); True when applied.
    """

    def __init__(
        self,
        window: QMainWindow,
        controller: Controller,
        actions: dict[str, QAction],
        recent_menu: QMenu,
        exemplars: ExemplarPanel,
        autosaver: AutosaveWriter,
        show_error: Callable[[str], None],
        move_exemplar: Callable[[int, int], bool],
    ) -> None:
        self._window = window
        self.controller = controller
        self.recent_menu = recent_menu
        self.exemplars = exemplars
        self.autosaver = autosaver
        self.show_error = show_error
        self._move_exemplar = move_exemplar
        self.weights_dialog: WeightsDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.export_dialog: ExportDialog | None = None
        a = actions
        triggers: dict[str, Callable[[], object]] = {
            "open_video": self.open_video_dialog,
            "open_folder": self.open_folder_dialog,
            "open_project": self.open_project_dialog,
            "close_project": self.close_project,
            "save": self.save_project,
            "save_as": self.save_project_as,
            "export": self.show_export_dialog,
            "settings": self.show_settings_dialog,
            "weights": self.show_weights_settings,
            "add_exemplar": self.add_exemplar_from_file,
            "replace_exemplar": self.replace_selected_exemplar,
            "add_reference": self.add_reference_to_selected_exemplar,
            "move_exemplar": self.move_selected_exemplar,
            "remove_exemplar": self.remove_selected_exemplar,
            "log": self.show_log,
            "about": self.show_about,
        }
        for name, slot in triggers.items():
            a[name].triggered.connect(slot)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        controller.files.sig_file_opened.connect(self._on_files_file_opened)
        controller.files.sig_replaced.connect(self._on_files_replaced)

    # -- opening -----------------------------------------------------------------------------------------------

    def open_path(self, path: Path) -> None:
        """Open a video file, an image-sequence folder or a project, whichever ``path`` is.

        The open project stays until the new one's video has opened; ``path`` joins Recent files only then (see
        :meth:`_on_files_file_opened`). When it cannot be opened, a message says why and nothing changes.
        """
        path = Path(path)  # what cannot be opened is said before the current project's changes are asked about
        files = self.controller.files
        if path.suffix == PROJECT_SUFFIX:
            project = files.read_project(path)
            if project is not None and self.confirm_discard():
                files.open_read_project(project, path)
        elif not path.exists():
            self.show_error(f"{path} does not exist; check the path.")
        elif self.confirm_discard():
            files.open_video(path)

    def close_project(self) -> None:
        """Close the film and its project, after what opening another asks; the window is empty again, as at start.

        The project stays in Recent files; its recovery copy goes, as when the program quits.
        """
        if self.confirm_discard():
            self.controller.files.close_project()

    def _on_files_replaced(self, project: Project) -> None:
        self.autosaver.discard(project)  # or the next start would offer it as after a crash

    def _on_files_file_opened(self, path: Path) -> None:
        self.controller.settings.add_recent(path)

    def open_video_dialog(self) -> None:
        """Ask for a video file and open it."""
        chosen = self._ask_file("video", "Open video", VIDEO_FILTER)
        if chosen is not None:
            self.open_path(chosen)

    def open_folder_dialog(self) -> None:
        """Ask for an image-sequence folder and open it."""
        chosen = QFileDialog.getExistingDirectory(self._window, "Open image sequence", self._start_folder("video"))
        if chosen:
            self.controller.settings.set_last_folder("video", Path(chosen).parent)
            self.open_path(Path(chosen))

    def open_project_dialog(self) -> None:
        """Ask for a project file and open it."""
        chosen = self._ask_file("project", "Open project", PROJECT_FILTER)
        if chosen is not None:
            self.open_path(chosen)

    def _start_folder(self, kind: str) -> str:
        """Where a file dialog of ``kind`` opens: the folder last chosen from, else the project's or the film's."""
        remembered = self.controller.settings.last_folder(kind)
        if remembered is not None:
            return str(remembered)
        project = self.controller.project
        near = project.path or project.video
        return str(near.parent) if near is not None else ""

    def _ask_file(self, kind: str, title: str, filters: str) -> Path | None:
        """A file the user picks to open, the dialog starting in :meth:`_start_folder`; its folder is remembered for
        the next dialog of ``kind``. None when the user cancels."""
        chosen, _ = QFileDialog.getOpenFileName(self._window, title, self._start_folder(kind), filters)
        if not chosen:
            return None
        self.controller.settings.set_last_folder(kind, Path(chosen).parent)
        return Path(chosen)

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        menu.setToolTipsVisible(True)  # the whole path of each entry
        recent = self.controller.settings.recent_files()
        for path, label in zip(recent, project_questions.recent_labels(recent), strict=True):
            action = menu.addAction(icon("open_project" if path.suffix == PROJECT_SUFFIX else "open_video"), label)
            action.setToolTip(str(path))
            action.triggered.connect(lambda checked=False, p=path: self.open_recent(p))
        if not recent:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction(icon("clear_in_out"), "Clear list", self.controller.settings.clear_recent)

    def open_recent(self, path: Path) -> None:
        """Open a recent file; one that is no longer there is offered for removal from the list instead (it is not
        looked for as the menu opens: a drive that is not connected could keep the menu from opening)."""
        if path.exists():
            self.open_path(path)
            return
        answer = QMessageBox.question(
            self._window,
            "Not found",
            f"{path} is no longer there: moved, renamed, or on a drive that is not connected.\n\n"
            "Remove it from Recent files?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.settings.remove_recent(path)

    # -- saving ------------------------------------------------------------------------------------------------

    def save_project(self) -> bool:
        """Save the project where it was saved before, or ask where."""
        if self.controller.project.path is None:
            return self.save_project_as()
        return self._save(self.controller.project.path)

    def save_project_as(self) -> bool:
        """Ask where to save the project and save it there."""
        project = self.controller.project
        name = project.video.with_suffix(PROJECT_SUFFIX).name if project.video else "untitled.cmnproj"
        folder = self.controller.settings.last_folder("project") or (project.video.parent if project.video else None)
        if folder is None or not a_place_to_write(folder):  # read-only media, a drive gone, the bundled demo clip
            folder = user_folder("documents")
        suggestion = str(project.path or folder / name)
        chosen, _ = QFileDialog.getSaveFileName(self._window, "Save project", suggestion, PROJECT_FILTER)
        if chosen:
            self.controller.settings.set_last_folder("project", Path(chosen).parent)
        return bool(chosen) and self._save(Path(chosen))

    def _save(self, path: Path) -> bool:
        if not self.controller.files.save_project(path):
            return False
        self.autosaver.discard(self.controller.project)
        saved = self.controller.project.path or path
        self.controller.settings.add_recent(saved)
        self._window.statusBar().showMessage(f"Saved {saved.name}.", SAVED_NOTE_MS)  # a window title may not show
        return True

    def write_autosave(self) -> None:
        """Write a snapshot of the project now when it has unsaved changes, and wait for it."""
        self.autosaver.write_now()
        self.autosaver.wait()

    def confirm_discard(self) -> bool:
        """The open project goes away: offer to stop the run that goes on and to save unsaved changes; False when the
        user cancels."""
        if not project_questions.confirm_stop_run(self._window, self.controller):
            return False
        project = self.controller.project
        if not project.dirty or project.video is None:
            return True
        answer = QMessageBox.question(
            self._window,
            "Unsaved changes",
            f"Save the changes to {project.title}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save_project()
        return answer == QMessageBox.StandardButton.Discard

    def offer_restore(self) -> bool:
        """After a crash, offer to restore the autosaved projects; True when one was restored."""
        return project_questions.offer_restore(self._window, self.controller, self.show_error)

    # -- dialogs -----------------------------------------------------------------------------------------------

    def show_export_dialog(self) -> None:
        """Open the export dialog."""
        from app.widgets.export_dialog import ExportDialog

        if self.controller.frame_count == 0:
            self.show_error("Open a video before exporting.")
            return
        dialog = ExportDialog(self.controller, self._window)
        dialog.open()
        self.export_dialog = dialog

    def show_settings_dialog(self) -> None:
        """Open the settings dialog and apply what the user accepts."""
        from app.widgets.settings_dialog import SettingsDialog
        from app.widgets.weights_section import WeightsSection

        c = self.controller
        dialog = SettingsDialog(c.project.settings, c.settings.cache_limit_bytes, c.engine.available_engines,
                                self._window, running=c.engine.status().running_note(),
                                devices=c.engine.available_devices)
        dialog.add_weights(WeightsSection(c))

        def apply() -> None:
            c.settings.cache_limit_bytes = dialog.cache_limit_bytes()
            if c.cache is not None:
                c.cache.set_limit(dialog.cache_limit_bytes())
            c.edits.set_engine_settings(dialog.engine_settings())

        dialog.accepted.connect(apply)
        dialog.open()
        self.settings_dialog = dialog

    def show_weights_settings(self) -> None:
        """Settings, with the ColorMNet weights section in focus (File ▸ ColorMNet Weights…)."""
        self.show_settings_dialog()
        if self.settings_dialog is not None and self.settings_dialog.weights is not None:
            self.settings_dialog.weights.setFocus()

    def show_weights_dialog(self, reason: str) -> None:
        """Explain that the weights are missing and offer to download or locate them (not modal)."""
        from app.widgets.weights_dialog import WeightsDialog

        quiet = self.controller.engine.fallback_active and not self.controller.settings.offer_weights
        if quiet and (self.weights_dialog is None or not self.weights_dialog.isVisible()):
            logger.info("weights missing, not offered (the user asked not to): %s", reason)
            return
        if self.weights_dialog is None:
            self.weights_dialog = WeightsDialog(self.controller, reason, self._window)
        else:
            self.weights_dialog.set_reason(reason)
        self.weights_dialog.show()
        self.weights_dialog.raise_()

    def show_log(self) -> None:
        """Show the log file."""
        from app.widgets.help_dialogs import LogDialog

        LogDialog(self.controller.paths.log_file, self._window).open()

    def show_about(self) -> None:
        """Show versions and the weights' licence."""
        from app.widgets.help_dialogs import AboutDialog

        engine = self.controller.engine
        AboutDialog(engine_loaded=engine.engine_ready, device=engine.device, weights_random=engine.weights_are_random,
                    parent=self._window).open()

    # -- exemplars ---------------------------------------------------------------------------------------------

    def add_exemplar_from_file(self) -> None:
        """Ask for an image and pin it at the current frame."""
        chosen = self._ask_file("image", "Add exemplar", IMAGE_FILTER)
        if chosen is not None:
            self.controller.edits.add_exemplar_file(chosen)

    def replace_selected_exemplar(self) -> None:
        """Ask for an image and swap it into the selected exemplar."""
        chosen = self._ask_image_for_selected("Replace the exemplar at frame {frame}")
        if chosen is not None:
            self.controller.edits.replace_exemplar(*chosen)

    def add_reference_to_selected_exemplar(self) -> None:
        """Ask for an image and give it to the selected exemplar as a further reference."""
        chosen = self._ask_image_for_selected("Add a reference image to the exemplar at frame {frame}")
        if chosen is not None:
            self.controller.edits.add_reference_file(*chosen)

    def _ask_image_for_selected(self, title: str) -> tuple[int, Path] | None:
        """The selected exemplar's frame and an image the user picks for it (``title`` names ``{frame}``)."""
        frame = self.exemplars.selected_frame()
        if frame is None:
            return None
        chosen = self._ask_file("image", title.format(frame=frame), IMAGE_FILTER)
        return (frame, chosen) if chosen is not None else None

    def move_selected_exemplar(self) -> None:
        """Ask for a frame and move the selected exemplar there."""
        frame = self.exemplars.selected_frame()
        if frame is None:
            return
        last = max(0, self.controller.frame_count - 1)
        new_frame, ok = QInputDialog.getInt(
            self._window,
            "Move exemplar",
            f"Move the exemplar at frame {frame} to frame:",
            self.controller.current_frame,
            0,
            last,
        )
        if ok and self._move_exemplar(frame, new_frame):
            self.exemplars.select_frame(new_frame)

    def remove_selected_exemplar(self) -> None:
        """Remove the selected exemplar."""
        frame = self.exemplars.selected_frame()
        if frame is not None:
            self.controller.edits.remove_exemplar(frame)
