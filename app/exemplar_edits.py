"""Exemplar editing for the controller: add (file, clipboard, pinned frame), replace, move, remove, change kind.

Every edit checks the image first (unreadable and grayscale images are refused with the library's one-sentence
message), changes the project, and then calls ``_exemplars_changed`` so the session gets the new list. A failed
edit leaves the project untouched and reports the message through ``sig_error``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

from app.png_codec import encode_png
from colormnet.errors import ColorMNetError, ExemplarError

if TYPE_CHECKING:
    from app.frame_cache import FrameCache
    from app.project import Project

logger = logging.getLogger(__name__)


def check_exemplar_image(path: Path) -> None:
    """Raise ExemplarError when ``path`` cannot serve as an exemplar (unreadable or grayscale)."""
    from colormnet.exemplar import load_exemplar_image

    load_exemplar_image(path)


class ExemplarEdits:
    """Mixin of the controller holding the exemplar operations."""

    project: Project
    cache: FrameCache | None
    current_frame: int

    def _exemplars_changed(self) -> None:
        raise NotImplementedError

    def key_at(self, frame: int) -> str:
        raise NotImplementedError

    def _report(self, exc: ColorMNetError) -> None:
        self.sig_error.emit(str(exc))  # type: ignore[attr-defined]

    def add_exemplar_file(self, path: str | Path, frame: int | None = None, *, kind: str = "auto") -> bool:
        """Pin the image file at ``path`` at ``frame`` (the playhead by default); False when refused."""
        frame = self.current_frame if frame is None else frame
        try:
            check_exemplar_image(Path(path))
            self.project.add_exemplar(frame, Path(path), kind=kind)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        except OSError as exc:
            self._report(ExemplarError(f"Cannot copy {Path(path).name} into the project ({exc.strerror or exc})."))
            return False
        self._exemplars_changed()
        return True

    def add_exemplar_image(self, image: QImage, frame: int | None = None, *, name: str = "clipboard") -> bool:
        """Pin an in-memory image (from the clipboard or a drop) at ``frame``; False when refused."""
        frame = self.current_frame if frame is None else frame
        if image.isNull():
            self._report(ExemplarError("The clipboard holds no image; copy an image first."))
            return False
        if self.project.exemplar_at(frame) is not None:
            self._report(
                ExemplarError(f"Frame {frame} already has an exemplar; replace its image or pick another frame.")
            )
            return False
        path = self.project.new_image_path(".png")
        if not image.save(str(path), "PNG"):
            self._report(ExemplarError("The image cannot be saved into the project; check the disk space."))
            return False
        try:
            check_exemplar_image(path)
            self.project.add_exemplar(frame, path, name=name, copy=False)
        except ColorMNetError as exc:
            path.unlink(missing_ok=True)
            self._report(exc)
            return False
        self._exemplars_changed()
        return True

    def pin_current_frame(self) -> bool:
        """Pin the colorized frame under the playhead as a keyframe exemplar; False when it is not colorized."""
        frame = self.current_frame
        key = self.key_at(frame)
        rgb = self.cache.get(key, frame) if self.cache is not None and key else None
        if rgb is None:
            self._report(ExemplarError(f"Frame {frame} is not colorized yet; colorize it before pinning it."))
            return False
        if self.project.exemplar_at(frame) is not None:
            self._report(ExemplarError(f"Frame {frame} already has an exemplar; its colours come from it."))
            return False
        path = self.project.new_image_path(".png")
        path.write_bytes(encode_png(rgb))
        self.project.add_exemplar(frame, path, kind="keyframe", name=f"frame {frame}", copy=False)
        self._exemplars_changed()
        return True

    def replace_exemplar(self, frame: int, path: str | Path) -> bool:
        """Swap the image of the exemplar at ``frame`` for the file at ``path``; False when refused."""
        try:
            check_exemplar_image(Path(path))
            self.project.replace_image(frame, Path(path))
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self._exemplars_changed()
        return True

    def move_exemplar(self, frame: int, new_frame: int) -> bool:
        """Move the exemplar at ``frame`` to ``new_frame``; False when refused."""
        try:
            self.project.move_exemplar(frame, new_frame)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self._exemplars_changed()
        return True

    def remove_exemplar(self, frame: int) -> bool:
        """Remove the exemplar at ``frame``; False when there is none."""
        try:
            self.project.remove_exemplar(frame)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self._exemplars_changed()
        return True

    def set_exemplar_kind(self, frame: int, kind: str) -> bool:
        """Use the exemplar at ``frame`` as ``kind`` (auto, keyframe or reference); False when refused."""
        entry = self.project.exemplar_at(frame)
        if entry is not None and entry.kind == kind:
            return True
        try:
            self.project.set_kind(frame, kind)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self._exemplars_changed()
        return True
