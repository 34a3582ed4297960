"""The command line's exemplar grammar, parsed once: ``-e IMAGE@FRAME[:KIND]`` and ``--extra-reference IMAGE@FRAME``.

Each argument becomes one :class:`ExemplarSpec` (image file, frame, kind and the further references pinned at the
same frame); every later use (the inputs an output must never replace, decoding the images, the export's record)
reads that object instead of the text. Nothing here opens a file: the paths are checked where they are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from colormnet.errors import ExemplarError, quote_path, shorten

KINDS = ("auto", "keyframe", "reference")
"""What an exemplar is: ``keyframe`` (its frame colorized), ``reference`` (any colour photo) or ``auto`` (decided)."""

ExemplarKind = Literal["auto", "keyframe", "reference"]

MAX_FRAME_NUMBER = 99_999_999
"""Highest frame an exemplar may be pinned to: 48 days of film at 24 frames per second; more is a typing slip."""

_FRAME = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ExemplarSpec:
    """One ``-e`` argument, with the ``--extra-reference`` images pinned at its frame.

    Attributes:
        image: the colour image's path (not checked).
        frame: the frame it is pinned to.
        kind: ``auto``, ``keyframe`` or ``reference``.
        references: further colour images matched jointly with it, in the order given.
    """

    image: Path
    frame: int
    kind: ExemplarKind = "auto"
    references: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file this exemplar reads: its image, then its references."""
        return (self.image, *self.references)


def parse_image_at_frame(text: str) -> tuple[Path, int]:
    """Splits ``IMAGE@FRAME``; the last '@' separates, as paths may contain '@'.

    Args:
        text: e.g. ``"colour/shot@2x.png@120"``.

    Returns:
        The image path (not checked) and the frame index (0 to ``MAX_FRAME_NUMBER``).

    Raises:
        ExemplarError: no '@', an empty path, a frame that is not a non-negative integer, or one above
            ``MAX_FRAME_NUMBER``.
    """
    image, separator, frame = text.rpartition("@")
    frame = frame.strip()
    if not separator or not image or not _FRAME.fullmatch(frame):
        raise ExemplarError(
            f"Expected IMAGE@FRAME with FRAME a frame number of 0 or more, got {shorten(quote_path(text))}."
        )
    digits = frame.lstrip("0")
    if len(digits) > len(str(MAX_FRAME_NUMBER)) or int(digits or "0") > MAX_FRAME_NUMBER:
        raise ExemplarError(
            f"Frame {shorten(frame)} in {shorten(quote_path(text))} is beyond any video: frame numbers go up to "
            f"{MAX_FRAME_NUMBER}."
        )
    return Path(image), int(digits or "0")


def parse_exemplar(text: str, default_kind: str = "auto") -> ExemplarSpec:
    """``IMAGE@FRAME[:KIND]`` -> an :class:`ExemplarSpec`; without ``:KIND`` (or with a ':' that starts none, as
    in ``c:/x.png@3``) the kind is ``default_kind``.

    Raises:
        ExemplarError: the ``IMAGE@FRAME`` part is malformed (see :func:`parse_image_at_frame`), or
            ``default_kind`` is no kind.
    """
    head, separator, tail = text.rpartition(":")
    after_at = head.rpartition("@")[2].strip()
    if separator and tail not in KINDS and tail.strip().isalpha() and "@" in head and _FRAME.fullmatch(after_at):
        raise ExemplarError(f"Unknown exemplar kind {shorten(quote_path(tail))} in {shorten(quote_path(text))}: "
                            f"choose one of {', '.join(KINDS)}.")
    body, kind = (head, tail) if separator and tail in KINDS and "@" in head else (text, default_kind)
    if kind not in KINDS:
        raise ExemplarError(f"Unknown exemplar kind {shorten(quote_path(kind))}: choose one of {', '.join(KINDS)}.")
    image, frame = parse_image_at_frame(body)
    return ExemplarSpec(image, frame, cast(ExemplarKind, kind))


def parse_exemplars(
    exemplars: Sequence[str], extra_references: Sequence[str] = (), default_kind: str = "auto"
) -> list[ExemplarSpec]:
    """The ``-e`` and ``--extra-reference`` arguments, each parsed once, the references joined to their exemplar.

    Args:
        exemplars: ``IMAGE@FRAME[:KIND]`` texts, in the order given.
        extra_references: ``IMAGE@FRAME`` texts; each joins the exemplar pinned to its frame.
        default_kind: the kind of an exemplar without ``:KIND`` (``--kind``).

    Raises:
        ExemplarError: a malformed argument, or an extra reference at a frame that has no exemplar.
    """
    grouped: dict[int, list[Path]] = {}
    for text in extra_references:
        path, frame = parse_image_at_frame(text)
        grouped.setdefault(frame, []).append(path)
    specs = []
    for text in exemplars:
        spec = parse_exemplar(text, default_kind)
        specs.append(ExemplarSpec(spec.image, spec.frame, spec.kind, tuple(grouped.pop(spec.frame, ()))))
    if grouped:
        frame = min(grouped)
        raise ExemplarError(f"--extra-reference {quote_path(grouped[frame][0])}@{frame}: no -e exemplar is pinned "
                            f"to frame {frame}.")
    return specs
