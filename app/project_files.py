"""Opening, saving and closing projects: a video, an image folder, a ``.cmnproj`` file or a restored autosave.

A project asked for replaces the open one only once its video has opened (on the frame loader's thread): a video that
cannot be opened leaves the open project exactly as it was, and ``sig_error`` says why. ``sig_opened`` hands the new
project, its frame cache and its VideoInfo to the controller, which adopts them; ``sig_file_opened`` then names
what the user opened, for Recent files.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.model.frame_cache import FrameCache, remove_cache_folder
from app.model.project import Project, ProjectError
from app.model.project_file import quoted

if TYPE_CHECKING:
    from app.model.paths import AppPaths
    from app.model.workspace import Workspace
    from app.settings import AppSettings
    from app.undo import ProjectHistory
    from colormnet.video import VideoInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingOpen:
    """A project waiting for its video to open before it replaces the current one."""

    project: Project
    cache: FrameCache
    source: Path | None  # what the user opened, for Recent files (None for a restored autosave or the demo)


def own_scratch_folder(project: Project, scratch: Path) -> Path | None:
    """The scratch folder of ``project`` when it was never saved and its files live in a folder of its own directly
    inside ``scratch`` (a restored autosave names its folder itself: never the scratch folder itself, nor a link
    leading elsewhere); None otherwise."""
    if project.path is not None:
        return None
    folder = project.files_dir.resolve()
    return folder if folder.parent == scratch.resolve() else None


def _discard_empty_scratch(project: Project, scratch: Path) -> None:
    """Remove the scratch folder made for ``project`` if nothing was put in it (its video failed to open)."""
    folder = own_scratch_folder(project, scratch)
    if folder is not None:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty


def scratch_project(settings: AppSettings, paths: AppPaths) -> Project:
    """An empty project in a new scratch folder, with the remembered engine settings."""
    project = Project.scratch(paths.scratch)
    project.settings = settings.engine_settings()
    return project


class ProjectFiles(QObject):
    """Opens projects (through the frame loader, which opens their video), saves and closes the open one.

    Args:
        workspace: The open project.
        history: The project's edit history (a save marks it saved).
        settings: The persisted settings (new projects take their engine settings and cache size).
        paths: Where scratch projects and caches go.
    """

    sig_opened = Signal(object, object)
    """A project's video opened: its PendingOpen and the VideoInfo (the controller adopts it)."""
    sig_adopt = Signal(object, object)
    """A project without a video replaces the open one at once: the project and its cache."""
    sig_file_opened = Signal(object)
    """A video, image folder or project file that the user opened is now the open project; carries its path."""
    sig_saved = Signal()
    """The project was saved (its exemplar images now live next to the project file)."""
    sig_open_video = Signal(int, str, object)
    """Asks the frame loader to open a video: a token, the path and the project's frame cache."""
    sig_close_video = Signal()
    """Asks the frame loader to close its video."""
    sig_error = Signal(str)
    """A file cannot be opened or saved; carries the one-sentence reason."""
    sig_status = Signal(str)
    """A short note for the status bar."""
    sig_replaced = Signal(object)
    """Another project took the place of the open one (after the user was asked about its changes); carries the
    project replaced."""
    sig_left_behind = Signal(list)
    """A project never saved was replaced (the user was asked about its changes first): its scratch folder and frame
    cache, which nothing reads any more, to delete."""

    def __init__(self, workspace: Workspace, history: ProjectHistory, settings: AppSettings, paths: AppPaths) -> None:
        super().__init__()
        self._workspace = workspace
        self._history = history
        self._settings = settings
        self._paths = paths
        self._opening: dict[int, PendingOpen] = {}  # open requests the frame loader has not answered, by token
        self._token = 0
        self._closed = False

    @property
    def opening(self) -> bool:
        """Whether a video asked for is still being opened (the current project stays until it has)."""
        return bool(self._opening)

    def open_video(self, path: str | Path) -> None:
        """Start a new project on a video file or image-sequence folder (the answer comes as a signal).

        The current project stays until the video has opened (``sig_opened``, then ``sig_file_opened``); when it
        cannot be opened, ``sig_error`` says why and the current project is left exactly as it was.
        """
        project = scratch_project(self._settings, self._paths)
        project.video = Path(path).resolve()
        self._request_open(project, source=Path(path))

    def open_project(self, path: str | Path) -> bool:
        """Open a ``.cmnproj`` file; False (and a message) when it cannot be read.

        True means its video is being opened: as with :meth:`open_video`, the project replaces the current one only
        once its video has opened, and a video that cannot be opened leaves the current project as it was.
        """
        project = self.read_project(path)
        if project is None:
            return False
        self.open_read_project(project, path)
        return True

    def read_project(self, path: str | Path) -> Project | None:
        """Read and check a ``.cmnproj`` file without opening it; None (and a message) when it cannot be used, so
        that nothing is asked of the user (save the current changes?) for a file that will not open."""
        try:
            project = Project.load(path)
        except ProjectError as exc:
            self.sig_error.emit(str(exc))
            return None
        except Exception as exc:  # a bug must reach the user as one message, and the open project stays
            logger.exception("opening the project %s failed", path)
            self.sig_error.emit(
                f"The project file {quoted(Path(path).name)} cannot be opened ({exc!r:.120}); see the log file."
            )
            return None
        if project.video is None or not project.video.exists():
            video = quoted(project.video)
            self.sig_error.emit(f"The project's video {video} is missing; move it back or open the video.")
            return None
        return project

    def open_read_project(self, project: Project, path: str | Path) -> None:
        """Open a project :meth:`read_project` returned from ``path`` (see :meth:`open_project`)."""
        self._request_open(project, source=Path(path))

    def adopt_project(self, project: Project) -> None:
        """Make ``project`` (for example a restored autosave) the current one once its video has opened."""
        self._request_open(project, source=None)

    def close_project(self) -> None:
        """Close the open project and its video: an empty project without a video replaces it at once, as at start.

        A video still being opened is not waited for: it is dropped, so nothing replaces the empty project.
        """
        for pending in self._opening.values():
            _discard_empty_scratch(pending.project, self._paths.scratch)
        self._opening.clear()
        self._request_open(scratch_project(self._settings, self._paths), source=None)

    def _request_open(self, project: Project, *, source: Path | None) -> None:
        cache = FrameCache(self._paths.cache, project.project_id, limit_bytes=self._settings.cache_limit_bytes)
        if project.video is None:
            self.sig_close_video.emit()
            with self._replacing():
                self.sig_adopt.emit(project, cache)
            return
        self._token += 1
        self._opening[self._token] = PendingOpen(project, cache, source)
        self.sig_status.emit(f"Opening {project.video.name}…")
        self.sig_open_video.emit(self._token, str(project.video), cache)

    def on_video_opened(self, token: int, info: VideoInfo) -> None:
        """The frame loader opened the video of the request ``token``."""
        pending = self._opening.pop(token, None)
        if pending is None:  # dropped by close_project (the loader closes the video next)
            logger.info("the frame loader opened %s after the project was closed", info.path)
            return
        with self._replacing():
            self.sig_opened.emit(pending, info)
        if pending.source is not None:
            self.sig_file_opened.emit(pending.source)

    @contextlib.contextmanager
    def _replacing(self) -> Iterator[None]:
        """Around the controller adopting another project: the one it replaced is told, and leaves its files behind
        if it was never saved."""
        old, cache = self._workspace.project, self._workspace.cache
        yield
        if self._workspace.project is old:
            return
        self.sig_replaced.emit(old)
        if old.path is None:
            if cache is not None:
                cache.drop()  # the frame a stopped run still computes must not make its folder again
            self.sig_left_behind.emit(self._unsaved_folders(old, cache))

    def _unsaved_folders(self, project: Project, cache: FrameCache | None) -> list[Path]:
        """The scratch folder and frame cache of ``project``, never saved."""
        folders = [cache.root] if cache is not None and cache.root.is_dir() else []
        scratch = own_scratch_folder(project, self._paths.scratch)
        return folders if scratch is None else [*folders, scratch]

    def on_video_open_failed(self, token: int, message: str) -> None:
        """The frame loader could not open the video of the request ``token``."""
        pending = self._opening.pop(token, None)
        if pending is not None:
            _discard_empty_scratch(pending.project, self._paths.scratch)
        self.sig_status.emit("")  # no longer "Opening …"
        self.sig_error.emit(message)

    def save_project(self, path: str | Path | None = None) -> bool:
        """Save the project (to ``path``, or where it was saved before); False (and a message) on failure."""
        project = self._workspace.project
        target = Path(path) if path is not None else project.path
        if target is None:
            self.sig_error.emit("The project has no file yet; choose where to save it.")
            return False
        try:
            project.save(target)
        except ProjectError as exc:
            self.sig_error.emit(str(exc))
            return False
        self._history.mark_saved()
        self.sig_saved.emit()
        return True

    def folders_in_use(self) -> set[Path]:
        """The files and frame-cache folders of the open project and of every project being opened."""
        used = {self._workspace.project.files_dir}
        if self._workspace.cache is not None:
            used.add(self._workspace.cache.root)
        for pending in self._opening.values():
            used |= {pending.project.files_dir, pending.cache.root}
        return used

    def close(self) -> None:
        """The program ends: nothing opens any more, and unsaved files may be discarded."""
        self._closed = True
        self._opening.clear()

    def discard_unsaved_files(self) -> None:
        """After :meth:`close`: delete the scratch folder and frame cache of a project that was never saved."""
        project = self._workspace.project
        if project.path is not None or not self._closed:
            return
        scratch = own_scratch_folder(project, self._paths.scratch)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(ValueError):  # an id that is not a plain folder name has no cache to delete
            remove_cache_folder(self._paths.cache, project.project_id)
