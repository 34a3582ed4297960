"""Pixel conversions between decoded frames, RGB arrays and the sample depths the encoders take.

Decoding honours the colourspace and range a stream is tagged with. Untagged YUV is read as BT.601 limited range,
as FFmpeg and OpenCV do, so frames match what those tools give; untagged grey is read as full range.
"""

from __future__ import annotations

from typing import Any, cast

import cv2
import numpy as np
from av import VideoFrame
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

from colormnet.video.info import format_bit_depth

# AVColorSpace values (as tagged on frames) -> (swscale matrix, Kr, Kb). Values not listed (2 = unspecified and the
# rarer ones) fall back to BT.601, FFmpeg's own default.
_MATRICES = {
    1: (Colorspace.ITU709, 0.2126, 0.0722),
    4: (Colorspace.FCC, 0.30, 0.11),
    5: (Colorspace.ITU601, 0.299, 0.114),  # BT.470BG
    6: (Colorspace.ITU601, 0.299, 0.114),  # SMPTE 170M
    7: (Colorspace.SMPTE240M, 0.212, 0.087),
    9: (Colorspace.BT2020, 0.2627, 0.0593),  # BT.2020 non-constant luminance
    10: (Colorspace.BT2020, 0.2627, 0.0593),  # BT.2020 constant luminance, approximated by the NCL matrix
}
_BT601 = _MATRICES[5]
_AVCOL_RANGE_MPEG = 1
_AVCOL_RANGE_JPEG = 2
_PLANAR_444 = {9: "yuv444p9le", 10: "yuv444p10le", 12: "yuv444p12le", 14: "yuv444p14le", 16: "yuv444p16le"}

#: Bilinear scaling with accurate rounding, used to upsample chroma and for RGB to YUV in the writer.
SCALER_FLAGS = Interpolation.BILINEAR | Interpolation.ACCURATE_RND


def is_yuv(frame: VideoFrame) -> bool:
    """Whether ``frame`` holds luma plus chroma (as opposed to RGB, grey or a palette)."""
    pix_fmt = frame.format
    return not pix_fmt.is_rgb and not pix_fmt.has_palette and len(pix_fmt.components) >= 3


def frame_bit_depth(frame: VideoFrame) -> int:
    """The depth (8 or 16) at which :class:`RgbConverter` keeps all of ``frame``'s precision."""
    return format_bit_depth(frame.format)


def _plane(frame: VideoFrame, index: int, dtype: np.dtype[Any]) -> np.ndarray:
    plane = frame.planes[index]
    buffer = cast(Any, plane)  # planes expose the buffer protocol, which PyAV's stubs do not declare
    rows = np.frombuffer(buffer, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return rows[:, : plane.width]


class RgbConverter:
    """Turns decoded frames of any pixel format into RGB arrays, honouring colourspace and range tags.

    Subsampled YUV is first upsampled to 4:4:4 at its own depth, then converted: 8-bit by swscale, whose 4:4:4 path
    rounds exactly (its direct 4:2:0 to RGB path is about one level dark), deeper YUV by the matrix in numpy
    (swscale's 16-bit RGB output is biased). Sources of 8 bits or less are converted to 8-bit RGB first and widened
    by 257 when 16 bits are asked for, since swscale widens by 256. Keep one converter per reader: it holds scaler
    contexts that are reused between frames.
    """

    def __init__(self) -> None:
        self._resizer = VideoReformatter()
        self._upsampler = VideoReformatter()
        self._converter = VideoReformatter()

    def convert(self, frame: VideoFrame, bit_depth: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Converts a decoded frame to RGB.

        Args:
            frame: A decoded frame in any pixel format.
            bit_depth: 8 for a ``uint8`` result, 16 for ``uint16``.
            size: ``(width, height)`` to scale to (a stream that changes size mid-way); None keeps the size.

        Returns:
            HxWx3 RGB, ``uint8`` or ``uint16``.
        """
        if size is not None and size != (frame.width, frame.height):
            frame = self._resizer.reformat(frame, width=size[0], height=size[1], interpolation=SCALER_FLAGS)
        deep = frame_bit_depth(frame) == 16
        if is_yuv(frame):
            rgb = self._yuv_deep(frame) if deep else self._yuv8(frame)
        else:
            kwargs = {}
            if not frame.format.is_rgb and int(frame.color_range) == _AVCOL_RANGE_MPEG:
                kwargs = {"src_color_range": ColorRange.MPEG}  # grey tagged as limited range
            target = "rgb48le" if deep else "rgb24"
            converted = self._converter.reformat(frame, format=target, interpolation=Interpolation.POINT, **kwargs)
            rgb = converted.to_ndarray()
        if bit_depth == 16:
            return np.ascontiguousarray(to_uint16(rgb))
        return np.ascontiguousarray(to_uint8(rgb))

    @staticmethod
    def _matrix(frame: VideoFrame) -> tuple[tuple[Colorspace, float, float], bool]:
        full = int(frame.color_range) == _AVCOL_RANGE_JPEG or frame.format.name.startswith("yuvj")
        return _MATRICES.get(int(frame.colorspace), _BT601), full

    def _yuv8(self, frame: VideoFrame) -> np.ndarray:
        (matrix, _, _), full = self._matrix(frame)
        tags = {
            "src_colorspace": matrix,
            "dst_colorspace": matrix,
            "src_color_range": ColorRange.JPEG if full else ColorRange.MPEG,
        }
        full_444 = "yuvj444p" if frame.format.name.startswith("yuvj") else "yuv444p"
        if frame.format.name != full_444:
            tags_444 = {**tags, "dst_color_range": tags["src_color_range"]}
            frame = self._upsampler.reformat(frame, format=full_444, interpolation=SCALER_FLAGS, **tags_444)
        return self._converter.reformat(frame, format="rgb24", interpolation=Interpolation.POINT, **tags).to_ndarray()

    def _yuv_deep(self, frame: VideoFrame) -> np.ndarray:
        (colorspace, kr, kb), full = self._matrix(frame)
        bits = max(component.bits for component in frame.format.components)
        bits = bits if bits in _PLANAR_444 else 16
        if frame.format.name != _PLANAR_444[bits]:
            range_tag = ColorRange.JPEG if full else ColorRange.MPEG
            frame = self._upsampler.reformat(
                frame, format=_PLANAR_444[bits], interpolation=SCALER_FLAGS, src_colorspace=colorspace,
                dst_colorspace=colorspace, src_color_range=range_tag, dst_color_range=range_tag,
            )
        planes = [_plane(frame, i, np.dtype("<u2")).astype(np.float32) for i in range(3)]
        matrix, offset = _yuv_to_rgb16_matrix(kr, kb, bits, full)
        rgb = np.empty((*planes[0].shape, 3), dtype=np.uint16)
        for channel in range(3):  # one channel at a time keeps the float temporaries small
            value = planes[0] * matrix[channel, 0]
            value += planes[1] * matrix[channel, 1]
            value += planes[2] * matrix[channel, 2]
            value += offset[channel]
            np.clip(value, 0.0, 65535.0, out=value)
            rgb[..., channel] = np.rint(value, out=value)
        return rgb


def _yuv_to_rgb16_matrix(kr: float, kb: float, bits: int, full: bool) -> tuple[np.ndarray, np.ndarray]:
    """``rgb16 = matrix @ (y, u, v) + offset`` for YUV samples of ``bits`` bits with luma weights ``kr``, ``kb``."""
    if full:
        peak = float((1 << bits) - 1)
        y_scale, c_scale, y_zero = 1.0 / peak, 1.0 / peak, 0.0
    else:
        step = float(1 << (bits - 8))
        y_scale, c_scale, y_zero = 1.0 / (219.0 * step), 1.0 / (224.0 * step), 16.0 * step
    c_zero = float(1 << (bits - 1))
    kg = 1.0 - kr - kb
    matrix = 65535.0 * np.array(
        [
            [y_scale, 0.0, 2.0 * (1.0 - kr) * c_scale],
            [y_scale, -2.0 * kb * (1.0 - kb) / kg * c_scale, -2.0 * kr * (1.0 - kr) / kg * c_scale],
            [y_scale, 2.0 * (1.0 - kb) * c_scale, 0.0],
        ]
    )
    offset = -matrix @ np.array([y_zero, c_zero, c_zero])
    return matrix.astype(np.float32), offset.astype(np.float32)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Converts float in [0, 1], ``uint8`` or ``uint16`` RGB to ``uint8`` with rounding."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(rgb.dtype, np.floating):
        unit = np.clip(np.nan_to_num(rgb, nan=0.0), 0.0, 1.0)
        return np.rint(unit * 255.0).astype(np.uint8)
    raise TypeError(f"RGB frames must be float, uint8 or uint16, not {rgb.dtype}.")


def to_uint16(rgb: np.ndarray) -> np.ndarray:
    """Converts float in [0, 1], ``uint8`` or ``uint16`` RGB to ``uint16`` (``uint8`` values are scaled by 257)."""
    if rgb.dtype == np.uint16:
        return rgb
    if rgb.dtype == np.uint8:
        return rgb.astype(np.uint16) * 257
    if np.issubdtype(rgb.dtype, np.floating):
        unit = np.clip(np.nan_to_num(rgb, nan=0.0), 0.0, 1.0)
        return np.rint(unit * 65535.0).astype(np.uint16)
    raise TypeError(f"RGB frames must be float, uint8 or uint16, not {rgb.dtype}.")


#: Chroma subsampling (horizontal, vertical) of the deep YUV formats :func:`rgb16_to_yuv_frame` writes.
_SUBSAMPLING = {"420": (2, 2), "422": (2, 1), "444": (1, 1)}
BT709_KR, BT709_KB = 0.2126, 0.0722


def rgb16_to_yuv_frame(rgb: np.ndarray, pix_fmt: str) -> VideoFrame:
    """Converts 16-bit RGB to a planar 9- to 16-bit YUV frame with the BT.709 matrix in limited range.

    Done in numpy because swscale scales 16-bit RGB as if it were 8-bit times 256, which brightens deep YUV by about
    two 10-bit levels. Chroma is subsampled by averaging each 2x2 (4:2:0) or 2x1 (4:2:2) block.

    Args:
        rgb: HxWx3 ``uint16`` RGB; sides must be even for subsampled formats.
        pix_fmt: A planar little-endian YUV format such as ``"yuv420p10le"``.

    Returns:
        The frame, tagged BT.709 limited range.
    """
    bits = int(pix_fmt[pix_fmt.index("p", 3) + 1 : -2])
    step_x, step_y = _SUBSAMPLING[pix_fmt[3:6]]
    height, width = rgb.shape[:2]
    unit = rgb.astype(np.float32) / 65535.0
    kg = 1.0 - BT709_KR - BT709_KB
    luma = BT709_KR * unit[..., 0] + kg * unit[..., 1] + BT709_KB * unit[..., 2]
    blue_diff = (unit[..., 2] - luma) / (2.0 * (1.0 - BT709_KB))
    red_diff = (unit[..., 0] - luma) / (2.0 * (1.0 - BT709_KR))
    step = float(1 << (bits - 8))
    planes = [(16.0 + 219.0 * luma) * step]
    for diff in (blue_diff, red_diff):
        blocks = diff.reshape(height // step_y, step_y, width // step_x, step_x)
        planes.append((128.0 + 224.0 * blocks.mean(axis=(1, 3))) * step)
    frame = VideoFrame(width, height, pix_fmt)
    for plane, values in zip(frame.planes, planes, strict=True):
        samples = np.rint(np.clip(values, 0.0, float((1 << bits) - 1))).astype("<u2")
        rows = np.zeros((plane.height, plane.line_size // 2), dtype="<u2")
        rows[:, : plane.width] = samples
        plane.update(rows.tobytes())
    frame.colorspace = 1  # BT.709
    frame.color_range = 1  # limited
    return frame


def rgb_to_frame(rgb: np.ndarray, bit_depth: int) -> VideoFrame:
    """Wraps an RGB array (any supported dtype) in an ``rgb24`` or ``rgb48le`` frame."""
    if bit_depth == 16:
        # PyAV expects native byte order for 16-bit samples, which is little-endian on every supported platform.
        return VideoFrame.from_ndarray(np.ascontiguousarray(to_uint16(rgb), dtype=np.uint16), format="rgb48le")
    return VideoFrame.from_ndarray(np.ascontiguousarray(to_uint8(rgb)), format="rgb24")


def rgb_luma8(rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """HxWx3 RGB (``uint8`` or ``uint16``) -> HxW ``uint8`` luminance (BT.601 weights), scaled to ``size`` (w, h)."""
    if rgb.dtype != np.uint8:
        rgb = (rgb >> 8).astype(np.uint8)
    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# Limited-range luma (16..235) -> full range (0..255), for 8-bit values.
_LIMITED_TO_FULL = np.clip(np.rint((np.arange(256) - 16) * (255 / 219)), 0, 255).astype(np.uint8)


def _has_luma_plane(frame: VideoFrame) -> bool:
    """Whether plane 0 of ``frame`` holds its luma alone, little-endian, in 8 to 16 bits (planar or semi-planar YUV,
    grey)."""
    pix_fmt = frame.format
    if pix_fmt.is_rgb or pix_fmt.has_palette or pix_fmt.name.endswith("be") or pix_fmt.name.startswith("bayer"):
        return False
    if not 8 <= pix_fmt.components[0].bits <= 16:  # also rules out float formats
        return False
    return len(pix_fmt.components) == 1 or (is_yuv(frame) and len(frame.planes) >= 2)


def frame_luma8(frame: VideoFrame, size: tuple[int, int] | None = None,
                converter: RgbConverter | None = None) -> np.ndarray:
    """A decoded frame's luminance as HxW ``uint8`` (full range, 0 black, 255 white), scaled to ``size`` (w, h).

    YUV and grey frames give their luma plane directly, reduced to 8 bits, scaled (area average) and brought to full
    range when tagged (or, for YUV, left untagged as) limited range: no chroma is upsampled and no RGB is made, which
    is several times cheaper than :meth:`RgbConverter.convert` followed by :func:`rgb_luma8`. Other formats (RGB,
    palettes) go through RGB with ``converter``.
    """
    if not _has_luma_plane(frame):
        return rgb_luma8((converter or RgbConverter()).convert(frame, 8), size)
    pix_fmt = frame.format
    bits = pix_fmt.components[0].bits
    luma: np.ndarray = _plane(frame, 0, np.dtype("<u2" if bits > 8 else np.uint8))
    if bits > 8:
        luma = (luma >> (bits - 8)).astype(np.uint8)
    if size is not None and (luma.shape[1], luma.shape[0]) != size:
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    limited = int(frame.color_range) == _AVCOL_RANGE_MPEG or (
        is_yuv(frame) and int(frame.color_range) != _AVCOL_RANGE_JPEG and not pix_fmt.name.startswith("yuvj"))
    return cv2.LUT(luma, _LIMITED_TO_FULL) if limited else np.ascontiguousarray(luma)
