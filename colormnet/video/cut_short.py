"""Telling that a video file is cut short: its data ends before the frames its container announces.

What a cut file still says about its lost end depends on the container. An MP4 whose index (moov) is at the front
lists every frame, so the frames lost are counted exactly. A Matroska or WebM file records its length near the start
(each track's ``DURATION`` tag, as FFmpeg and mkvmerge write it, and the segment's duration), so the frames lost are
estimated from the time missing. An Ogg file (.ogv) records its length nowhere but in its last pages, so what it lost
is unknown; but each stream's last page carries an end-of-stream mark, so a file that ends in the middle of a page, or
on a page without the mark, was cut short.
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


def tell_cut_short(path: Path, kept: int, lost: int | None, *, exact: bool) -> None:
    """Warns, in one line and once per file even if it is opened again, that only its first ``kept`` frames decode.

    Args:
        path: The video file.
        kept: The frames that decode.
        lost: The frames lost with the end of the file (nothing is said when 0; None: the file does not say).
        exact: ``lost`` is counted from an index (else estimated from a duration: "about").
    """
    told = (str(path.absolute()), -1 if lost is None else lost)
    if (lost is not None and lost <= 0) or told in _TOLD:
        return
    _TOLD.add(told)
    if lost is None:
        logger.warning("%s: the file is cut short: only its first %d frames decode; it does not say how many more it "
                       "had", path.name, kept)
        return
    logger.warning("%s: the file is cut short: only its first %d frames decode; %s %d are lost", path.name, kept,
                   "the last" if exact else "about", lost)


_OGG_PAGE_MAX = 27 + 255 + 255 * 255  # header, segment table, and at most 255 segments of 255 bytes


def unfinished_ogg(container: av.container.InputContainer, path: Path) -> bool:
    """Whether an Ogg file ends without closing its streams: in the middle of a page, or on a page that does not
    carry the end-of-stream mark (bytes after the last page are not looked at). False for other formats, and where
    the end cannot be read."""
    if "ogg" not in container.format.name.split(","):
        return False
    try:
        with Path(path).open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - 2 * _OGG_PAGE_MAX))
            tail = handle.read()
    except OSError:
        return False
    at = tail.rfind(b"OggS")
    while at >= 0:  # the last page whose header is whole (bytes after the last page, a copy's padding, are no page)
        if at + 27 <= len(tail) and tail[at + 4] == 0 and at + 27 + tail[at + 26] <= len(tail):
            segments = tail[at + 27 : at + 27 + tail[at + 26]]
            ends = at + 27 + len(segments) + sum(segments)
            return ends > len(tail) or not tail[at + 5] & 0x04  # its data cut off, or no end-of-stream mark
        at = tail.rfind(b"OggS", 0, at)
    return True


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
