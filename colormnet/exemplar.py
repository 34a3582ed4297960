"""Exemplar images: reading any image file as float RGB, refusing grayscale ones.

An exemplar is a colour image pinned to one frame of a black-and-white film; the network copies its colours.
It comes in one of two kinds:

- a *keyframe* is a colorized version of the pinned frame itself (same picture, same luminance up to the
  colourist's grading), so the network may trust it pixel for pixel;
- a *reference* is any other colour photo, whose colours the network matches by content.

:func:`classify_exemplar` (in :mod:`colormnet.exemplar_kind`, exported here too) tells them apart. The command
line's ``IMAGE@FRAME[:KIND]`` arguments are read by :mod:`colormnet.exemplar_spec`.
Shapes: images are ``(H, W, 3)`` float32 RGB in [0, 1] (sRGB); luminance planes are ``(H, W)`` CIE L* in [0, 100].
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from colormnet import color
from colormnet.errors import ColorMNetError, ExemplarError, quote_path
from colormnet.exemplar_kind import classify_exemplar as classify_exemplar
from colormnet.exemplar_kind import to_float_rgb

logger = logging.getLogger(__name__)

MAX_EXEMPLAR_PIXELS = 100_000_000
"""Largest exemplar accepted, in pixels; it is resized to the video's size anyway, so more only costs memory."""

EXEMPLAR_WORKING_PIXELS = 4096 * 4096
"""Pixels an exemplar is reduced to (on decoding, aspect kept) when it has more.

The engines run at ``process_size`` (540 on the short side by default) and only a keyframe's own frame takes the
exemplar's colours at the video's full size; video stores colour at half resolution (4:2:0), so even an 8K frame
holds 3840x2160 colour samples. 16.8 megapixels keep every colour sample of any such video while a 100-megapixel
exemplar costs one 8-bit decode (JPEG: a reduced one) instead of gigabytes of float copies.
"""

GRAYSCALE_CHROMA_TOLERANCE = 5.0
"""CIELAB chroma (C*ab) at or below which a pixel counts as colourless, see :func:`is_grayscale`."""

_MIN_COLOURED_FRACTION = 0.01
# is_grayscale looks at a strided sample of at most about this many pixels.
_CHROMA_SAMPLE_PIXELS = 1_000_000
# Fully transparent pixels get this neutral gray: their stored RGB is undefined and often an unrelated colour.
_TRANSPARENT_FILL = 0.5

_EXIF_ORIENTATION = 0x0112


def load_exemplar_image(path: str | Path) -> np.ndarray:
    """Reads an image file as a colour exemplar.

    Anything Pillow reads is accepted (PNG, JPEG, TIFF, BMP, WebP, GIF, ...). 16-bit RGB(A) PNG and TIFF keep their
    precision (decoded with PyAV, since Pillow reduces them to 8 bits); palette, CMYK and other modes are converted
    to RGB, through the embedded ICC profile when the file has one that is not sRGB; the EXIF orientation is
    applied; of an animated or multi-page file only the first frame is used.

    Alpha: partly transparent pixels keep their RGB as is (PNG stores straight, not premultiplied, colour, so it is
    the pixel's true colour), because exemplars mostly carry transparency as cut-out borders whose inside is
    meant to be seen. Fully transparent pixels are replaced by neutral mid-gray: their RGB is undefined (often
    black, sometimes leftovers of an erased layer) and would otherwise hand the network colours nobody chose;
    gray has no chroma to copy, and a mid level keeps the luminance away from the extremes.

    Args:
        path: the image file.

    Returns:
        ``(H, W, 3)`` float32 RGB in [0, 1].

    Raises:
        ExemplarError: the file is missing, not an image, damaged, larger than ``MAX_EXEMPLAR_PIXELS``, or
            grayscale.
    """
    path = Path(path)
    if not path.exists():
        raise ExemplarError(f"Exemplar image {quote_path(path)} does not exist: check the path.")
    if path.is_dir():
        raise ExemplarError(f"{quote_path(path)} is a folder, not an image file: choose an image file as exemplar.")
    if not path.is_file():  # a pipe would be waited on for ever
        raise ExemplarError(f"{quote_path(path)} is a pipe or a device, not an image file: choose an image file as "
                            "exemplar.")
    rgb = _read_rgb(path)
    if is_grayscale(rgb):
        raise ExemplarError(f"{quote_path(path.name)} is a grayscale image: an exemplar must carry colour.")
    return rgb


def _read_rgb(path: Path) -> np.ndarray:
    """Decodes any image file to ``(H, W, 3)`` float32 RGB in [0, 1], grayscale ones included."""
    try:
        with _open_image(path) as img:
            width, height = img.size
            if width * height > MAX_EXEMPLAR_PIXELS:
                raise ExemplarError(
                    f"{quote_path(path.name)} has {width}x{height} pixels, more than the "
                    f"{MAX_EXEMPLAR_PIXELS // 1_000_000} megapixels an exemplar may have: downscale it first."
                )
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                logger.info("%s holds %d frames; using the first one as exemplar.", path.name, frames)
            rgb, orientation = None, 1
            within = width * height <= EXEMPLAR_WORKING_PIXELS  # else reduced at 8 bits, see _downscale
            if within and img.mode in ("RGB", "RGBA") and ";16" in _raw_mode(img):  # the tiles are gone once loaded
                # Read first: recent Pillow turns a TIFF upright while loading it, dropping the tag.
                orientation = _exif_orientation(img)
                rgb = _decode_high_bit_depth(img, path)
            if rgb is None:
                rgb = _decode_with_pillow(img, path)
                orientation = _exif_orientation(img)  # what Pillow left to do
    except ColorMNetError:
        raise
    except MemoryError as exc:
        raise ExemplarError(
            f"{quote_path(path.name)} is too large to decode in the memory available: downscale it."
        ) from exc
    except Exception as exc:  # Decoders fail with OSError, SyntaxError, ValueError, zlib.error, ...
        raise ExemplarError(f"{quote_path(path.name)} is damaged or truncated and cannot be decoded ({exc}).") from exc
    return _apply_orientation(rgb, orientation)


def _exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation (1-8) still to be applied to the image's pixels, 1 when absent."""
    orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    return orientation if orientation in range(1, 9) else 1


def _open_image(path: Path) -> ImageFile.ImageFile:
    """Opens an image lazily (header only), turning Pillow's refusals into ExemplarErrors."""
    with warnings.catch_warnings():
        # Our own pixel cap applies once the size is known; Pillow's softer one would only warn.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError as exc:
            raise ExemplarError(
                f"{quote_path(path.name)} is larger than the {MAX_EXEMPLAR_PIXELS // 1_000_000} megapixels an "
                "exemplar may have: downscale it first."
            ) from exc
        except UnidentifiedImageError as exc:
            raise ExemplarError(
                f"{quote_path(path.name)} is not an image in a readable format: use a PNG, JPEG, TIFF, BMP or WebP "
                "file."
            ) from exc
        except OSError as exc:
            raise ExemplarError(
                f"{quote_path(path.name)} cannot be read ({exc.strerror or exc}): check the file."
            ) from exc


def _raw_mode(img: ImageFile.ImageFile) -> str:
    """The stored pixel layout of an unloaded image (e.g. ``RGB;16B``), or '' when unknown."""
    if not img.tile:
        return ""
    args = img.tile[0][3]
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return args if isinstance(args, str) else ""


def _decode_high_bit_depth(img: ImageFile.ImageFile, path: Path) -> np.ndarray | None:
    """Decodes a 16-bit RGB(A) file with PyAV; None when Pillow should decode it instead."""
    if _foreign_icc_profile(img, path) is not None:
        logger.info("%s: decoding at 8 bits per channel to convert its ICC profile to sRGB.", path.name)
        return None
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            stored = frame.to_ndarray(format="rgba64le" if img.mode == "RGBA" else "rgb48le")
    except (av.FFmpegError, StopIteration, ValueError) as exc:
        logger.warning("%s: 16-bit decoding failed (%s); reading it at 8 bits per channel.", path.name, exc)
        return None
    if sorted(stored.shape[:2]) != sorted(img.size):  # Pillow may report a TIFF's upright size
        logger.warning("%s: 16-bit decoder saw another size; reading it at 8 bits per channel.", path.name)
        return None
    img.load()  # PyAV conceals some damage; Pillow's decoder raises on a truncated or corrupt file.
    rgb = stored[..., :3].astype(np.float32) / 65535.0
    if stored.shape[2] == 4:
        _fill_transparent(rgb, stored[..., 3], path)
    return rgb


def _foreign_icc_profile(img: Image.Image, path: Path) -> ImageCms.ImageCmsProfile | None:
    """The embedded ICC profile when it is something other than sRGB (and parses), else None."""
    icc = img.info.get("icc_profile")
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile)
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError) as exc:
        logger.warning("%s: ignoring its unreadable ICC profile (%s).", path.name, exc)
        return None
    if img.mode != "CMYK" and "srgb" in description.lower():
        return None
    return profile


def _to_srgb(img: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """Converts an RGB, RGBA or CMYK image from its embedded profile to sRGB (8 bits), keeping alpha."""
    alpha = img.getchannel("A") if img.mode == "RGBA" else None
    source = img.convert("RGB") if alpha is not None else img
    converted = ImageCms.profileToProfile(source, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert converted is not None  # profileToProfile returns None only when asked to work in place
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _downscale(img: Image.Image, path: Path) -> Image.Image:
    """``img`` reduced to at most ``EXEMPLAR_WORKING_PIXELS`` (aspect kept), or as it is when it has no more.

    Pillow's thumbnail decodes a JPEG at 1/2, 1/4 or 1/8 size directly (``draft``) and shrinks in integer steps
    before the final filter (``reducing_gap``), so no float copy of the full size is ever made. Palette and bilevel
    images become RGB(A) first: resizing them would pick pixels instead of averaging them.
    """
    width, height = img.size
    if width * height <= EXEMPLAR_WORKING_PIXELS:
        return img
    scale = math.sqrt(EXEMPLAR_WORKING_PIXELS / (width * height))
    box = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    logger.info("%s has %dx%d pixels; reducing it to fit %dx%d.", quote_path(path.name), width, height, *box)
    if img.mode in ("1", "P", "PA"):
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    img.thumbnail(box, reducing_gap=1.0)  # the gap lets a JPEG decode at 1/2 for a box of up to half its size
    return img


def _decode_with_pillow(img: Image.Image, path: Path) -> np.ndarray:
    """Decodes the current frame with Pillow to float RGB, mapping every mode onto [0, 1]."""
    img = _downscale(img, path)
    img.load()
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # Single-channel high-range modes: Pillow keeps 16-bit gray files as I;16 or I (0..65535), F is float.
        scale = 1.0 if img.mode == "F" else 65535.0
        gray = np.clip(np.asarray(img, dtype=np.float32) / scale, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2)
    profile = _foreign_icc_profile(img, path) if img.mode in ("RGB", "RGBA", "CMYK") else None
    if profile is not None:
        try:
            img = _to_srgb(img, profile)
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            logger.warning("%s: cannot apply its ICC profile (%s); using its colours as stored.", path.name, exc)
    has_alpha = img.has_transparency_data
    try:
        target = "RGBA" if has_alpha else "RGB"
        converted = img if img.mode == target else img.convert(target)
    except ValueError as exc:
        raise ExemplarError(
            f"{quote_path(path.name)} uses the {img.mode} colour mode, which cannot be converted to RGB: save it as "
            "RGB."
        ) from exc
    stored = np.asarray(converted)
    rgb = stored[..., :3].astype(np.float32)
    rgb /= 255.0
    if has_alpha:
        _fill_transparent(rgb, stored[..., 3], path)
    return rgb


def _fill_transparent(rgb: np.ndarray, alpha: np.ndarray, path: Path) -> None:
    """Gives fully transparent pixels the neutral fill; refuses an image that has nothing else (it would pass for
    a grayscale one, whatever colours its invisible pixels store)."""
    clear = alpha == 0
    if clear.all():
        raise ExemplarError(f"{quote_path(path.name)} is fully transparent: an exemplar must show its colours.")
    rgb[clear] = _TRANSPARENT_FILL


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turns stored pixels upright according to an EXIF orientation (1-8, the same transforms as Pillow)."""
    transposed = rgb.transpose(1, 0, 2) if orientation >= 5 else rgb
    flip_rows, flip_columns = {2: (1, -1), 3: (-1, -1), 4: (-1, 1), 6: (1, -1), 7: (-1, -1), 8: (-1, 1)}.get(
        orientation, (1, 1)
    )
    return np.ascontiguousarray(transposed[::flip_rows, ::flip_columns])


def is_grayscale(rgb: np.ndarray, *, tolerance: float = GRAYSCALE_CHROMA_TOLERANCE) -> bool:
    """Whether an image carries no usable colour.

    A pixel is coloured when its CIELAB chroma C*ab exceeds ``tolerance``; the image is grayscale when fewer than
    1 % of its pixels are. The figures behind the defaults (from the test clips): a grayscale image saved as JPEG,
    even at quality 10, has chroma below 0.02 everywhere; every frame of a real black-and-white film decoded from
    4:2:0 video has at most 0.24 % of pixels above 5 (0.61 % above 4), from chroma noise; the colour clips' frames
    have 16-96 % above 5. A uniformly tinted monochrome image (sepia, or a faint warm tint of chroma ~6) carries one
    colour only, but asking for that colour is a legitimate use of an exemplar, so it counts as colour. An
    image whose colour covers less than 1 % of the picture counts as grayscale.

    Args:
        rgb: ``(H, W, 3)`` RGB, float in [0, 1] or uint8/uint16; ``(H, W)`` is gray by definition.
        tolerance: chroma at or below which a pixel counts as colourless.

    Returns:
        True when the image is grayscale.
    """
    image = to_float_rgb(rgb)
    height, width = image.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(height * width / _CHROMA_SAMPLE_PIXELS))))
    lab = color.rgb_to_lab(image[::step, ::step])
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return bool(chroma.size == 0 or np.mean(chroma > tolerance) < _MIN_COLOURED_FRACTION)
