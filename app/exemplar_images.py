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
        self, specs: Sequence[ExemplarSpec], *, with_references: bool, on_error: Callable[[str], None]
    ) -> list[Exemplar]:
        """The session's exemplars for ``specs``; one whose image cannot be read is left out, and told to ``on_error``.

        Args:
            specs: The project's exemplars.
            with_references: Whether to hand over further reference images (only engines that take them get them).
            on_error: Called with the one-sentence reason of each exemplar left out.
        """
        from colormnet.exemplar import load_exemplar_image
        from colormnet.session import Exemplar

        exemplars = []
        loaded: dict[tuple[Path, int], np.ndarray] = {}
        for spec in specs:
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
