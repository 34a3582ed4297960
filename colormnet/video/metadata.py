"""Carrying a source's descriptive metadata into an export, and saying what could not be carried.

Kept where the output container can hold them: the ``language`` and ``title`` of the video stream and of each audio
stream, the container's ``title``, and the source's start timecode (moved on by the first exported frame when an
export starts later in the source; MP4 and MOV store it as a timecode track, Matroska as a tag). After the file is
written it is read back, and one line names whatever did not survive (a container that has no place for it, an
image sequence, a timecode that no longer fits a changed frame rate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from colormnet.video.info import source_timecode, stream_tags

logger = logging.getLogger(__name__)

#: Stream tags carried into an export.
STREAM_TAGS = ("language", "title")


def kept_tags(metadata: dict[str, str]) -> dict[str, str]:
    """The tags of :data:`STREAM_TAGS` that ``metadata`` holds (``und``, the undefined language, left out)."""
    tags = stream_tags(metadata)
    return {key: tags[key] for key in STREAM_TAGS if tags.get(key) and tags[key] != "und"}


def shift_timecode(timecode: str, frames: int, fps: Fraction) -> str | None:
    """``timecode`` moved on by ``frames`` at ``fps`` (drop-frame when written with ``;``); None when malformed."""
    drop_frame = ";" in timecode
    parts = timecode.replace(";", ":").split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds, frame = (int(p) for p in parts)
    base = max(1, round(float(fps)))
    if frame >= base or minutes >= 60 or seconds >= 60:
        return None
    drop = round(float(fps) * 0.066666) if drop_frame else 0  # 2 at 29.97, 4 at 59.94
    total_minutes = 60 * hours + minutes
    number = ((total_minutes * 60) + seconds) * base + frame - drop * (total_minutes - total_minutes // 10)
    number += frames
    if drop:  # back to a label: skip the dropped labels of every minute but each tenth
        per_ten = 600 * base - 9 * drop
        per_minute = 60 * base - drop
        tens, rest = divmod(number, per_ten)
        number += 9 * drop * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    seconds_total, frame = divmod(number, base)
    minutes_total, seconds = divmod(seconds_total, 60)
    hours, minutes = divmod(minutes_total, 60)
    return f"{hours % 24:02d}:{minutes:02d}:{seconds:02d}{';' if drop_frame else ':'}{frame:02d}"


@dataclass
class ExportMetadata:
    """What an export should carry from its source, and where (see the module docstring)."""

    source_name: str
    container: dict[str, str] = field(default_factory=dict)
    video: dict[str, str] = field(default_factory=dict)
    audio: list[dict[str, str]] = field(default_factory=list)
    timecode: str | None = None
    lost: list[str] = field(default_factory=list)
    carried_audio: list[int] = field(default_factory=list)  # source audio positions, in output order

    @classmethod
    def read(cls, source: Path, *, first_frame: int, fps: Fraction, export_fps: Fraction) -> ExportMetadata:
        """The metadata of the video file ``source`` for an export starting at ``first_frame`` at ``export_fps``."""
        wanted = cls(source.name)
        try:
            with av.open(str(source)) as container:
                title = stream_tags(container.metadata).get("title")
                if title:
                    wanted.container["title"] = title
                if container.streams.video:
                    wanted.video = kept_tags(container.streams.video[0].metadata)
                wanted.audio = [kept_tags(stream.metadata) for stream in container.streams.audio]
                timecode = source_timecode(container)
        except (av.error.FFmpegError, OSError) as exc:
            logger.debug("%s: metadata not read (%s)", source.name, exc)
            return wanted
        if timecode and export_fps != fps:
            wanted.lost.append(f"the start timecode {timecode} (the export runs at {float(export_fps):.3f} fps)")
        elif timecode:
            wanted.timecode = shift_timecode(timecode, first_frame, fps)
            if wanted.timecode is None:
                wanted.lost.append(f"the start timecode {timecode!r} (not a timecode)")
        return wanted

    def apply(self, container: av.container.OutputContainer, video: av.stream.Stream) -> None:
        """Sets the container's and the video stream's tags (audio streams: :meth:`apply_audio`)."""
        container.metadata.update(self.container)
        video.metadata.update(self.video)
        if self.timecode:
            video.metadata["timecode"] = self.timecode  # MP4/MOV muxers turn it into a timecode track

    def apply_audio(self, position: int, stream: av.stream.Stream) -> None:
        """Sets the tags of the source's ``position``-th audio stream on its output ``stream`` (the next one)."""
        if position < len(self.audio):
            stream.metadata.update(self.audio[position])
            self.carried_audio.append(position)

    def missing(self, output: Path) -> list[str]:
        """What :meth:`apply` asked for that ``output`` does not hold, in words (plus what was lost before)."""
        lost = list(self.lost)
        try:
            with av.open(str(output)) as container:
                found_container = stream_tags(container.metadata)
                found_video = stream_tags(container.streams.video[0].metadata) if container.streams.video else {}
                found_audio = [stream_tags(s.metadata) for s in container.streams.audio]
                timecode = source_timecode(container)
        except (av.error.FFmpegError, OSError) as exc:
            return [*lost, f"everything (the output could not be read back: {exc})"]
        lost += [f"the title {v!r}" for k, v in self.container.items() if found_container.get(k) != v]
        lost += [f"the video {k} {v!r}" for k, v in self.video.items() if found_video.get(k) != v]
        for n, position in enumerate(self.carried_audio):
            found = found_audio[n] if n < len(found_audio) else {}
            lost += [f"the {k} {v!r} of audio stream {position + 1}" for k, v in self.audio[position].items()
                     if found.get(k) != v]
        if self.timecode and timecode != self.timecode:
            lost.append(f"the start timecode {self.timecode}")
        return lost

    def everything(self) -> list[str]:
        """All but the audio's in words, for an output that holds no metadata (an image sequence, without audio)."""
        words = [f"the title {v!r}" for v in self.container.values()]
        words += [f"the video {k} {v!r}" for k, v in self.video.items()]
        if self.timecode:
            words.append(f"the start timecode {self.timecode}")
        return [*self.lost, *words]

    def check(self, written: Path, output_name: str, *, image_sequence: bool) -> list[str]:
        """Logs one line naming what the output (``written``, to be renamed ``output_name``) does not keep; returns
        that list (empty when everything was kept)."""
        lost = self.everything() if image_sequence else self.missing(written)
        if lost:
            logger.warning("%s does not keep %s of %s.", output_name, "; ".join(lost), self.source_name)
        return lost
