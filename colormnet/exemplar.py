"""Exemplar images: reading any image file as float RGB, refusing grayscale ones, and telling keyframes apart.

An exemplar is a colour image pinned to one frame of a black-and-white film; the network copies its colours.
It comes in one of two kinds:

- a *keyframe* is a colorized version of the pinned frame itself (same picture, same luminance up to the
  colourist's grading), so the network may trust it pixel for pixel;
- a *reference* is any other colour photo, whose colours the network matches by content.

:func:`classify_exemplar` tells them apart from the structural similarity of the two luminance images.
Shapes: images are ``(H, W, 3)`` float32 RGB in [0, 1] (sRGB); luminance planes are ``(H, W)`` CIE L* in [0, 100].
"""

from __future__ import annotations

import io
import logging
import math
import re
import warnings
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from colormnet import color
from colormnet.errors import ColorMNetError, ExemplarError, quote_path, shorten

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

KEYFRAME_SSIM_THRESHOLD = 0.55
"""Similarity from which an exemplar counts as a keyframe of its frame, see :func:`classify_exemplar`.

Measured with ``benchmarks/exemplar_kind_threshold.py`` on the four test clips (300 keyframe pairs, 92 reference
pairs): a colour frame against its own grayscale version scores 0.75-1.00 after grading (gamma 0.8 or 1.25,
saturation x0.5 or x1.6), JPEG q=70, a shift of 2-4 pixels, a crop of 4 pixels or 2 % a side, or halving its
size; the colour frame of the same hand-held clip 2 s later, of another clip, or a generic photo scores
-0.03-0.23. The threshold leaves 0.20 to the lowest keyframe and 0.32 to the highest reference, above the
middle of the gap (0.49) because a reference taken for a keyframe does more harm than the other way round: a
keyframe's colours are trusted pixel for pixel. Two frames of one static shot show the same picture and score
0.46-0.99; no threshold can, or needs to, separate those.
"""

# Fewer coloured pixels than this fraction and the image counts as grayscale. See is_grayscale for the figures.
_MIN_COLOURED_FRACTION = 0.01
# is_grayscale looks at a strided sample of at most about this many pixels.
_CHROMA_SAMPLE_PIXELS = 1_000_000
# Fully transparent pixels get this neutral gray: their stored RGB is undefined and often an unrelated colour.
_TRANSPARENT_FILL = 0.5
# classify_exemplar compares luminance at this short side, allowing this much misregistration (working pixels).
_WORKING_SHORT_SIDE = 48
_ALIGN_RADIUS = 1
# classify_exemplar first averages a larger exemplar down to this many pixels, this many input pixels at a time.
_CLASSIFY_MAX_PIXELS = 1_000_000
_STRIP_PIXELS = 1 << 20

_EXIF_ORIENTATION = 0x0112
_FRAME_SPEC = re.compile(r"[0-9]+")

MAX_FRAME_NUMBER = 99_999_999
"""Highest frame an exemplar may be pinned to: 48 days of film at 24 frames per second; more is a typing slip."""



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
        rgb[stored[..., 3] == 0] = _TRANSPARENT_FILL
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
        rgb[stored[..., 3] == 0] = _TRANSPARENT_FILL
    return rgb


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
    image = _to_float_rgb(rgb)
    height, width = image.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(height * width / _CHROMA_SAMPLE_PIXELS))))
    lab = color.rgb_to_lab(image[::step, ::step])
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return bool(chroma.size == 0 or np.mean(chroma > tolerance) < _MIN_COLOURED_FRACTION)


def parse_exemplar_spec(spec: str) -> tuple[Path, int]:
    """Splits an ``IMAGE@FRAME`` command-line argument; the last '@' separates, as paths may contain '@'.

    Args:
        spec: e.g. ``"colour/shot@2x.png@120"``.

    Returns:
        The image path (not checked) and the frame index (0 to ``MAX_FRAME_NUMBER``).

    Raises:
        ExemplarError: no '@', an empty path, a frame that is not a non-negative integer, or one above
            ``MAX_FRAME_NUMBER``.
    """
    image, separator, frame = spec.rpartition("@")
    frame = frame.strip()
    if not separator or not image or not _FRAME_SPEC.fullmatch(frame):
        raise ExemplarError(
            f"Expected IMAGE@FRAME with FRAME a frame number of 0 or more, got {shorten(quote_path(spec))}."
        )
    digits = frame.lstrip("0")
    if len(digits) > len(str(MAX_FRAME_NUMBER)) or int(digits or "0") > MAX_FRAME_NUMBER:
        raise ExemplarError(
            f"Frame {shorten(frame)} in {shorten(quote_path(spec))} is beyond any video: frame numbers go up to "
            f"{MAX_FRAME_NUMBER}."
        )
    return Path(image), int(digits or "0")


def _to_float_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] from float, uint8 or uint16 ``(H, W, 3)`` or ``(H, W)`` input."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return array.astype(np.float32, copy=False)


def rgb_to_luma_l(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (D65) of sRGB, the lightness channel the network sees.

    Args:
        rgb: ``(H, W, 3)`` RGB, float in [0, 1] or uint8/uint16.

    Returns:
        ``(H, W)`` float32 L* in [0, 100].
    """
    return color.luminance(_to_float_rgb(rgb))


def _gaussian_kernel(sigma: float, truncate: float = 3.5) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return taps / taps.sum()


def _gaussian_filter(plane: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable Gaussian blur of a 2-D float64 array, mirrored at the borders (edge pixel repeated)."""
    radius = len(kernel) // 2
    height, width = plane.shape
    padded = np.pad(plane, ((radius, radius), (0, 0)), mode="symmetric")
    rows = np.zeros_like(plane)
    for k, weight in enumerate(kernel):
        rows += weight * padded[k : k + height]
    padded = np.pad(rows, ((0, 0), (radius, radius)), mode="symmetric")
    out = np.zeros_like(plane)
    for k, weight in enumerate(kernel):
        out += weight * padded[:, k : k + width]
    return out


def structural_similarity(a: np.ndarray, b: np.ndarray, *, data_range: float = 100.0) -> float:
    """Mean SSIM of two 2-D images (Wang et al. 2004): Gaussian window sigma 1.5, K1 0.01, K2 0.03.

    Population (not sample) statistics, averaged away from a 5-pixel border, as scikit-image computes it with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.

    Args:
        a: ``(H, W)`` image, at least 11x11.
        b: ``(H, W)`` image of the same shape.
        data_range: the value span of the images (100 for L*).

    Returns:
        The SSIM, 1.0 for identical images.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two 2-D images of one shape, got {a.shape} and {b.shape}")
    kernel = _gaussian_kernel(1.5)
    if min(a.shape) < len(kernel):
        raise ValueError(f"images must be at least {len(kernel)}x{len(kernel)} pixels, got {a.shape}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    mu_x, mu_y = _gaussian_filter(x, kernel), _gaussian_filter(y, kernel)
    var_x = _gaussian_filter(x * x, kernel) - mu_x * mu_x
    var_y = _gaussian_filter(y * y, kernel) - mu_y * mu_y
    cov_xy = _gaussian_filter(x * y, kernel) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    border = len(kernel) // 2
    return float(ssim[border:-border, border:-border].mean())


def _equalize(plane: np.ndarray) -> np.ndarray:
    """Maps each value to its mid-rank percentile in [0, 100] (ties share one value), undoing any tone curve."""
    _, inverse, counts = np.unique(plane, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - counts / 2.0
    return (mid_ranks[inverse.reshape(plane.shape)] * (100.0 / plane.size)).astype(np.float64)


def _best_aligned_ssim(a: np.ndarray, b: np.ndarray, radius: int) -> float:
    """The highest SSIM of ``a`` and ``b`` over translations of up to ``radius`` pixels, on their overlap."""
    height, width = a.shape
    best = -1.0
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            a_part = a[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)]
            b_part = b[max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
            best = max(best, structural_similarity(a_part, b_part, data_range=100.0))
    return best


def _box_reduce(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """``image`` averaged over square blocks to at most ``max_pixels``, or as it is when it has no more.

    Works a strip of rows at a time, so that a large uint8 image never exists in float at full size.

    Args:
        image: ``(H, W, 3)`` or ``(H, W)`` RGB, float in [0, 1] or uint8/uint16.
        max_pixels: the most pixels the result may have.

    Returns:
        ``image`` itself, or ``(H // f, W // f, 3)`` float32 block means in [0, 1].
    """
    height, width = image.shape[:2]
    factor = math.ceil(math.sqrt(height * width / max_pixels))
    if factor <= 1:
        return image
    rows, columns = height // factor, width // factor
    out = np.empty((rows, columns, 3), np.float32)
    strip = max(1, _STRIP_PIXELS // (factor * factor * columns))  # output rows per strip
    for top in range(0, rows, strip):
        bottom = min(rows, top + strip)
        block = _to_float_rgb(image[top * factor : bottom * factor, : columns * factor])
        out[top:bottom] = block.reshape(bottom - top, factor, columns, factor, 3).mean(axis=(1, 3))
    return out


def classify_exemplar(
    exemplar_rgb: np.ndarray, frame_rgb: np.ndarray
) -> tuple[Literal["keyframe", "reference"], float]:
    """Decides whether an exemplar is a keyframe (a colorized version of its frame) or a reference photo.

    The exemplar is stretched to the frame's shape (the aspect ratio is not kept, as the network does) and both
    are resized to a short side of 48 pixels: the question is whether they show the same picture, which coarse
    structure answers, while misregistration, grain and compression noise fade at that scale. Their L* planes are
    histogram-equalized, so that the colourist's tone curve (gamma, contrast, brightness) is not counted as a
    difference, and their SSIM is taken at the best of the nine one-pixel translations (a misregistration of up
    to 2 % of the short side). ``"keyframe"`` when it reaches ``KEYFRAME_SSIM_THRESHOLD``.

    Args:
        exemplar_rgb: ``(H', W', 3)`` RGB of the exemplar, float in [0, 1] or uint8.
        frame_rgb: ``(H, W, 3)`` or ``(H, W)`` of the black-and-white frame it is pinned to, same dtypes.

    Returns:
        ``"keyframe"`` or ``"reference"``, and the similarity it was decided on.
    """
    frame = _to_float_rgb(frame_rgb)
    exemplar = _to_float_rgb(_box_reduce(exemplar_rgb, _CLASSIFY_MAX_PIXELS))
    height, width = frame.shape[:2]
    scale = _WORKING_SHORT_SIDE / min(height, width)
    size = (max(_WORKING_SHORT_SIDE, round(width * scale)), max(_WORKING_SHORT_SIDE, round(height * scale)))
    exemplar_l = _equalize(rgb_to_luma_l(color.resize_rgb(exemplar, *size)))
    frame_l = _equalize(rgb_to_luma_l(color.resize_rgb(frame, *size)))
    ssim = _best_aligned_ssim(exemplar_l, frame_l, _ALIGN_RADIUS)
    kind: Literal["keyframe", "reference"] = "keyframe" if ssim >= KEYFRAME_SSIM_THRESHOLD else "reference"
    logger.debug("Exemplar classified as %s (equalized L* SSIM %.3f at %dx%d).", kind, ssim, *size)
    return kind, ssim
