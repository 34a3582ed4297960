"""The library's error types.

Every failure a user can cause (a bad file, a missing checkpoint, a frame index out of range) is raised as a
:class:`ColorMNetError` subclass whose message is one sentence that says what is wrong and, where it helps, what to
do. The CLI prints that message alone and the GUI shows it in a dialog; anything else is a bug.
"""

from __future__ import annotations


class ColorMNetError(Exception):
    """Base class of every error the library raises on purpose."""


class WeightsError(ColorMNetError):
    """A checkpoint is missing, unreadable, truncated, or belongs to another model."""


class VideoError(ColorMNetError):
    """A video or image sequence cannot be read or written."""


class ExemplarError(ColorMNetError):
    """An exemplar image is unusable (unreadable, grayscale, pinned outside the video)."""


class InferenceError(ColorMNetError):
    """The model failed while colorizing (for example out of memory)."""


class OutputError(ColorMNetError):
    """An output path is unusable (exists, equals the input, or is not writable)."""
