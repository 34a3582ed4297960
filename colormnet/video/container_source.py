"""Frame-accurate random access into a video file.

On open the video stream's packets are demuxed once, without decoding, to list every frame's presentation
timestamp (sorted pts = frame order, so B-frames need no special care; a packet without pts uses its dts). Reading
frame ``i`` seeks to the last keyframe at or before it and decodes forward until the frame whose timestamp is the
``i``-th one; the decoder position is kept so that reading ``i + 1`` next just decodes one more frame.

Damaged frames. A frame whose packet is in the file but does not decode (a corrupt stretch in the middle, or a
broken tail) keeps its place: reading it returns the last good frame before it (the first good frame after it at
the very start of the file), so the frame count, the timestamps and the audio stay in sync. Such frames are recorded
in :attr:`ContainerSource.damaged` as they are met; the last group of pictures is decoded on open, so a broken tail
is known from the start. Only a file cut short (its data ends before its index does, or before the length that a
Matroska header records) loses its undecodable last frames, since nothing of them is left to hold a place.

If a seek lands after the wanted frame (imprecise demuxers such as Ogg), earlier keyframes are tried. A file whose
timestamps are missing or repeated is indexed by decoding it once and then read in decode order, which is exact but
makes backward jumps restart from the beginning.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from colormnet.errors import VideoError, quote_path
from colormnet.video.cut_short import frames_lost_by_duration, tell_cut_short, unfinished_ogg
from colormnet.video.info import VideoInfo, describe_stream, is_variable_frame_rate, source_timecode, stored_bit_depth
from colormnet.video.orientation import DisplayMatrix, frame_orientation
from colormnet.video.pixels import RgbConverter, frame_bit_depth, frame_luma8

logger = logging.getLogger(__name__)


class _Late:
    """A fresh seek landed after the wanted frame; ``frame`` is the first frame it decoded (None: none at all)."""

    def __init__(self, frame: av.VideoFrame | None) -> None:
        self.frame = frame


def open_container(path: Path) -> av.container.InputContainer:
    """Opens ``path`` for reading, turning every failure into one :class:`VideoError` sentence."""
    if not path.exists():
        raise VideoError(f"The file {quote_path(path)} does not exist; check the path.")
    if not path.is_file():
        raise VideoError(f"The path {quote_path(path)} is neither a video file nor a folder of images.")
    if path.stat().st_size == 0:
        raise VideoError(f"The file {quote_path(path)} is empty (0 bytes); choose a complete video file.")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise VideoError(
            f"The file {quote_path(path.name)} cannot be opened as a video ({reason}); it may be damaged, truncated or "
            "not a video."
        ) from exc


def pick_video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """Returns the first real video stream (cover art in audio files does not count)."""
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        if stream.codec_context is not None:
            return stream
    raise VideoError(f"The file {quote_path(path.name)} has no video stream (it may hold audio only); choose a video.")


class ContainerSource:
    """Reads frames of one video file; see the module docstring for the method. Not thread-safe.

    Args:
        path: The video file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._closed = False
        self._container = open_container(path)
        self._converter = RgbConverter()
        self._queue: deque[av.VideoFrame] = deque()
        self._packets: Iterator[av.Packet] | None = None
        self._eof = False
        self._decoded_since_rewind = 0
        self._pos: int | None = None  # index of the frame the decoder last handed out
        self._cache: tuple[int, object, np.ndarray] | None = None  # the last frame handed out, and in what form
        self._last_good: tuple[int, av.VideoFrame] | None = None  # the last frame that decoded, held for damage
        self._ended_early = False  # the demuxer hit a read error before the end of the index (a cut file)
        self._held = False  # the last decode handed out a neighbour in place of the wanted frame
        self.damaged: set[int] = set()
        """Frames met so far that do not decode and read as a neighbouring good frame (see the module docstring)."""
        try:
            self._stream = pick_video_stream(self._container, path)
            self._prepare_decoder()
            self.time_base: Fraction = self._stream.time_base or Fraction(1, 90000)
            self._by_order = not self._build_index()
            if not self._by_order:
                self._prime_decoder()
            sample = self._index_by_decoding() if self._by_order else self._check_tail()
            if sample is None or not self.pts:
                raise VideoError(f"The file {path.name} contains no decodable video frame; choose another file.")
            self.bit_depth = frame_bit_depth(sample)
            self.stored_bits = stored_bit_depth(sample.format)
            self.size = (sample.width, sample.height)
            self.info = self._make_info(*frame_orientation(sample))
        except (av.error.FFmpegError, OSError) as exc:
            self.close()
            raise VideoError(f"The file {path.name} cannot be read as a video ({exc}); it may be damaged.") from exc
        except VideoError:
            self.close()
            raise

    # ----------------------------------------------------------------------------------------------------- index
    def _build_index(self) -> bool:
        """Demuxes all video packets; returns False when their timestamps cannot identify frames."""
        entries: list[tuple[int, bool]] = []  # (pts, keyframe) in decode order
        self._discarded = 0  # packets the index counts that are no frame (an edit list's pre-roll)
        self._index_end = 0  # where the last frame indexed ends (its pts plus its duration, where known)
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0 or packet.is_discard:
                    self._discarded += packet.size > 0  # not the empty packet that ends the demuxing
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    logger.info("%s has packets without timestamps; indexing it by decoding", self.path.name)
                    return False
                entries.append((ts, bool(packet.is_keyframe)))
                self._index_end = max(self._index_end, ts + (packet.duration or 0))
                # The demuxer flags a packet it could read only in part; as the last one, the file was cut short.
                self._ended_early = bool(packet.is_corrupt)
        except av.error.FFmpegError as exc:  # a truncated file ends with a read error; keep what was read
            logger.warning("%s ends early (%s); using the %d packets before that", self.path.name, exc, len(entries))
            self._ended_early = True
        self.pts = sorted(entry[0] for entry in entries)
        if not self.pts:  # not one packet (a file cut before its first frame): decoding it says what is left
            return False
        if len(set(self.pts)) != len(self.pts):
            logger.info("%s repeats timestamps; indexing it by decoding", self.path.name)
            return False
        position = {ts: i for i, ts in enumerate(self.pts)}
        # Frame positions of keyframes; seeking uses their pts (demuxers that index by dts find the same keyframe
        # because dts <= pts). Position 0 is always a seek point: if it is no keyframe, a late landing rewinds.
        self._key_positions = sorted({position[ts] for ts, key in entries if key} | {0})
        return True

    def _prime_decoder(self) -> None:
        """Decodes the first frame once, before any seek.

        Some decoders learn stream-wide facts only from the first packets and keep them across seeks: FFmpeg's H.264
        decoder reads the x264 version from an SEI there and works around bugs of old x264 builds (4:4:4 streams
        like cockatoo.mp4 decode wrongly without it). Priming makes a seek decode exactly like a sequential pass.
        """
        self._seek(0)
        self._next_frame()

    def _check_tail(self) -> av.VideoFrame | None:
        """Decodes the last group of pictures that decodes at all, and finds the trailing frames that do not.

        They are recorded as damaged (they keep their place), or dropped from the index when the file was cut short.
        """
        position = {ts: i for i, ts in enumerate(self.pts)}
        for slot in range(len(self._key_positions) - 1, -1, -1):
            self._seek(slot)
            group_start = self._key_positions[slot]
            last_decoded = -1
            sample = None
            while (frame := self._next_frame()) is not None:
                key = self._key(frame)
                decoded = position.get(key, -1) if key is not None else -1
                if decoded >= group_start:
                    last_decoded = max(last_decoded, decoded)
                    sample = frame
            if sample is None:
                continue  # this whole group fails to decode: look at the one before
            missing = len(self.pts) - last_decoded - 1
            if self._ended_early:  # counting the frames lost where the container's index (an MP4's moov) lists them
                lost = max((self._stream.frames or 0) - self._discarded, len(self.pts)) - last_decoded - 1
                tell_cut_short(self.path, last_decoded + 1, lost, exact=True)
            elif lost := frames_lost_by_duration(self._container, self._stream, self._index_end * self.time_base):
                tell_cut_short(self.path, last_decoded + 1, missing + lost, exact=False)  # a Matroska length says so
                self._ended_early = True
            elif unfinished_ogg(self._container, self.path):  # an Ogg file's streams end with a mark
                tell_cut_short(self.path, last_decoded + 1, None, exact=False)
                self._ended_early = True
            if missing and self._ended_early:
                del self.pts[last_decoded + 1:]
                self._key_positions = [k for k in self._key_positions if k < max(last_decoded + 1, 1)]
            elif missing:
                self.damaged.update(range(last_decoded + 1, len(self.pts)))
            return sample
        return None

    def _index_by_decoding(self) -> av.VideoFrame | None:
        """Counts the frames of a stream whose timestamps are unusable; frames are then named by decode order."""
        self._rewind()
        sample = None
        count = 0
        while (frame := self._next_frame()) is not None:
            sample = frame if sample is None else sample
            count += 1
        self.pts = list(range(count))
        self.time_base = Fraction(1, 1) / (self._stream.guessed_rate or Fraction(24))
        self._key_positions = [0]
        return sample

    def _make_info(self, rotation: int, display_matrix: DisplayMatrix | None) -> VideoInfo:
        n = len(self.pts)
        gaps = sorted(b - a for a, b in itertools.pairwise(self.pts))
        typical_gap = gaps[len(gaps) // 2] if gaps else None
        fps = self._stream.average_rate or self._stream.guessed_rate
        if not fps and typical_gap:
            fps = Fraction(1, 1) / (typical_gap * self.time_base)
        fps = Fraction(fps) if fps else Fraction(24)
        if typical_gap is None:
            typical_gap = max(1, round(1 / (fps * self.time_base)))
        duration = float((self.pts[-1] - self.pts[0] + typical_gap) * self.time_base)
        return VideoInfo(
            path=self.path, frame_count=n, fps=fps, width=self.size[0], height=self.size[1], duration=duration,
            bit_depth=self.bit_depth, is_image_sequence=False, variable_frame_rate=is_variable_frame_rate(self.pts),
            streams=tuple(describe_stream(stream) for stream in self._container.streams), rotation=rotation,
            stored_bit_depth=self.stored_bits, timecode=source_timecode(self._container), display_matrix=display_matrix,
        )

    # ---------------------------------------------------------------------------------------------- decoding
    def _prepare_decoder(self) -> None:
        context = self._stream.codec_context
        context.thread_type = "AUTO"
        # Apply a stream's crop exactly (Theora stores 214 visible columns inside 218, for instance).
        context.flags = context.flags | av.codec.context.Flags.unaligned

    def _key(self, frame: av.VideoFrame) -> int | None:
        if self._by_order:
            return self._decoded_since_rewind - 1
        return frame.pts if frame.pts is not None else frame.dts

    def _next_frame(self) -> av.VideoFrame | None:
        """The next decoded frame, or None at the end of the stream. Broken packets are skipped."""
        while not self._queue:
            if self._eof or self._packets is None:
                return None
            try:
                packet = next(self._packets)
            except StopIteration:
                self._eof = True
                continue
            except av.error.FFmpegError as exc:
                logger.warning("%s: reading stopped early (%s)", self.path.name, exc)
                self._eof = True
                packet = None  # flush what the decoder still holds
            try:
                self._queue.extend(self._stream.codec_context.decode(packet))
            except av.error.FFmpegError as exc:
                logger.debug("%s: a packet failed to decode (%s)", self.path.name, exc)
        self._decoded_since_rewind += 1
        return self._queue.popleft()

    def _rewind(self) -> None:
        """Restarts decoding at the very beginning by reopening the file (works for every demuxer)."""
        index = self._stream.index  # read before closing: the stream object dies with its container
        self._container.close()
        self._container = open_container(self.path)
        self._stream = cast(av.video.stream.VideoStream, self._container.streams[index])
        self._prepare_decoder()
        self._start_demux()

    def _start_demux(self) -> None:
        self._queue.clear()
        self._eof = False
        self._decoded_since_rewind = 0
        self._pos = None
        self._packets = self._container.demux(self._stream)

    def _seek(self, slot: int) -> None:
        if self._by_order:
            self._rewind()
            return
        try:
            self._container.seek(self.pts[self._key_positions[slot]], stream=self._stream, backward=True)
        except av.error.FFmpegError as exc:
            logger.debug("%s: seek failed (%s); reopening instead", self.path.name, exc)
            self._rewind()
            return
        self._start_demux()

    def _decode_until(self, target: int, fresh: bool) -> av.VideoFrame | _Late | None:
        """Decodes up to the frame whose key is ``target``.

        Returns the frame; a :class:`_Late` when a fresh seek started after it; or the last frame before it (None
        when that is the one already handed out) when the frame itself does not decode, setting ``_held``.
        """
        previous = None
        while (frame := self._next_frame()) is not None:
            key = self._key(frame)
            if key is None or key < target:
                previous = frame
                continue
            if key == target:
                return frame
            self._queue.appendleft(frame)  # it belongs to a later read
            self._decoded_since_rewind -= 1
            if fresh and previous is None:
                return _Late(frame)
            break
        else:
            if fresh and previous is None:
                return _Late(None)
        logger.debug("%s: frame at timestamp %d does not decode; holding the frame before it", self.path.name, target)
        self._held = True
        return previous

    def _decode_with_seek(self, index: int) -> av.VideoFrame | None:
        slot = bisect.bisect_right(self._key_positions, index) - 1
        step = 1
        while True:
            self._seek(slot)
            result = self._decode_until(self.pts[index], fresh=True)
            if not isinstance(result, _Late):
                return result
            if slot == 0:
                if self._by_order:
                    return None
                logger.debug("%s: seeking to the start landed late; reading from the beginning", self.path.name)
                self._rewind()
                result = self._decode_until(self.pts[index], fresh=True)
                if isinstance(result, _Late):  # nothing before it decodes: hold the first good frame after it
                    self._held = True
                    return result.frame
                return result
            slot = max(0, slot - step)
            step *= 2

    def read(self, index: int, luma_size: tuple[int, int] | None = None) -> np.ndarray:
        """Returns frame ``index`` (0-based, already range-checked) as RGB; with ``luma_size``, as its ``uint8``
        luminance scaled to that ``(width, height)`` instead (see :func:`frame_luma8`)."""
        mode = "rgb" if luma_size is None else luma_size
        if self._cache is not None and self._cache[:2] == (index, mode):
            return self._cache[2].copy()
        slot = bisect.bisect_right(self._key_positions, index) - 1
        self._held = False
        try:
            if self._pos is not None and self._pos < index and self._key_positions[slot] <= self._pos + 1:
                result = self._decode_until(self.pts[index], fresh=False)
                frame = None if isinstance(result, _Late) else result
            else:
                frame = self._decode_with_seek(index)
            if frame is None:
                if self._last_good is None:
                    raise VideoError(f"Frame {index} of {self.path.name} cannot be decoded; the file is damaged.")
                logger.debug("%s: holding frame %d for frame %d", self.path.name, self._last_good[0], index)
                self.damaged.add(index)
                decoded = self._last_good[1]
            else:
                if self._held:
                    self.damaged.add(index)
                self._last_good = (index, frame)
                decoded = frame
            if luma_size is None:
                pixels = self._converter.convert(decoded, self.bit_depth, self._output_size(decoded))
            else:
                pixels = frame_luma8(decoded, luma_size, self._converter)
        except av.error.FFmpegError as exc:
            self._pos = None
            raise VideoError(f"Frame {index} of {self.path.name} cannot be decoded ({exc}).") from exc
        self._pos = index
        self._cache = (index, mode, pixels)
        return pixels.copy()

    def _output_size(self, frame: av.VideoFrame) -> tuple[int, int] | None:
        if (frame.width, frame.height) == self.size:
            return None
        logger.warning("%s changes frame size mid-stream; scaling %dx%d to %dx%d", self.path.name,
                       frame.width, frame.height, *self.size)
        return self.size

    def close(self) -> None:
        """Releases the container; further reads fail."""
        self._packets = None
        self._queue.clear()
        self._cache = None
        self._last_good = None
        if not self._closed:
            self._closed = True
            self._container.close()
