"""Carrying a source's audio streams into an export.

Audio is copied packet for packet, without re-encoding. Only when the output container cannot hold a codec (Vorbis in
MOV, say) is that stream decoded and encoded again, to AAC in MP4, PCM in MOV or FLAC in Matroska, with a warning.
Packets are muxed while the video is written, up to the time the video has reached, so the two stay interleaved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av

from colormnet.video.metadata import ExportMetadata

logger = logging.getLogger(__name__)

#: Audio codec a container gets when it cannot hold the source's, by output suffix.
FALLBACK_AUDIO_CODECS = {".mp4": "aac", ".mov": "pcm_s16le", ".mkv": "flac"}
# Standard layouts by channel count, for sources whose layout only gives a count ("2 channels"), which AAC refuses.
_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


@dataclass
class _Track:
    source: av.audio.stream.AudioStream
    output: av.audio.stream.AudioStream
    resampler: av.AudioResampler | None  # set when the stream is re-encoded
    next_sample: int | None = None  # re-encoded tracks: pts of the next output sample, in 1/rate


class AudioPassthrough:
    """Copies the audio of ``source_path`` into ``container`` for the exported time span.

    Create it after the video stream and before the first packet is muxed (the container header lists every
    stream). Times are seconds on the source's clock; ``start`` becomes time 0 in the output.

    Args:
        container: The output container, not yet started.
        source_path: The file whose audio is copied (opened a second time, so the video reader is not disturbed).
        start: Source time of the first exported frame.
        end: Source time where the exported span ends, when known in advance.
        keep_all: Copy every packet (a full-length export) instead of only those inside the exported span.
        metadata: The source's tags, set on each audio stream carried over (language, title).
    """

    def __init__(self, container: av.container.OutputContainer, source_path: Path, *, start: float,
                 end: float | None, keep_all: bool, metadata: ExportMetadata | None = None) -> None:
        self._container = container
        self._input = av.open(str(source_path))
        self._start = start
        self._end = end
        self.keep_all = keep_all  # cleared before finish() when a full-length export stops short
        self._tracks: dict[int, _Track] = {}
        suffix = Path(container.name).suffix.lower()
        for position, stream in enumerate(self._input.streams.audio):
            try:
                self._tracks[stream.index] = self._add_track(stream, suffix)
                if metadata is not None:
                    metadata.apply_audio(position, self._tracks[stream.index].output)
            except (ValueError, AttributeError, av.error.FFmpegError) as exc:
                logger.warning("Audio stream %d of %s is left out: it can be neither copied nor re-encoded (%s)",
                               stream.index, source_path.name, exc)
        self._packets: Iterator[av.Packet] | None = self._input.demux(*[t.source for t in self._tracks.values()])
        self._pending: av.Packet | None = None

    @property
    def stream_count(self) -> int:
        """Number of audio streams carried over."""
        return len(self._tracks)

    def _add_track(self, stream: av.audio.stream.AudioStream, suffix: str) -> _Track:
        try:
            output = self._container.add_stream_from_template(stream)
            return _Track(stream, output, None)
        except ValueError:
            pass  # the container does not accept this codec
        codec = FALLBACK_AUDIO_CODECS.get(suffix, "flac")
        logger.warning("The %s container cannot hold %s audio; re-encoding audio stream %d to %s",
                       suffix, stream.codec_context.name, stream.index, codec)
        context = stream.codec_context
        layout = _LAYOUTS.get(context.layout.nb_channels, context.layout.name)
        output = cast(av.audio.stream.AudioStream, self._container.add_stream(codec, rate=context.sample_rate))
        output.codec_context.layout = layout
        output.codec_context.time_base = Fraction(1, context.sample_rate)
        encoder_format = (av.Codec(codec, "w").audio_formats or [context.format])[0].name
        # AAC takes exactly 1024 samples per frame; FLAC and PCM take any count
        resampler = av.AudioResampler(format=encoder_format, layout=layout, rate=context.sample_rate,
                                      frame_size=1024 if codec == "aac" else None)
        return _Track(stream, output, resampler)

    def _in_span(self, time: float, end: float | None) -> bool:
        if self.keep_all:
            return True
        return time >= self._start - 1e-9 and (end is None or time < end - 1e-9)

    def mux_until(self, time: float) -> None:
        """Muxes the packets whose source time is before ``time`` (and inside the exported span)."""
        self._mux(limit=time, end=self._end)

    def finish(self, end: float) -> None:
        """Muxes what is left of the span ``[start, end)`` (everything for a full-length export) and flushes."""
        self._mux(limit=None, end=end)
        for track in self._tracks.values():
            if track.resampler is not None:
                self._encode(track, None)
        self.close()

    def _mux(self, limit: float | None, end: float | None) -> None:
        while self._packets is not None:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._packets = None
                break
            if packet.size == 0 or (packet.pts is None and packet.dts is None):
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            packet_time = float((stamp or 0) * (packet.time_base or Fraction(0)))
            if limit is not None and packet_time >= limit:
                self._pending = packet
                break
            if self._in_span(packet_time, end):
                self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        track = self._tracks[packet.stream.index]
        shift = round(self._start / packet.time_base)
        if track.resampler is None:
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = track.output
            self._container.mux(packet)
            return
        if track.next_sample is None:  # the first packet of the span sets the output clock
            stamp = (packet.pts if packet.pts is not None else shift) - shift
            track.next_sample = max(0, round(stamp * packet.time_base * track.source.sample_rate))
        try:
            frames = track.source.codec_context.decode(packet)
        except av.error.FFmpegError as exc:
            logger.debug("Skipping an audio packet that does not decode: %s", exc)
            return
        for frame in frames:
            self._encode(track, frame)

    def _encode(self, track: _Track, frame: av.AudioFrame | None) -> None:
        assert track.resampler is not None
        if frame is not None:
            frame.pts = None
        for resampled in track.resampler.resample(frame):
            position = track.next_sample or 0
            resampled.pts = position
            resampled.time_base = Fraction(1, track.output.codec_context.sample_rate)
            track.next_sample = position + resampled.samples
            self._container.mux(track.output.encode(resampled))
        if frame is None:
            self._container.mux(track.output.encode(None))

    def close(self) -> None:
        """Releases the second handle on the source."""
        self._packets = None
        self._pending = None
        if self._input is not None:
            self._input.close()
            self._input = None  # type: ignore[assignment]
