"""Writing colourised frames as a movie or an image sequence, atomically, with the source's timing and audio.

Everything is written under a temporary name next to the output (``.name.partial-XXXX.mp4``, or a
``.name.partial-XXXX`` folder for image sequences), synced to disk and then renamed into place, so a cancelled or
failed export never leaves a half-written file under the output name. An image sequence's frames are named by their
number in the source; into a folder that already exists it is staged inside it and replaces only this program's
frames (:mod:`colormnet.video.frame_folder`). Before anything is written, the expected size is compared with the
free space (:func:`~colormnet.output_guard.check_free_space`).

YUV codecs get RGB converted with the BT.709 matrix in limited range, and the stream is tagged BT.709 (matrix,
primaries, transfer, range) so players decode it the same way. 4:2:0 and 4:2:2 need even sizes; for an odd width
or height the codec's 4:4:4 pixel format is used instead (logged), so every pixel is kept without cropping or
scaling.

A source's display rotation (phone clips) is kept: a movie carries the source's display matrix and its pixels stay
as stored; image-sequence frames, which have no rotation tag that every tool honours, are written upright (a
lossless quarter turn). Its stream languages and titles and its start timecode are kept where the container can
hold them, and one line names what is not (:mod:`colormnet.video.metadata`).
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
import weakref
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

from colormnet.errors import OutputError
from colormnet.fileio import (
    clear_leftovers,
    current_umask,
    describe_write_error,
    fsync_path,
    owned_prefix,
    quoted,
    remove_path,
    remove_stale,
)
from colormnet.output_guard import check_free_space
from colormnet.video.audio import AudioPassthrough
from colormnet.video.codecs import (
    check_encoder,
    check_output_path,
    choose_pix_fmt,
    codec_spec,
    is_empty_folder,
    tag_colours,
)
from colormnet.video.frame_folder import finish_frames, frame_name, make_staging
from colormnet.video.metadata import ExportMetadata
from colormnet.video.orientation import display_size, to_display
from colormnet.video.pixels import rgb16_to_yuv_frame, rgb_to_frame, to_uint16
from colormnet.video.reader import VideoReader

logger = logging.getLogger(__name__)

_CONTAINER_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
_CONTAINER_OPTIONS = {".mp4": {"movflags": "+faststart"}}  # the index first: a player starts before the file is whole
_DEFAULT_FPS = Fraction(24)


class VideoWriter:
    """Writes RGB frames in order to a movie file or a folder of numbered images.

    Frame ``i`` gets the presentation time of source frame ``frame_indices[i]`` (shifted so the first written frame
    is at 0), so variable frame rates and the source's exact rate survive. Without a source, or when ``fps`` is
    given, frames are spaced at ``fps`` (24 by default). Audio streams of the source are copied for the written span.
    Use it as a context manager: normal exit calls :meth:`close`, an exception calls :meth:`abort`.

    Args:
        path: Output file (``.mp4``/``.mkv``/``.mov`` as the codec allows) or folder (image-sequence codecs).
        codec: A key of :data:`~colormnet.video.codecs.CODECS`.
        width: Frame width in pixels.
        height: Frame height in pixels.
        source: The reader of the video being exported; its timing and audio are carried over.
        frame_indices: Source frame of each written frame, strictly increasing; default all frames in order.
        fps: Constant frame rate that overrides the source's timing.
        audio: Whether to carry the source's audio streams over.
        overwrite: Whether an existing output may be replaced (only once the new one is complete).

    Raises:
        OutputError: The output path is unusable or the encoder is missing.
    """

    def __init__(
        self,
        path: str | Path,
        codec: str,
        *,
        width: int,
        height: int,
        source: VideoReader | None = None,
        frame_indices: Sequence[int] | None = None,
        fps: Fraction | None = None,
        audio: bool = True,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.spec = codec_spec(codec)
        if width < 1 or height < 1:
            raise ValueError(f"Frame size must be positive, not {width}x{height}.")
        self.width, self.height = width, height
        check_output_path(self.path, inputs=[source.path] if source is not None else [], codec=codec,
                          overwrite=overwrite)
        check_encoder(self.spec, width, height)
        self.overwrite = overwrite
        self._folder = self.path if self.spec.is_image_sequence and self.path.is_dir() else self.path.absolute().parent
        self._count = 0
        self._names: list[str] = []  # the image files written, by frame number
        self._closed = False
        self._reformatter = VideoReformatter()
        # Frames come in the source's stored orientation: movies carry its display matrix, images are turned upright.
        self._rotation = source.info.rotation if source is not None else 0
        self._display_matrix = source.info.display_matrix if source is not None else None
        self._container: av.container.OutputContainer | None = None
        self._audio: AudioPassthrough | None = None
        self._plan_timing(source, frame_indices, fps)
        self._metadata = None if source is None or source.info.is_image_sequence else ExportMetadata.read(
            source.path, first_frame=(self._indices or [0])[0], fps=source.info.fps, export_fps=self.fps)
        if self._indices is not None:
            check_free_space(self._folder, self.spec.name, width=width, height=height, frames=len(self._indices))
        self._temp = self._make_temp()
        self._finalizer = weakref.finalize(self, remove_path, self._temp)
        try:
            if not self.spec.is_image_sequence:
                self._open_container(source if audio else None)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise OutputError(f"Cannot start writing {quoted(self.path)} ({exc}).") from exc

    # ------------------------------------------------------------------------------------------------- setup
    def _plan_timing(self, source: VideoReader | None, frame_indices: Sequence[int] | None,
                     fps: Fraction | None) -> None:
        """Works out each written frame's pts, duration and source time."""
        self._source_pts: list[int] | None = None
        if source is not None:
            self._source_pts = source.pts()
            indices = list(range(len(source))) if frame_indices is None else [int(i) for i in frame_indices]
            if any(b <= a for a, b in itertools.pairwise(indices)):
                raise ValueError("frame_indices must be strictly increasing.")
            if indices and not 0 <= indices[0] <= indices[-1] < len(source):
                raise ValueError(f"frame_indices must lie within the source's {len(source)} frames.")
            self._indices: list[int] | None = indices
            self._source_tb = source.time_base
            self.full_length = indices == list(range(len(source)))
        else:
            self._indices = None if frame_indices is None else list(frame_indices)
            self.full_length = False
        self.fps = Fraction(fps) if fps is not None else (source.info.fps if source is not None else _DEFAULT_FPS)
        self._constant_rate = fps is not None or source is None
        self.time_base = Fraction(1, 1) / self.fps if self._constant_rate else self._source_tb

    def _make_temp(self) -> Path:
        parent = self.path.absolute().parent
        prefix = f".{self.path.name}.partial-"
        for folder in {parent, self._folder}:  # what this host's dead runs left, whatever output they were for
            clear_leftovers(folder)
        try:
            if self._folder == self.path:  # an existing folder: staged inside it, on the same drive
                folder = make_staging(self._folder)
                folder.chmod(0o777 & ~current_umask())
                return folder
            remove_stale(parent, prefix)  # also the names of earlier versions, without a host tag
            prefix = owned_prefix(prefix)
            if self.spec.is_image_sequence:
                folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
                folder.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the output is an ordinary folder
                return folder
            descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=self.path.suffix.lower(), dir=parent)
            os.fchmod(descriptor, 0o666 & ~current_umask())  # mkstemp makes it private; the output is an ordinary file
            os.close(descriptor)
            return Path(name)
        except OSError as exc:
            reason = describe_write_error(exc, self._folder)
            raise OutputError(f"Cannot create a file in {quoted(self._folder)} ({reason}); check the folder.") from exc

    def _make_image_encoder(self) -> av.video.codeccontext.VideoCodecContext:
        context = cast(av.video.codeccontext.VideoCodecContext, av.CodecContext.create(self.spec.encoder, "w"))
        context.width, context.height = display_size(self.width, self.height, self._rotation)
        context.pix_fmt = self.spec.pix_fmt
        context.time_base = Fraction(1, 25)
        context.options = dict(self.spec.options)
        return context

    def _open_container(self, source: VideoReader | None) -> None:
        suffix = self.path.suffix.lower()
        self._container = container = av.open(str(self._temp), mode="w", format=_CONTAINER_FORMATS[suffix],
                                                options=_CONTAINER_OPTIONS.get(suffix, {}))
        pix_fmt, options = choose_pix_fmt(self.spec, self.width, self.height)
        stream = cast(av.video.stream.VideoStream,
                      container.add_stream(self.spec.encoder, rate=self.fps, options=options))
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, pix_fmt
        stream.time_base = self.time_base
        if self._display_matrix is not None:
            stream.set_display_matrix(self._display_matrix)
        context = stream.codec_context
        context.time_base = self.time_base
        tag_colours(context, self.spec)
        if self.spec.encoder == "libx265" and suffix in (".mp4", ".mov"):
            stream.codec_tag = "hvc1"  # the tag Apple players require for HEVC
        self._stream = stream
        self._pix_fmt_used = pix_fmt
        if self._metadata is not None:
            self._metadata.apply(container, stream)
        if source is None or not source.info.has_audio or source.info.is_image_sequence or not self._indices:
            return
        if self._constant_rate and self.fps != source.info.fps:
            logger.warning("Audio is left out: the export runs at %s fps, the source at %s fps", self.fps,
                           source.info.fps)
            return
        self._audio = AudioPassthrough(container, source.path, start=self._source_time(0),
                                       end=self._span_end(len(self._indices) - 1), keep_all=self.full_length,
                                       metadata=self._metadata)
        if self._audio.stream_count:
            logger.info("Copying %d audio stream(s) from %s", self._audio.stream_count, source.path.name)

    # --------------------------------------------------------------------------------------------- writing
    def _source_time(self, i: int) -> float:
        """Source time (seconds) of written frame ``i``."""
        assert self._source_pts is not None and self._indices is not None
        return float(self._source_pts[self._indices[i]] * self._source_tb)

    def _span_end(self, i: int) -> float:
        """Source time (seconds) at which written frame ``i`` ends."""
        return self._source_time(i) + float(self._pts(i)[1] * self.time_base)

    def _pts(self, i: int) -> tuple[int, int]:
        """pts and duration of written frame ``i`` in :attr:`time_base` ticks."""
        if self._constant_rate:
            return i, 1
        assert self._source_pts is not None and self._indices is not None
        source_index = self._indices[i]
        first = self._source_pts[self._indices[0]]
        start = self._source_pts[source_index]
        if source_index + 1 < len(self._source_pts):
            duration = self._source_pts[source_index + 1] - start
        else:
            duration = max(1, round(1 / (self.fps * self.time_base)))
        return start - first, duration

    def write(self, rgb: np.ndarray) -> None:
        """Appends one frame.

        Args:
            rgb: HxWx3 RGB, float in [0, 1], ``uint8`` or ``uint16``.

        Raises:
            OutputError: Writing failed (disk full, encoder error).
        """
        if self._closed:
            raise OutputError(f"The export to {quoted(self.path)} is already finished or cancelled.")
        if rgb.shape != (self.height, self.width, 3):
            raise ValueError(f"Expected a {self.height}x{self.width}x3 RGB frame, got shape {rgb.shape}.")
        limit = len(self._indices) if self._indices is not None else None
        if limit is not None and self._count >= limit:
            raise ValueError(f"All {limit} frames of frame_indices were already written.")
        try:
            if self.spec.is_image_sequence:
                self._write_image(rgb_to_frame(to_display(rgb, self._rotation), self.spec.bit_depth))
            else:
                self._write_frame(to_uint16(rgb) if self.spec.bit_depth == 16 else rgb)
        except (av.error.FFmpegError, OSError) as exc:
            self.abort()
            reason = describe_write_error(exc, self._folder)
            raise OutputError(
                f"Writing frame {self._count} to {quoted(self.path)} failed: {reason}. Nothing was written under that "
                "name."
            ) from exc
        self._count += 1

    def _write_image(self, frame: av.VideoFrame) -> None:
        frame = frame.reformat(format=self.spec.pix_fmt)
        encoder = self._make_image_encoder()  # one per image: each file is a complete, flushed stream
        packets = encoder.encode(frame) + encoder.encode(None)
        number = self._indices[self._count] if self._indices is not None else self._count
        target = self._temp / frame_name(number, self.spec.image_suffix)
        with target.open("wb") as handle:
            for packet in packets:
                handle.write(bytes(packet))
            handle.flush()
            os.fsync(handle.fileno())
        self._names.append(target.name)

    def _write_frame(self, rgb: np.ndarray) -> None:
        assert self._container is not None
        if self.spec.yuv and self.spec.bit_depth == 16:
            frame = rgb16_to_yuv_frame(rgb, self._pix_fmt_used)
        elif self.spec.yuv:
            # swscale rounds 8-bit RGB to YUV exactly; AREA averages each chroma block.
            frame = self._reformatter.reformat(
                rgb_to_frame(rgb, 8), format=self._pix_fmt_used, dst_colorspace=Colorspace.ITU709,
                dst_color_range=ColorRange.MPEG, interpolation=Interpolation.AREA,
            )
        else:
            frame = self._reformatter.reformat(rgb_to_frame(rgb, 16), format=self._pix_fmt_used)
        frame.pts, frame.duration = self._pts(self._count)
        frame.time_base = self.time_base
        self._container.mux(self._stream.encode(frame))
        if self._audio is not None:
            self._audio.mux_until(self._span_end(self._count))

    # ------------------------------------------------------------------------------------------- finishing
    @property
    def work_folder(self) -> Path:
        """The folder that receives the work in progress: the existing output folder, else the output's parent."""
        return self._folder

    @property
    def frames_written(self) -> int:
        """How many frames :meth:`write` has taken so far."""
        return self._count

    def close(self) -> None:
        """Flushes the encoder, muxes the remaining audio, syncs and renames the output into place.

        Raises:
            OutputError: Nothing was written, or finishing the file failed; the output name is left untouched.
        """
        if self._closed:
            return
        if self._count == 0:
            self.abort()
            raise OutputError(f"No frame was written, so {quoted(self.path)} was not created.")
        try:
            if self._container is not None:
                self._container.mux(self._stream.encode(None))
                if self._audio is not None:
                    self._audio.keep_all = self.full_length and self._count == len(self._indices or [])
                    self._audio.finish(self._span_end(self._count - 1))
                self._container.close()
                self._container = None
            if self._metadata is not None:
                self._metadata.check(self._temp, self.path.name, image_sequence=self.spec.is_image_sequence)
            fsync_path(self._temp)
            self._move_into_place()
        except OutputError:
            self.abort()
            raise
        except (av.error.FFmpegError, OSError) as exc:
            self.abort()
            raise OutputError(
                f"Finishing {quoted(self.path)} failed: {describe_write_error(exc, self._folder)}. "
                "Nothing was written under that name."
            ) from exc
        self._closed = True
        self._finalizer.detach()
        logger.info("Wrote %d frames to %s", self._count, self.path)

    def _move_into_place(self) -> None:
        target = self.path
        # the whole video: every frame of the source, or everything a writer without a source was given
        whole = self._indices is None or (self._count == len(self._indices) and (
            self._source_pts is None or self.full_length))
        existing = self._folder == target
        if self.spec.is_image_sequence and finish_frames(self._temp, target, self._names, whole=whole,
                                                         existing=existing):
            return
        if target.exists() and (not self.overwrite or target.is_dir()) and not is_empty_folder(target):
            raise OutputError(f"The output {quoted(target)} appeared during the export, which was discarded; "
                              "export again.")
        if is_empty_folder(target):
            target.rmdir()
        os.replace(self._temp, target)
        fsync_path(target.absolute().parent)

    def abort(self) -> None:
        """Stops writing and deletes the temporary output; the output name is never touched."""
        if self._closed:
            return
        self._closed = True
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError) as exc:
                logger.debug("Closing the cancelled output failed: %s", exc)
            self._container = None
        self._finalizer()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
