"""The export formats and the checks an output path must pass before any work starts."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.video.codeccontext

from colormnet.errors import OutputError
from colormnet.fileio import quoted
from colormnet.output_guard import check_output_folder, refuse_protected
from colormnet.video.frame_folder import numbered_frames, refuse_unusual_frames

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodecSpec:
    """How one export format is encoded.

    Attributes:
        name: The name users pick (``"h264"``).
        encoder: The FFmpeg encoder.
        pix_fmt: Pixel format the encoder gets.
        odd_pix_fmt: Pixel format used when a side is odd and ``pix_fmt`` subsamples chroma (4:4:4 keeps every
            pixel instead of cropping or scaling); None when ``pix_fmt`` already takes any size.
        bit_depth: Depth of the RGB data handed to the encoder: 8, or 16 (10-bit codecs get 16-bit RGB and the
            conversion to 10-bit YUV rounds once).
        extensions: Allowed output suffixes; empty for image sequences, which are written into a folder.
        options: Encoder options.
        odd_options: Encoder options replacing ``options`` for odd sizes.
        yuv: Whether the encoder takes YUV (converted with the BT.709 matrix, limited range, and tagged so).
        image_suffix: File suffix of the images of an image-sequence format.
        description: One line for help texts.
    """

    name: str
    encoder: str
    pix_fmt: str
    odd_pix_fmt: str | None
    bit_depth: int
    extensions: tuple[str, ...]
    options: Mapping[str, str] = field(default_factory=dict)
    odd_options: Mapping[str, str] | None = None
    yuv: bool = True
    image_suffix: str = ""
    description: str = ""

    @property
    def is_image_sequence(self) -> bool:
        """Whether the output is a folder of numbered images."""
        return not self.extensions


_MOVIE_EXTENSIONS = (".mp4", ".mkv", ".mov")

#: Every export format by name.
CODECS: dict[str, CodecSpec] = {
    "h264": CodecSpec(
        "h264", "libx264", "yuv420p", "yuv444p", 8, _MOVIE_EXTENSIONS,
        options={"crf": "17", "preset": "medium"},
        description="H.264 8-bit 4:2:0, visually lossless (crf 17), plays everywhere",
    ),
    "h265": CodecSpec(
        "h265", "libx265", "yuv420p10le", "yuv444p10le", 16, _MOVIE_EXTENSIONS,
        options={"crf": "18", "preset": "medium", "x265-params": "log-level=error"},
        description="H.265 10-bit 4:2:0 (crf 18), small files that keep gradients smooth",
    ),
    "prores": CodecSpec(
        "prores", "prores_ks", "yuv422p10le", "yuv444p10le", 16, (".mov",),
        options={"profile": "3", "vendor": "apl0"},
        odd_options={"profile": "4", "vendor": "apl0"},
        description="Apple ProRes 422 HQ 10-bit (ProRes 4444 for odd sizes), for editing",
    ),
    "ffv1": CodecSpec(
        "ffv1", "ffv1", "gbrp16le", None, 16, (".mkv",),
        options={"level": "3", "slicecrc": "1", "g": "1"}, yuv=False,
        description="FFV1 16-bit RGB, mathematically lossless, for archiving",
    ),
    # PNG is lossless at every zlib level: level 3 encodes a 960x536 frame in 37 ms against 125 ms at FFmpeg's
    # default (6), for files 10 % larger, so writing keeps up with a GPU.
    "png": CodecSpec(
        "png", "png", "rgb24", None, 8, (), options={"compression_level": "3"}, yuv=False, image_suffix=".png",
        description="8-bit PNG images 00000.png, 00001.png, ... in a folder",
    ),
    "png16": CodecSpec(
        "png16", "png", "rgb48be", None, 16, (), options={"compression_level": "3"}, yuv=False, image_suffix=".png",
        description="16-bit PNG images in a folder",
    ),
    "tiff16": CodecSpec(
        "tiff16", "tiff", "rgb48le", None, 16, (), yuv=False, image_suffix=".tif",
        description="16-bit TIFF images in a folder",
    ),
}

#: Formats written as a folder of images rather than one file.
IMAGE_SEQUENCE_CODECS = frozenset(name for name, spec in CODECS.items() if spec.is_image_sequence)

DEFAULT_CODEC = "h264"


def codec_spec(codec: str) -> CodecSpec:
    """Looks ``codec`` up in :data:`CODECS`, raising :class:`OutputError` for unknown names."""
    try:
        return CODECS[codec]
    except KeyError:
        raise OutputError(f"Unknown codec {codec!r}; choose one of {', '.join(CODECS)}.") from None


def is_empty_folder(path: Path) -> bool:
    """Whether ``path`` is an existing folder without entries (an output folder made ready for an export)."""
    try:
        return path.is_dir() and not path.is_symlink() and next(path.iterdir(), None) is None
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(output: Path, *, inputs: Sequence[Path], codec: str, overwrite: bool) -> None:
    """Checks that ``output`` can receive an export in ``codec`` without harming anything.

    Args:
        output: The file (movie codecs) or folder (image-sequence codecs) to write.
        inputs: Every file or folder the export reads, the video first (then exemplars, weights); none may be written,
            replaced or deleted. An image sequence goes into a folder that may hold them, as long as none of them is
            one of the numbered frames the export replaces.
        codec: A key of :data:`CODECS`.
        overwrite: Whether an existing output may be replaced. An empty folder counts as free for image sequences;
            in a folder with other files, only the numbered frames of the codec's format are replaced.

    Raises:
        OutputError: With one sentence naming the problem.
    """
    spec = codec_spec(codec)
    output = Path(output)
    for number, source in enumerate(inputs):
        source = Path(source)
        if _same_file(output, source):
            what = "the input itself" if number == 0 else f"{quoted(source)}, a file this render reads"
            raise OutputError(f"The output {quoted(output)} is {what}; choose another output name.")
    if spec.is_image_sequence:
        if output.suffix.lower() in _MOVIE_EXTENSIONS or (output.exists() and not output.is_dir()):
            raise OutputError(f"The {codec} codec writes numbered images into a folder, so {output} must be a folder.")
        if output.is_dir():
            if not os.access(output, os.W_OK | os.X_OK):  # its frames are made inside it, not in its parent
                raise OutputError(f"The folder {output} is not writable; choose another output folder.")
            refuse_unusual_frames(output, spec.image_suffix)
            refuse_protected(numbered_frames(output, spec.image_suffix), inputs, instead="folder")
    elif output.suffix.lower() not in spec.extensions:
        suffix = {".tiff": ".tif", ".jpeg": ".jpg"}.get(output.suffix.lower(), output.suffix.lower())
        image_codecs = [c.name for c in CODECS.values() if c.is_image_sequence and c.image_suffix == suffix]
        images = (f"; for numbered images choose the {' or '.join(image_codecs)} codec and give a folder name"
                  if image_codecs else "")
        raise OutputError(
            f"The {codec} codec needs an output ending in {' or '.join(spec.extensions)}, not {output.name!r}{images}."
        )
    elif output.is_dir():
        raise OutputError(f"The output {output} is a folder; give a file name ending in {spec.extensions[0]}.")
    if output.exists() and not overwrite and not (spec.is_image_sequence and is_empty_folder(output)):
        raise OutputError(
            f"The output {output} already exists; choose another name or allow overwriting (--overwrite).")
    check_output_folder(output)


_AVCOL_BT709 = 1  # matrix, primaries and transfer share the value 1 for BT.709
_AVCOL_SPC_RGB = 0
_AVCOL_RANGE_MPEG = 1
_AVCOL_RANGE_JPEG = 2


def check_encoder(spec: CodecSpec, width: int | None = None, height: int | None = None) -> None:
    """Raises OutputError unless this FFmpeg build has the encoder ``spec`` needs and, given a frame size, the encoder
    opens at that size (H.264 takes no side over 16384 pixels): said before a render, not at its first frame."""
    try:
        codec = av.Codec(spec.encoder, "w")
    except (av.error.FFmpegError, ValueError) as exc:
        raise OutputError(
            f"This FFmpeg build has no {spec.encoder} encoder, which the {spec.name} codec needs; pick another codec."
        ) from exc
    if width is None or height is None:
        return
    pix_fmt, options = choose_pix_fmt(spec, width, height)
    context = cast(av.video.codeccontext.VideoCodecContext, av.CodecContext.create(codec))
    context.width, context.height, context.pix_fmt = width, height, pix_fmt
    context.time_base, context.framerate = Fraction(1, 24), Fraction(24)
    context.options = dict(options)
    try:
        context.open()  # milliseconds, even at 8K; nothing is encoded
    except (av.error.FFmpegError, ValueError) as exc:
        raise OutputError(f"The {spec.name} codec cannot take frames of {width}x{height} ({exc.__class__.__name__}); "
                          "choose another codec (ffv1 takes any size).") from exc


def choose_pix_fmt(spec: CodecSpec, width: int, height: int) -> tuple[str, dict[str, str]]:
    """The pixel format and encoder options for a ``width x height`` output: the codec's 4:4:4 format where a side
    is odd (4:2:0 and 4:2:2 need even sizes), so every pixel is kept without cropping or scaling."""
    if spec.odd_pix_fmt and (width % 2 or height % 2):
        logger.info("%dx%d has an odd side; writing %s as %s instead of %s to keep every pixel",
                    width, height, spec.name, spec.odd_pix_fmt, spec.pix_fmt)
        return spec.odd_pix_fmt, dict(spec.odd_options or spec.options)
    return spec.pix_fmt, dict(spec.options)


def tag_colours(context: av.video.codeccontext.VideoCodecContext, spec: CodecSpec) -> None:
    """Tags the stream BT.709 (matrix, primaries, transfer; limited range for YUV, full for RGB codecs)."""
    if spec.yuv:
        context.colorspace, context.color_range = _AVCOL_BT709, _AVCOL_RANGE_MPEG
    else:
        context.colorspace, context.color_range = _AVCOL_SPC_RGB, _AVCOL_RANGE_JPEG
    context.color_primaries, context.color_trc = _AVCOL_BT709, _AVCOL_BT709
