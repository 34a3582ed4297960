"""Project state: the video, its exemplars, in/out points and engine settings, saved as a ``.cmnproj`` JSON file.

This module is Qt-free; the controller wraps it and tells the views what changed.

A project saved as ``film.cmnproj`` keeps a copy of every exemplar image next to it in ``film_files/exemplars/``, so
it survives the originals being moved; an unsaved project keeps them in a scratch folder, copied over on the first
save. Colorized frames are not stored with the project but in a cache folder named by the project's id (see
:mod:`app.model.frame_cache`): they can be large, and their keys make them safe to share between copies of a project.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.model.engine_settings import EngineSettings
from app.model.project_file import (
    ProjectError,
    check_image_file,
    check_project_id,
    copy_into,
    engine_settings,
    find_video,
    frame_number,
    optional_frame,
    prune_images,
    read_project_data,
    relative_path,
    stored_image,
    write_project_json,
)
from app.model.shot_list import links_after_move, links_to_data, shots_to_data, stored_links, stored_shots
from colormnet.errors import ExemplarError

if TYPE_CHECKING:
    from colormnet.shots import Shot

logger = logging.getLogger(__name__)

PROJECT_SUFFIX = ".cmnproj"
FORMAT_NAME = "colormnet-studio-project"
FORMAT_VERSION = 1
KINDS = ("auto", "keyframe", "reference")

__all__ = ["PROJECT_SUFFIX", "ExemplarEntry", "Project", "ProjectError", "files_dir_for"]


@dataclass
class ExemplarEntry:
    """One exemplar of the project."""

    frame: int
    image: Path  # the copy inside the project's exemplars folder
    kind: str = "auto"  # auto | keyframe | reference
    name: str = ""  # where the image came from, shown in the panel
    references: list[Path] = field(default_factory=list)  # further references (copies), deepexemplar engine only


@dataclass
class Project:
    """The state a restorer saves: which film, which exemplars where, and how to colorize it.

    Args:
        files_dir: Folder holding the exemplar image copies.
    """

    files_dir: Path
    project_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    path: Path | None = None
    video: Path | None = None
    frame_count: int | None = None
    exemplars: list[ExemplarEntry] = field(default_factory=list)
    settings: EngineSettings = field(default_factory=EngineSettings)
    in_point: int | None = None
    out_point: int | None = None
    playhead: int = 0
    dirty: bool = False
    left_out: list[str] = field(default_factory=list)  # exemplar images the file named outside its folder
    shots: list[Shot] | None = None  # the film's shots as found or edited (None: not known yet)
    shot_links: dict[int, int] = field(default_factory=dict)  # shot's first frame -> exemplar frame, chosen by hand

    @classmethod
    def scratch(cls, scratch_root: Path) -> Project:
        """A new unsaved project whose files live in a fresh folder under ``scratch_root``."""
        files_dir = scratch_root / uuid.uuid4().hex[:12]
        files_dir.mkdir(parents=True, exist_ok=True)
        return cls(files_dir=files_dir)

    @property
    def exemplars_dir(self) -> Path:
        """Folder holding the exemplar image copies."""
        return self.files_dir / "exemplars"

    @property
    def title(self) -> str:
        """Name shown in the window title."""
        if self.path is not None:
            return self.path.stem
        return self.video.name if self.video is not None else "Untitled"

    # -- exemplars ---------------------------------------------------------------------------------------------

    def exemplar_at(self, frame: int) -> ExemplarEntry | None:
        """The exemplar pinned at ``frame``, if any."""
        return next((e for e in self.exemplars if e.frame == frame), None)

    def new_image_path(self, suffix: str = ".png") -> Path:
        """A fresh file name inside the exemplars folder (the folder is created)."""
        self.exemplars_dir.mkdir(parents=True, exist_ok=True)
        return self.exemplars_dir / f"exemplar_{uuid.uuid4().hex[:10]}{suffix.lower()}"

    def add_exemplar(
        self, frame: int, image: Path, *, kind: str = "auto", name: str = "", copy: bool = True
    ) -> ExemplarEntry:
        """Pin an image at ``frame``.

        Args:
            frame: Frame index.
            image: The image file; copied into the project unless ``copy`` is False (already inside it).
            kind: auto | keyframe | reference.
            name: Label shown in the panel (defaults to the file name).

        Raises:
            ExemplarError: The frame is outside the video or already has an exemplar.
        """
        self._check_frame(frame)
        if self.exemplar_at(frame) is not None:
            raise ExemplarError(f"Frame {frame} already has an exemplar; replace its image or pick another frame.")
        entry = ExemplarEntry(frame, self._adopt(image, copy), _check_kind(kind), name or Path(image).name)
        self.exemplars.append(entry)
        self.exemplars.sort(key=lambda e: e.frame)
        self.dirty = True
        return entry

    def replace_image(self, frame: int, image: Path, *, name: str = "", copy: bool = True) -> ExemplarEntry:
        """Swap the image of the exemplar at ``frame`` (its kind is kept)."""
        entry = self._require(frame)
        entry.image = self._adopt(image, copy)
        entry.name = name or Path(image).name
        self.dirty = True
        return entry

    def add_reference(self, frame: int, image: Path, *, copy: bool = True) -> ExemplarEntry:
        """Give the exemplar at ``frame`` a further reference image (matched jointly by the deepexemplar engine).

        Raises:
            ExemplarError: There is no exemplar at ``frame``.
        """
        entry = self._require(frame)
        entry.references.append(self._adopt(image, copy))
        self.dirty = True
        return entry

    def move_exemplar(self, frame: int, new_frame: int) -> ExemplarEntry:
        """Move the exemplar at ``frame`` to ``new_frame``.

        Raises:
            ExemplarError: ``new_frame`` is outside the video or already has an exemplar.
        """
        entry = self._require(frame)
        if new_frame == frame:
            return entry
        self._check_frame(new_frame)
        if self.exemplar_at(new_frame) is not None:
            raise ExemplarError(f"Frame {new_frame} already has an exemplar; remove it first or pick another frame.")
        entry.frame = new_frame
        self.exemplars.sort(key=lambda e: e.frame)
        self.shot_links = links_after_move(self.shots, self.shot_links, frame, new_frame)
        self.dirty = True
        return entry

    def remove_exemplar(self, frame: int) -> ExemplarEntry:
        """Remove the exemplar at ``frame`` (its image copy stays until the project is saved)."""
        entry = self._require(frame)
        self.exemplars.remove(entry)
        self.shot_links = links_after_move(self.shots, self.shot_links, frame, None)
        self.dirty = True
        return entry

    def set_kind(self, frame: int, kind: str) -> ExemplarEntry:
        """Choose how the exemplar at ``frame`` is used: auto, keyframe or reference."""
        entry = self._require(frame)
        entry.kind = _check_kind(kind)
        self.dirty = True
        return entry

    def set_in_out(self, in_point: int | None, out_point: int | None) -> None:
        """Set the in and out points (inclusive frame indices; None clears one)."""
        if in_point is not None and out_point is not None and out_point < in_point:
            in_point, out_point = out_point, in_point
        self.in_point, self.out_point = in_point, out_point
        self.dirty = True

    def export_range(self) -> tuple[int, int]:
        """Frames ``[start, stop)`` between the in and out points (the whole video when unset)."""
        count = self.frame_count or 0
        start = self.in_point if self.in_point is not None else 0
        stop = self.out_point + 1 if self.out_point is not None else count
        return max(0, min(start, count)), max(0, min(stop, count))

    # -- files -------------------------------------------------------------------------------------------------

    def to_dict(self, *, portable: bool = True) -> dict[str, Any]:
        """The project as JSON-ready data.

        Args:
            portable: Store exemplar images relative to the files folder (a saved project); otherwise absolute
                paths plus the files folder and project path (an autosave).
        """
        base = self.path.parent if self.path is not None else None
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "id": self.project_id,
            "video": str(self.video) if self.video is not None else None,
            "video_relative": relative_path(self.video, base) if self.video is not None and base is not None else None,
            "exemplars": [
                {
                    "frame": e.frame,
                    "image": self._stored_path(e.image, portable),
                    "kind": e.kind,
                    "name": e.name,
                    "references": [self._stored_path(r, portable) for r in e.references],
                }
                for e in self.exemplars
            ],
            "settings": self.settings.to_dict(),
            "in_point": self.in_point,
            "out_point": self.out_point,
            "playhead": self.playhead,
            "shots": shots_to_data(self.shots) if self.shots is not None else None,
            "shot_links": links_to_data(self.shot_links),
        }
        if not portable:
            data["files_dir"] = str(self.files_dir)
            data["project_path"] = str(self.path) if self.path is not None else None
        return data

    def _stored_path(self, image: Path, portable: bool) -> str:
        return image.relative_to(self.files_dir).as_posix() if portable else str(image)

    def save(self, path: str | Path) -> None:
        """Write the project to ``path`` (a ``.cmnproj`` file), copying its exemplar images next to it.

        Raises:
            ProjectError: The file or its folder cannot be written, or an exemplar image to copy is not an image.
        """
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        files_dir = files_dir_for(path)
        try:
            if files_dir.resolve() != self.files_dir.resolve():
                self._move_files(files_dir)
            self.path = path.resolve()
            write_project_json(path, self.to_dict(portable=True))
            used = {image.resolve() for e in self.exemplars for image in (e.image, *e.references)}
            prune_images(self.files_dir, self.exemplars_dir, used)  # only once the new file no longer refers to them
        except OSError as exc:
            raise ProjectError(
                f"Cannot save the project to {path} ({exc.strerror or exc}); choose another folder."
            ) from exc
        self.dirty = False

    @classmethod
    def load(cls, path: str | Path) -> Project:
        """Open a ``.cmnproj`` file (untrusted input: see :mod:`app.model.project_file`).

        Its exemplar images are taken only from its own files folder (``film_files`` next to ``film.cmnproj``);
        those it names elsewhere are left out and listed in :attr:`left_out`.

        Raises:
            ProjectError: The file is missing, not a project, damaged, or from a newer version.
        """
        path = Path(path).absolute()
        data = read_project_data(path)
        path = path.resolve()
        project = cls.from_dict(data, files_dir=files_dir_for(path), base=path.parent)
        project.path = path
        return project

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, files_dir: Path, base: Path | None) -> Project:
        """Build a project from :meth:`to_dict` data, checking every value.

        Args:
            data: The stored project.
            files_dir: The project's files folder; exemplar images elsewhere are left out (see :attr:`left_out`).
            base: The folder of the project file, where a moved film is looked for (None for an autosave).

        Raises:
            ProjectError: The data is not a project of a version this program reads, or a value is damaged.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ProjectError("This file is not a ColorMNet Studio project; open a .cmnproj file.")
        version = data.get("version") or 0
        if not isinstance(version, int):
            raise ProjectError("The project file is damaged: its version is not a number.")
        if version > FORMAT_VERSION:
            raise ProjectError("This project was saved by a newer ColorMNet Studio; update the program to open it.")
        try:
            return cls._build(data, files_dir=files_dir, base=base)
        except ProjectError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OSError, ExemplarError) as exc:
            raise ProjectError("The project file is damaged: a value has the wrong form.") from exc

    @classmethod
    def _build(cls, data: dict[str, Any], *, files_dir: Path, base: Path | None) -> Project:
        project = cls(files_dir=files_dir)
        if data.get("id") is not None:  # the files of the earliest versions may lack it: they get a new one
            project.project_id = check_project_id(data["id"])
        project.video = find_video(data, base)
        items = data.get("exemplars") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ProjectError("The project's exemplar list is damaged; re-add the exemplars.")
        for entry in map(project._stored_exemplar, items):
            if entry is not None and project.exemplar_at(entry.frame) is not None:
                raise ProjectError(f"The project file is damaged: it has two exemplars at frame {entry.frame}.")
            if entry is not None:
                project.exemplars.append(entry)
        project.exemplars.sort(key=lambda e: e.frame)
        project.settings = engine_settings(data.get("settings"))
        project.in_point = optional_frame(data.get("in_point"), "in point")
        project.out_point = optional_frame(data.get("out_point"), "out point")
        project.playhead = optional_frame(data.get("playhead"), "playhead") or 0
        project.shots = stored_shots(data.get("shots"))
        project.shot_links = stored_links(data.get("shot_links"), project.shots, (e.frame for e in project.exemplars))
        return project

    # -- internals ---------------------------------------------------------------------------------------------

    def _stored_exemplar(self, item: dict[str, Any]) -> ExemplarEntry | None:
        """The exemplar of a stored item; None when its image lies outside the files folder (see left_out)."""
        references = item.get("references") or []
        if not isinstance(references, list):
            raise ProjectError("The project's exemplar list is damaged; re-add the exemplars.")
        image = self._stored_image(item["image"])
        kept = [ref for ref in map(self._stored_image, references) if ref is not None]
        if image is None:
            return None
        name = item.get("name", "")
        frame = frame_number(item.get("frame"), "exemplar frame")
        return ExemplarEntry(
            frame, image, _check_kind(item.get("kind", "auto")), name if isinstance(name, str) else "", kept
        )

    def _stored_image(self, stored: Any) -> Path | None:
        """The stored image inside the files folder, or None (and a note in :attr:`left_out`) when it is outside."""
        image = stored_image(stored, self.files_dir)
        if image is None:
            self.left_out.append(str(stored))
        return image

    def _require(self, frame: int) -> ExemplarEntry:
        entry = self.exemplar_at(frame)
        if entry is None:
            raise ExemplarError(f"There is no exemplar at frame {frame}.")
        return entry

    def _check_frame(self, frame: int) -> None:
        if frame < 0 or (self.frame_count is not None and frame >= self.frame_count):
            last = (self.frame_count or 1) - 1
            raise ExemplarError(f"Frame {frame} is outside the video; pick a frame from 0 to {last}.")

    def _adopt(self, image: Path, copy: bool) -> Path:
        image = Path(image)
        if not copy:
            return image
        target = self.new_image_path(image.suffix or ".png")
        shutil.copy2(image, target)
        return target

    def _move_files(self, files_dir: Path) -> None:
        """Copy the exemplar images into ``files_dir``, each checked first: nothing is copied if one is not an image."""
        for image in {image for e in self.exemplars for image in (e.image, *e.references)}:
            check_image_file(image)
        files_dir.mkdir(parents=True, exist_ok=True)
        new_exemplars = files_dir / "exemplars"
        new_exemplars.mkdir(exist_ok=True)
        for entry in self.exemplars:
            entry.image = copy_into(entry.image, new_exemplars)
            entry.references = [copy_into(image, new_exemplars) for image in entry.references]
        self.files_dir = files_dir


def files_dir_for(project_path: Path) -> Path:
    """The folder holding a saved project's files (``film.cmnproj`` -> ``film_files``)."""
    return project_path.with_name(project_path.stem + "_files")


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ExemplarError(f"Unknown exemplar kind {kind!r}; use auto, keyframe or reference.")
    return kind
