"""What a video or image sequence holds: frame count, rate, size, bit depth and streams."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av

logger = logging.getLogger(__name__)

#: Kinds a :class:`StreamInfo` may have; attachments and anything unknown count as ``"data"``.
STREAM_KINDS = ("video", "audio", "subtitle", "data")

#: A frame duration that differs from the median by more than this fraction marks the video as VFR. The margin
#: absorbs the one-tick jitter of rates such as 30000/1001 stored in a 1/90000 time base.
VFR_TOLERANCE = 0.05


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a container.

    Attributes:
        index: The stream's index in the container.
        kind: ``"video"``, ``"audio"``, ``"subtitle"`` or ``"data"``.
        codec: The codec's short name (``"h264"``, ``"aac"``), or ``"unknown"``.
        description: A human-readable summary, e.g. ``"aac 48000 Hz stereo"``.
    """

    index: int
    kind: str
    codec: str
    description: str


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a video that the rest of the program needs.

    Attributes:
        path: The file or folder that was opened.
        frame_count: Number of decodable frames.
        fps: Average frame rate (for image sequences the rate given when opening, 24 by default).
        width: Frame width in pixels.
        height: Frame height in pixels.
        duration: Length in seconds, from the first frame's start to the last frame's end.
        bit_depth: 8, or 16 when the source stores more than 8 bits per component.
        is_image_sequence: Whether the source is a folder of images.
        variable_frame_rate: Whether the frame durations differ noticeably (see :data:`VFR_TOLERANCE`).
        streams: Every stream of the container (an image sequence has one video stream).
        rotation: The counter-clockwise turn (0, 90, 180 or 270 degrees) that shows the stored frames upright, from
            the stream's display matrix (phone clips); frames are read as stored (see
            :mod:`colormnet.video.orientation`).
        display_matrix: The stream's display matrix as found (nine integers), carried onto a movie export.
        stored_bit_depth: Bits per component of the stream's pixel format (10 for ``yuv422p10le``); None when not
            known apart from ``bit_depth``. See :attr:`bits_per_component`.
        timecode: The source's start timecode (``HH:MM:SS:FF``, ``;`` before FF when drop-frame), from the video
            stream, a timecode track or the container; None when it has none.
    """

    path: Path
    frame_count: int
    fps: Fraction
    width: int
    height: int
    duration: float
    bit_depth: int
    is_image_sequence: bool
    variable_frame_rate: bool
    streams: tuple[StreamInfo, ...]
    rotation: int = 0
    display_matrix: tuple[int, ...] | None = None
    stored_bit_depth: int | None = None
    timecode: str | None = None

    @property
    def bits_per_component(self) -> int:
        """The depth the source stores (8, 10, 12, 16), as opposed to :attr:`bit_depth`, the depth it is read at."""
        return self.stored_bit_depth or self.bit_depth

    @property
    def has_audio(self) -> bool:
        """Whether any stream is an audio stream."""
        return any(stream.kind == "audio" for stream in self.streams)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dictionary (the path as a string, the rate as ``"num/den"`` plus a float)."""
        return {
            "path": str(self.path),
            "frame_count": self.frame_count,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "fps_float": float(self.fps),
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "bit_depth": self.bit_depth,
            "bits_per_component": self.bits_per_component,
            "timecode": self.timecode,
            "is_image_sequence": self.is_image_sequence,
            "variable_frame_rate": self.variable_frame_rate,
            "rotation": self.rotation,
            "streams": [
                {"index": s.index, "kind": s.kind, "codec": s.codec, "description": s.description}
                for s in self.streams
            ],
        }


def format_bit_depth(pix_fmt: av.VideoFormat) -> int:
    """Returns 16 when any component of ``pix_fmt`` has more than 8 bits, else 8."""
    return 16 if stored_bit_depth(pix_fmt) > 8 else 8


def stored_bit_depth(pix_fmt: av.VideoFormat) -> int:
    """Bits per component of ``pix_fmt``, the largest where they differ (``yuv422p10le`` -> 10, ``pal8`` -> 8)."""
    bits = [component.bits for component in pix_fmt.components]
    return max(bits) if bits else 8


def is_variable_frame_rate(pts: list[int]) -> bool:
    """Whether the gaps between consecutive presentation timestamps differ by more than :data:`VFR_TOLERANCE`."""
    if len(pts) < 3:
        return False
    gaps = sorted(b - a for a, b in itertools.pairwise(pts))
    median = gaps[len(gaps) // 2]
    if median <= 0:
        return True
    return any(abs(gap - median) > VFR_TOLERANCE * median for gap in gaps)


def describe_stream(stream: av.stream.Stream) -> StreamInfo:
    """Summarises one container stream without decoding it."""
    kind = stream.type if stream.type in STREAM_KINDS else "data"
    context: Any = stream.codec_context  # a video, audio or subtitle context, or None for data streams
    codec = "unknown"
    if context is not None:
        codec = context.codec.canonical_name or context.name or "unknown"
    parts = [codec]
    try:
        if kind == "video" and context is not None:
            parts.append(f"{context.width}x{context.height}")
            if context.pix_fmt:
                parts.append(str(context.pix_fmt))
            video = cast(av.video.stream.VideoStream, stream)
            rate = video.average_rate or video.guessed_rate
            if rate:
                parts.append(f"{float(rate):.3f} fps")
        elif kind == "audio" and context is not None:
            parts.append(f"{context.sample_rate} Hz")
            parts.append(context.layout.name)
    except (AttributeError, ValueError) as exc:  # unusual streams may lack some fields; the summary stays short
        logger.debug("Stream %d described partially: %s", stream.index, exc)
    tags = stream_tags(stream.metadata)
    if context is None:  # FFmpeg names no codec: a MOV timecode track, an Ogg skeleton; "unknown" would alarm
        parts = [f"timecode {tags['timecode']}" if tags.get("timecode") else "no codec named (not picture or sound)"]
    if tags.get("title"):
        parts.append(repr(tags["title"]))
    if tags.get("language"):
        parts.append(f"({tags['language']})")
    return StreamInfo(index=stream.index, kind=kind, codec=codec, description=" ".join(parts))


def stream_tags(metadata: dict[str, str]) -> dict[str, str]:
    """A stream's or container's tags with lower-case keys; MP4 and MOV give a track's title back as ``name``."""
    tags = {key.lower(): value for key, value in metadata.items()}
    if "title" not in tags and "name" in tags:
        tags["title"] = tags["name"]
    return tags


def source_timecode(container: av.container.InputContainer) -> str | None:
    """The start timecode of a file: on its video stream, a timecode (``tmcd``) data stream, or the container."""
    places = [*container.streams.video, *container.streams.data]
    for metadata in [*(stream.metadata for stream in places), container.metadata]:
        value = stream_tags(metadata).get("timecode")
        if value:
            return value
    return None


#: At most this many stretches of frame numbers are spelled out in one message; the rest are counted.
_MAX_STRETCHES = 6


def format_frames(frames: Iterable[int]) -> str:
    """Frame numbers in words with stretches joined: ``"frame 7"``, ``"frames 3, 12-15 and 23-35"``."""
    ordered = sorted(set(frames))
    stretches: list[tuple[int, int]] = []
    for frame in ordered:
        if stretches and frame == stretches[-1][1] + 1:
            stretches[-1] = (stretches[-1][0], frame)
        else:
            stretches.append((frame, frame))
    words = [str(a) if a == b else f"{a}-{b}" for a, b in stretches]
    if len(words) > _MAX_STRETCHES:
        words = [*words[: _MAX_STRETCHES - 1], f"{len(words) - _MAX_STRETCHES + 1} more stretches"]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"{'frame' if len(ordered) == 1 else 'frames'} {listed}"


def damaged_frames_notice(name: str, frames: Iterable[int]) -> str:
    """One line saying which frames of ``name`` do not decode and what is read in their place."""
    frames = list(frames)
    if len(frames) == 1:
        return (f"{name}: {format_frames(frames)} does not decode; the last good frame before it is used in its "
                "place, so the frame count and the audio stay in sync.")
    return (f"{name}: {format_frames(frames)} do not decode; the last good frame before each is used in its place, "
            "so the frame count and the audio stay in sync.")
