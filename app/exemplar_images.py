"""The exemplar images a session holds, decoded once per file version (on the session worker's thread)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from colormnet.errors import ColorMNetError

if TYPE_CHECKING:
    from app.jobs import ExemplarSpec
    from colormnet.session import Exemplar


class ExemplarImages:
    """Turns the project's exemplar specs into the session's exemplars, keeping each decoded image while it is used.

    An image is decoded again only when its file changed (its modification time); images of removed or replaced
    exemplars are let go at the next :meth:`exemplars`.
    """

    def __init__(self) -> None:
        self._images: dict[tuple[Path, int], np.ndarray] = {}

    def exemplars(
        self,
        specs: Sequence[ExemplarSpec],
        *,
        with_references: bool,
        on_error: Callable[[str], None],
        frame_count: int | None = None,
    ) -> list[Exemplar]:
        """The session's exemplars for ``specs``; one whose image cannot be read, or pinned past the film's end (a
        project opened on a shorter copy of its film), is left out and told to ``on_error``, so the others still
        colorize.

        Args:
            specs: The project's exemplars.
            with_references: Whether to hand over further reference images (only engines that take them get them).
            on_error: Called with the one-sentence reason of each exemplar left out.
            frame_count: The film's number of frames (None: not checked here).
        """
        from colormnet.exemplar import load_exemplar_image
        from colormnet.session import Exemplar

        exemplars = []
        loaded: dict[tuple[Path, int], np.ndarray] = {}
        for spec in specs:
            if frame_count is not None and not 0 <= spec.frame < frame_count:
                on_error(_past_the_end(spec, frame_count))
                continue
            try:
                paths = (spec.image, *(spec.references if with_references else ()))
                images = [self._load(path, load_exemplar_image) for path in paths]
            except ColorMNetError as exc:
                on_error(str(exc))
                continue
            loaded.update(images)
            exemplars.append(Exemplar(frame=spec.frame, image=images[0][1], kind=spec.kind,  # type: ignore[arg-type]
                                      name=spec.name, references=tuple(image for _, image in images[1:])))
        self._images = loaded
        return exemplars

    def _load(
        self, path: Path, loader: Callable[[Path], np.ndarray]
    ) -> tuple[tuple[Path, int], np.ndarray]:
        """An exemplar image (HxWx3 uint8), decoded once per file version, with its key."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        key = (path, stamp)
        image = self._images.get(key)
        return key, image if image is not None else loader(path)


def _past_the_end(spec: ExemplarSpec, frame_count: int) -> str:
    """Why the exemplar of ``spec``, pinned past the last of ``frame_count`` frames, is left out."""
    name = spec.name or f"The exemplar at frame {spec.frame}"
    return (
        f"{name} is pinned to frame {spec.frame}, past the end of the film (frames 0 to {frame_count - 1}); it is "
        "left out until you move it (Exemplars ▸ Move to Frame…) or remove it."
    )
