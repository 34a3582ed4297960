"""The library's error types.

Every failure a user can cause (a bad file, a missing checkpoint, a frame index out of range) is raised as a
:class:`ColorMNetError` subclass whose message is one sentence that says what is wrong and, where it helps, what to
do. The CLI prints that message alone and the GUI shows it in a dialog; anything else is a bug.
"""

from __future__ import annotations

import os


class ColorMNetError(Exception):
    """Base class of every error the library raises on purpose."""


class WeightsError(ColorMNetError):
    """A checkpoint is missing, unreadable, truncated, or belongs to another model.

    Attributes:
        fault: What is wrong with the file, naming it, as the message says it before its advice (``"w.pth is empty
            (0 bytes)"``), for a front end that gives advice of its own; None for a message of another form (a
            missing or unreadable file, a network error).
    """

    def __init__(self, message: str, *, fault: str | None = None) -> None:
        super().__init__(message)
        self.fault = fault


class DamagedWeightsError(WeightsError):
    """A weights file that is empty, or a checkpoint that is cut short or damaged (it does not read, or holds values
    that are not numbers): it holds nothing worth keeping, so a download of the weights goes over it. A file of any
    other kind (a checkpoint of other weights, a video or a web page given by mistake) is the user's: left alone."""


class VideoError(ColorMNetError):
    """A video or image sequence cannot be read or written."""


class ExemplarError(ColorMNetError):
    """An exemplar image is unusable (unreadable, grayscale, pinned outside the video)."""


class InferenceError(ColorMNetError):
    """The model failed while colorizing (for example out of memory)."""


class DeviceOutOfMemoryError(InferenceError):
    """An engine's device (a GPU) ran out of memory during a step: the session retries smaller or on the CPU."""


class OutputError(ColorMNetError):
    """An output path is unusable (exists, equals the input, or is not writable)."""


class SettingsError(ColorMNetError, ValueError):
    """A setting is out of its range (a memory interval of 0, a negative count); also a ValueError, as before."""


class UsageError(ColorMNetError):
    """A command line that does not parse (unknown option, missing argument, a value of the wrong type)."""


def quote_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A file or folder name as it goes into a one-line message: in quotes, control characters escaped.

    Names may hold anything but '/' and NUL: a newline or an escape sequence would break the message's one line or
    the terminal, and undecodable bytes (kept by Python as lone surrogates) would not print at all. Those are written
    as Python writes them in a literal (``\\n``, ``\\x1b``, ``\\udcff``); everything printable, backslashes
    included (Windows paths), stays as it is so the name can still be recognised.

    Args:
        path: a path or name.

    Returns:
        The name between single quotes, e.g. ``'reel 1/f0001.png'`` or ``'bad\\nname.png'``.
    """
    return f"'{one_line(os.fsdecode(path))}'"


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (newlines, escapes, lone surrogates) written as its
    Python escape, so that it prints as one line and cannot steer the terminal."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def shorten(text: str, limit: int = 120) -> str:
    """``text`` cut to about ``limit`` characters around an ellipsis, so that a pasted blob keeps a message short."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[-half:]}"
