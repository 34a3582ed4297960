"""The one reader the rest of the program uses, for video files and image-sequence folders alike."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from colormnet.errors import VideoError, quote_path
from colormnet.video.container_source import ContainerSource
from colormnet.video.info import VideoInfo, damaged_frames_notice
from colormnet.video.orientation import to_display
from colormnet.video.pixels import rgb_luma8
from colormnet.video.sequence_source import SequenceSource

logger = logging.getLogger(__name__)
DAMAGE_LOGGER = "colormnet.video.damage"  # the damaged frames a reader met and did not tell (see VideoReader.close)

#: Frames decoded forward per step of a reverse iteration; bounds memory to this many frames.
REVERSE_CHUNK = 32


class _FrameSource(Protocol):
    info: VideoInfo
    pts: list[int]
    time_base: Fraction

    def read(self, index: int) -> np.ndarray: ...

    def close(self) -> None: ...


class VideoReader:
    """Frame-accurate access to a video file or a folder of images.

    Frames are HxWx3 RGB arrays: ``uint8`` for 8-bit sources, ``uint16`` when :attr:`VideoInfo.bit_depth` is 16.
    Reading frame ``i + 1`` right after frame ``i`` continues decoding without a seek, so sequential reads cost
    no more than a plain decode. A reader is not thread-safe: give each thread its own reader.

    Args:
        path: A file FFmpeg can read, or a folder of PNG/TIFF/JPEG/DPX images.
        fps: Frame rate of an image sequence (24 when None); ignored for video files, which carry their own.

    Raises:
        VideoError: The path is missing, empty, unreadable or holds no decodable video.
    """

    def __init__(self, path: str | Path, *, fps: Fraction | None = None) -> None:
        self.path = Path(path)
        try:
            is_folder = self.path.is_dir()
        except OSError as exc:
            raise VideoError(f"The path {quote_path(self.path)} cannot be accessed ({exc.strerror or exc}).") from exc
        if is_folder:
            self._source: _FrameSource | None = SequenceSource(self.path, fps)
        else:
            if fps is not None:
                logger.debug("fps=%s ignored for %s: video files carry their own timing", fps, self.path.name)
            self._source = ContainerSource(self.path)
        self.info: VideoInfo = self._source.info
        self._told: set[int] = set()
        self._good = bytearray(self.info.frame_count)  # 1 for each frame read that decoded
        logger.info("Opened %s: %d frames, %dx%d, %.3f fps, %d-bit", self.path.name, self.info.frame_count,
                    self.info.width, self.info.height, float(self.info.fps), self.info.bit_depth)

    def __len__(self) -> int:
        return self.info.frame_count

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open_source(self) -> _FrameSource:
        if self._source is None:
            raise VideoError(f"The reader of {quote_path(self.path.name)} is closed; open the video again.")
        return self._source

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Frame indices are integers, not {type(index).__name__}.")
        if not 0 <= index < self.info.frame_count:
            raise VideoError(
                f"Frame {index} is outside {quote_path(self.path.name)}, which has frames 0 to "
                f"{self.info.frame_count - 1}."
            )
        return int(index)

    def read(self, index: int) -> np.ndarray:
        """Returns frame ``index`` (0-based) as HxWx3 RGB (``uint8``, or ``uint16`` for 16-bit sources).

        A frame that does not decode reads as a neighbouring good frame (see :meth:`damaged_frames`).
        """
        source = self._open_source()
        index = self._check_index(index)
        rgb = source.read(index)
        if index not in getattr(source, "damaged", ()):
            self._good[index] = 1
        return rgb

    def read_luma(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Frame ``index``'s luminance as HxW ``uint8`` (full range), scaled to ``size`` = (width, height) if given.

        For a video file the luma plane is taken as decoded, without making RGB (several times cheaper than
        :meth:`read`, for analysis such as shot detection); image sequences go through RGB (BT.601 weights).
        """
        source = self._open_source()
        index = self._check_index(index)
        if isinstance(source, ContainerSource):
            luma = source.read(index, luma_size=size or (self.info.width, self.info.height))
        else:
            luma = rgb_luma8(source.read(index), size)
        if index not in getattr(source, "damaged", ()):
            self._good[index] = 1
        return luma

    def luma_frames(self, size: tuple[int, int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yields ``(index, luminance)`` for every frame in order (see :meth:`read_luma`)."""
        for index in range(self.info.frame_count):
            yield index, self.read_luma(index, size)

    def read_upright(self, index: int) -> np.ndarray:
        """Frame ``index`` as a player shows it: turned by :attr:`VideoInfo.rotation` (for stills a person sees)."""
        return to_display(self.read(index), self.info.rotation)

    def frames(
        self, start: int = 0, stop: int | None = None, *, reverse: bool = False
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yields ``(index, frame)`` for the frames of ``[start, stop)``.

        Args:
            start: First frame index.
            stop: One past the last frame index; None for the end of the video.
            reverse: Yield ``stop - 1`` down to ``start``. Frames are decoded forward in chunks of
                :data:`REVERSE_CHUNK` and each chunk is yielded backwards, so memory stays bounded and there is one
                seek per chunk rather than per frame.
        """
        stop = self.info.frame_count if stop is None else stop
        if start < 0 or stop > self.info.frame_count or start > stop:
            raise VideoError(
                f"The range {start} to {stop} does not fit {quote_path(self.path.name)}, which has "
                f"{self.info.frame_count} frames."
            )
        if not reverse:
            for index in range(start, stop):
                yield index, self.read(index)
            return
        for chunk_stop in range(stop, start, -REVERSE_CHUNK):
            chunk_start = max(start, chunk_stop - REVERSE_CHUNK)
            chunk = [self.read(index) for index in range(chunk_start, chunk_stop)]
            for offset in range(len(chunk) - 1, -1, -1):
                yield chunk_start + offset, chunk.pop()

    def timestamps(self) -> list[float]:
        """Presentation time of each frame in seconds, as stored in the file (variable frame rates kept)."""
        source = self._open_source()
        return [float(ts * source.time_base) for ts in source.pts]

    def damaged_frames(self) -> list[int]:
        """Frames met so far whose data is in the file but does not decode; each reads as the last good frame
        before it (the first good one after it at the very start), so the count and the timing stay whole. A broken
        tail is known from the open on; damage elsewhere is found as frames are read."""
        return sorted(getattr(self._open_source(), "damaged", ()))

    def take_damage_notice(self, *, final: bool = False) -> str:
        """A one-line notice about the damaged frames met since the last call ("" when there are none).

        A stretch of damaged frames is told once the good frames on both sides of it have been read (so that it is
        told whole, in one line), or when ``final``.
        """
        if self._source is None:
            return ""
        last = self.info.frame_count - 1
        new = [frame for frame in self.damaged_frames() if frame not in self._told]
        ready: list[int] = []
        for stretch in _stretches(new):
            before, after = stretch[0] - 1, stretch[-1] + 1
            if final or ((before < 0 or self._good[before]) and (after > last or self._good[after])):
                ready += stretch
        self._told.update(ready)
        return damaged_frames_notice(self.path.name, ready) if ready else ""

    def close(self) -> None:
        """Releases the file; the reader cannot be used afterwards. Calling it twice is harmless.

        Damaged frames met and not yet told (see :meth:`take_damage_notice`) are logged as a warning, on the logger
        :data:`DAMAGE_LOGGER` (a pass that reads the film before a render that tells them can silence it).
        """
        notice = self.take_damage_notice(final=True)
        if notice:
            logging.getLogger(DAMAGE_LOGGER).warning("%s", notice)
        source, self._source = self._source, None
        if source is not None:
            source.close()

    # Used by VideoWriter to carry the source's exact timing into an export.
    @property
    def time_base(self) -> Fraction:
        """The time base of :meth:`pts`, in seconds per tick."""
        return self._open_source().time_base

    def pts(self) -> list[int]:
        """The presentation timestamp of each frame in :attr:`time_base` ticks."""
        return list(self._open_source().pts)


def _stretches(frames: list[int]) -> list[list[int]]:
    """Sorted frame numbers split into runs of consecutive ones."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return runs


def probe(path: str | Path, *, fps: Fraction | None = None) -> VideoInfo:
    """Opens ``path`` just long enough to describe it.

    Args:
        path: A video file or an image-sequence folder.
        fps: Frame rate of an image sequence (24 when None).

    Returns:
        The :class:`VideoInfo` of the source.
    """
    with VideoReader(path, fps=fps) as reader:
        return reader.info
