"""Reading a folder of numbered images (PNG, TIFF, JPEG, DPX) as a video.

Files are put in natural order (``f2.png`` before ``f10.png``); hidden files and other extensions are ignored.
Gaps in the numbering, numbers that repeat or go back and names without a number are allowed and logged. Sizes
are read from the headers on open, so mixed sizes are reported before any work starts. 8-bit PNG, TIFF and JPEG
files are decoded with Pillow; 16-bit PNG and TIFF files and DPX files with PyAV, which keeps every bit. Grey,
palette and alpha images all become RGB (alpha is dropped).
"""

from __future__ import annotations

import logging
import os
import re
import struct
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from colormnet.errors import VideoError, quote_path
from colormnet.video.info import StreamInfo, VideoInfo
from colormnet.video.pixels import RgbConverter

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".dpx")
MAX_FRAME_PIXELS = 120_000_000
"""Largest frame of a sequence, in pixels: a 12K scan (12288x9216) fits, and a 16-bit frame that size takes 680 MB;
a header that claims more is damaged or hostile. Below Pillow's own refusal (179 megapixels) on purpose, so that
every file is refused by this check, with its name."""
DEFAULT_SEQUENCE_FPS = Fraction(24)
MAX_SEQUENCE_FPS = 1000  # the fastest rate a sequence may be given (the command line and the session check it)

_DIGITS = re.compile(r"(\d+)")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers by value: ``f2.png`` < ``f10.png``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in _DIGITS.split(name) if part)


def list_images(folder: Path) -> list[Path]:
    """The image files of ``folder`` in natural order, without hidden files."""
    try:
        with os.scandir(folder) as entries:
            names = [
                entry.name
                for entry in entries
                if not entry.name.startswith(".")
                and entry.name.lower().endswith(IMAGE_EXTENSIONS)
                and entry.is_file()
            ]
    except OSError as exc:
        raise VideoError(
            f"The folder {quote_path(folder)} cannot be read ({exc.strerror or exc}); check its permissions."
        ) from exc
    return [folder / name for name in sorted(names, key=natural_key)]


def frame_number(path: Path) -> int | None:
    """The frame number a file name gives (the last run of digits in its stem), or None when it has none."""
    numbers = _DIGITS.findall(path.stem)
    return int(numbers[-1]) if numbers else None


_numbering_told: set[Path] = set()  # the files at which an odd numbering was logged: once per process


def warn_about_numbering(files: list[Path]) -> None:
    """Logs a warning at the first gap in the trailing frame numbers of the file names, and one at the first number
    that repeats or goes back (two sequences, or a stray image, in one folder) or is missing among numbered names;
    once per file, however often the folder is opened. Every file is still read, back to back in name order."""
    numbers = [frame_number(path) for path in files]
    numbered = any(number is not None for number in numbers)
    told_gap = told_order = False
    for index, (path, number) in enumerate(zip(files, numbers, strict=True)):
        previous = numbers[index - 1] if index else None
        if number is not None and previous is not None and number - previous > 1 and not told_gap:
            told_gap = True
            _warn_once(path, "Image sequence numbering jumps from %d to %d at %s; the frames are read back to back, "
                             "so %s is frame %d", previous, number, path.name, path.name, index)
        elif told_order or not numbered:
            continue
        elif number is None:
            told_order = True
            _warn_once(path, "Image sequence file %s has no frame number, unlike the others; it is read as frame %d "
                             "(move it out of the folder if it is not one)", path.name, index)
        elif number == previous:
            told_order = True
            _warn_once(path, "Image sequence files %s and %s both carry frame number %d; both are read, %s as frame "
                             "%d (move out the one that is not a frame of this film)", files[index - 1].name,
                       path.name, number, path.name, index)
        elif previous is not None and number < previous:
            told_order = True
            _warn_once(path, "Image sequence numbering goes from %d back to %d at %s; the frames are read back to "
                             "back in name order, so %s is frame %d (move out the images that are not frames of "
                             "this film)", previous, number, path.name, path.name, index)


def _warn_once(path: Path, message: str, *args: object) -> None:
    if path not in _numbering_told:
        _numbering_told.add(path)
        logger.warning(message, *args)


def read_header(path: Path) -> tuple[int, int, int]:
    """Returns ``(width, height, bit_depth)`` of an image file from its header, without decoding pixels.

    Raises:
        VideoError: the header claims no pixels or more than ``MAX_FRAME_PIXELS``.
        OSError, ValueError, struct.error, UnidentifiedImageError: the header cannot be read.
    """
    width, height, depth = _header_fields(path)
    if width < 1 or height < 1:
        raise VideoError(f"The image {quote_path(path.name)} claims {width}x{height} pixels; replace or remove it.")
    if width * height > MAX_FRAME_PIXELS:
        raise _too_large(path, f"{width}x{height}")
    return width, height, depth


def _header_fields(path: Path) -> tuple[int, int, int]:
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(1024)
    if suffix == ".png" and head.startswith(_PNG_SIGNATURE) and len(head) >= 26:
        width, height, depth = struct.unpack(">IIB", head[16:25])
        return width, height, 16 if depth > 8 else 8
    if suffix == ".dpx" and len(head) >= 804 and head[:4] in (b"SDPX", b"XPDS"):
        order = ">" if head[:4] == b"SDPX" else "<"
        width, height = struct.unpack(order + "II", head[772:780])
        return width, height, 16 if head[803] > 8 else 8
    with _open_image(path) as image:
        bits = 8
        tags = getattr(image, "tag_v2", None)
        if tags is not None:
            samples = tags.get(258, (8,))  # TIFF BitsPerSample
            bits = max(samples) if isinstance(samples, tuple) else int(samples)
        if image.mode.startswith("I;16") or image.mode in ("I", "F"):
            bits = 16
        return image.width, image.height, 16 if bits > 8 else 8


def _open_image(path: Path) -> Image.Image:
    """Opens an image lazily; Pillow's warning for frames above 89 megapixels is silenced (the cap is checked here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError as exc:  # Pillow refuses above 179 megapixels before the cap is checked
            raise _too_large(path, "") from exc


def _too_large(path: Path, size: str) -> VideoError:
    """The refusal of a frame above ``MAX_FRAME_PIXELS``; ``size`` is its ``WxH`` where known."""
    pixels = f"{size} pixels, more than" if size else "more than"
    return VideoError(
        f"The image {quote_path(path.name)} has {pixels} the {MAX_FRAME_PIXELS // 1_000_000} megapixels a frame may "
        "have; replace or remove it."
    )


class SequenceSource:
    """Reads the images of one folder as frames; one reader per thread.

    Args:
        folder: The folder of images.
        fps: The rate to report and to time frames with (24 when None).
    """

    def __init__(self, folder: Path, fps: Fraction | None = None) -> None:
        self.path = folder
        self._converter = RgbConverter()
        self.files = list_images(folder)
        if not self.files:
            raise VideoError(
                f"The folder {quote_path(folder)} contains no PNG, TIFF, JPEG or DPX images; choose another folder."
            )
        warn_about_numbering(self.files)
        headers = []
        for path in self.files:
            try:
                headers.append(read_header(path))
            except (OSError, UnidentifiedImageError, struct.error, ValueError) as exc:
                raise VideoError(
                    f"The image {quote_path(path.name)} cannot be read ({exc}); replace or remove it."
                ) from exc
        width, height, _ = headers[0]
        for path, (w, h, _) in zip(self.files, headers, strict=True):
            if (w, h) != (width, height):
                raise VideoError(
                    f"The image {quote_path(path.name)} is {w}x{h} but the sequence starts at {width}x{height}; "
                    "all frames must have one size."
                )
        self._depths = [depth for _, _, depth in headers]
        self.bit_depth = max(self._depths)
        self.size = (width, height)
        self.fps = Fraction(fps) if fps is not None else DEFAULT_SEQUENCE_FPS
        self.time_base = Fraction(1, 1) / self.fps
        self.pts = list(range(len(self.files)))
        codecs = sorted({path.suffix.lower().lstrip(".") for path in self.files})
        stream = StreamInfo(
            index=0,
            kind="video",
            codec="/".join(codecs),
            description=f"{len(self.files)} {'/'.join(codecs)} images {width}x{height} {self.bit_depth}-bit",
        )
        self.info = VideoInfo(
            path=folder,
            frame_count=len(self.files),
            fps=self.fps,
            width=width,
            height=height,
            duration=float(len(self.files) / self.fps),
            bit_depth=self.bit_depth,
            is_image_sequence=True,
            variable_frame_rate=False,
            streams=(stream,),
        )

    def read(self, index: int) -> np.ndarray:
        """Decodes image ``index`` (already range-checked) to RGB at the sequence's bit depth."""
        path = self.files[index]
        try:
            if path.suffix.lower() == ".dpx" or self._depths[index] == 16:
                rgb = self._read_with_pyav(path)
            else:
                rgb = self._read_with_pillow(path)
        except (OSError, UnidentifiedImageError, av.error.FFmpegError, ValueError, StopIteration) as exc:
            raise VideoError(
                f"The image {quote_path(path.name)} cannot be decoded ({exc}); replace or remove it."
            ) from exc
        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise VideoError(
                f"The image {quote_path(path.name)} changed size while being read; the sequence must not change."
            )
        return rgb

    def _read_with_pillow(self, path: Path) -> np.ndarray:
        with _open_image(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        return rgb.astype(np.uint16) * 257 if self.bit_depth == 16 else rgb

    def _read_with_pyav(self, path: Path) -> np.ndarray:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return self._converter.convert(frame, self.bit_depth)

    def close(self) -> None:
        """Nothing is held open between reads."""
