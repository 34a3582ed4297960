"""Telling that a video file is cut short: its data ends before the frames its container announces.

What a cut file still says about its lost end depends on the container. An MP4 whose index (moov) is at the front
lists every frame, so the frames lost are counted exactly. A Matroska or WebM file records its length near the start
(each track's ``DURATION`` tag, as FFmpeg and mkvmerge write it, and the segment's duration), so the frames lost are
estimated from the time missing. An Ogg file (.ogv) records its length nowhere but in its last pages: a cut-short
.ogv reads as a shorter film without a warning, since nothing left in it says that more was to follow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av

logger = logging.getLogger(__name__)
_TOLD: set[tuple[str, int]] = set()  # the cut-short files warned of: (path, frames lost)
_CLOCK = re.compile(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)")  # a Matroska DURATION tag: "01:02:03.040000000"


def tell_cut_short(path: Path, kept: int, lost: int, *, exact: bool) -> None:
    """Warns, in one line and once per file even if it is opened again, that only its first ``kept`` frames decode.

    Args:
        path: The video file.
        kept: The frames that decode.
        lost: The frames lost with the end of the file (nothing is said when 0).
        exact: ``lost`` is counted from an index (else estimated from a duration: "about").
    """
    told = (str(path.absolute()), lost)
    if lost <= 0 or told in _TOLD:
        return
    _TOLD.add(told)
    logger.warning("%s: the file is cut short: only its first %d frames decode; %s %d are lost", path.name, kept,
                   "the last" if exact else "about", lost)


def _tag_seconds(tags: Mapping[str, str]) -> float | None:
    for key, value in tags.items():
        if key.upper().split("-")[0] == "DURATION" and (match := _CLOCK.fullmatch(value.strip())):
            hours, minutes, seconds = match.groups()
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def declared_end(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """The time, in seconds, at which a Matroska or WebM file says ``stream`` ends; None for other formats, or when
    the file records no length (a live recording that stopped without closing the file)."""
    if "matroska" not in container.format.name.split(","):
        return None
    # The track's own tag first: FFmpeg fills a stream's duration from the segment's when a short file has several
    # tracks, and the segment's duration is that of its longest track, so it speaks for the video only when alone.
    if (tagged := _tag_seconds(stream.metadata)) is not None:
        return tagged
    alone = all(other is stream or other.type == "attachment" for other in container.streams)
    return container.duration / av.time_base if alone and container.duration else None


def frames_lost_by_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                            end: Fraction) -> int:
    """About how many frames a Matroska or WebM file announces after ``end`` (seconds), where its frames end.

    0 when it is a file of another format, records no length, or falls short of it by no more than a frame and a
    half (timestamps in Matroska are rounded, often to the millisecond, and a last frame may be stored without its
    duration).
    """
    declared = declared_end(container, stream)
    fps = stream.average_rate or stream.guessed_rate
    if declared is None or not fps:
        return 0
    missing = (declared - float(end)) * float(fps)
    return round(missing) if missing > 1.5 else 0
