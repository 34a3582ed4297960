"""The session's data: exemplars pinned to frames, the session's settings and the frames it yields."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from colormnet import color
from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines.base import process_shape
from colormnet.errors import ExemplarError
from colormnet.exemplar import is_grayscale
from colormnet.plan import TRANSITIONS, Transition
from colormnet.video.sequence_source import MAX_SEQUENCE_FPS

__all__ = ["Exemplar", "ExemplarKind", "FrameResult", "SessionConfig", "check_colour_image", "process_shape"]

ExemplarKind = Literal["auto", "keyframe", "reference"]


@dataclass(frozen=True)
class Exemplar:
    """A colour image pinned to a frame.

    Attributes:
        frame: index of the frame it is pinned to.
        image: ``H x W x 3`` float32 RGB in [0, 1], any size (see :func:`colormnet.exemplar.load_exemplar_image`),
            upright as a player shows the video: for a video with a display rotation (phone clips) the session
            turns it into the stored orientation (see :mod:`colormnet.video.orientation`).
        kind: ``keyframe`` (a colorized version of that very frame), ``reference`` (any colour photo) or ``auto``
            (decided by comparing the exemplar's luminance with the frame's).
        name: shown in messages, e.g. the file name.
        references: further colour images (same format as ``image``) matched jointly with it; only engines for
            which :func:`colormnet.engines.takes_references` holds (``deepexemplar``) accept them.
    """

    frame: int
    image: np.ndarray = field(repr=False)
    kind: ExemplarKind = "auto"
    name: str = ""
    references: tuple[np.ndarray, ...] = field(default=(), repr=False)

    def digest(self) -> str:
        """Content hash of the image (for cache keys)."""
        return _image_digest(self.image)

    def reference_digests(self) -> list[str]:
        """Content hashes of the further references, in order (for cache keys)."""
        return [_image_digest(image) for image in self.references]


def _image_digest(image: np.ndarray) -> str:
    arr = np.ascontiguousarray(image, dtype=np.float32)  # no copy for the float32 images the loader makes
    digest = hashlib.sha256(arr.data.cast("B"))  # hashed in place: no byte copy of a large exemplar
    digest.update(str(arr.shape).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SessionConfig:
    """How a session runs the model.

    Attributes:
        engine: which engine colorizes (see :func:`colormnet.engines.available_engines`).
        engine_options: engine-specific settings as ``(name, value)`` pairs (e.g. Deep Exemplar's framing).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        precision: ``auto`` (fp16 autocast on CUDA, fp32 on CPU), ``fp32``, ``fp16`` (CUDA) or ``bf16`` (autocast on
            CUDA or the CPU; fast on CPUs with AMX or AVX512-BF16, where the app previews in it).
        process_size: cap on the short side of the frames the model sees.
        inference: the memory schedule.
        transition: how two exemplars of one shot meet: ``blend`` (a forward pass from the first fused with a
            backward pass from the second, smoothly by position), ``memory`` (one pass holding every exemplar of
            the shot) or ``cut`` (each exemplar governs up to the next).
        sequence_fps: the frame rate of an image-sequence input (24 when None); a video file keeps its own.
    """

    engine: str = "colormnet"
    engine_options: tuple[tuple[str, object], ...] = ()
    device: Device = "auto"
    precision: Precision = "auto"
    process_size: int = 540
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    transition: Transition = "blend"
    sequence_fps: Fraction | None = None

    def __post_init__(self) -> None:
        if self.process_size < 16:
            raise ValueError("process_size must be at least 16 pixels")
        if self.sequence_fps is not None and not 0 < self.sequence_fps <= MAX_SEQUENCE_FPS:
            raise ValueError(f"sequence_fps must be above 0 and at most {MAX_SEQUENCE_FPS} frames per second")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"Unknown transition {self.transition!r}: use {' or '.join(TRANSITIONS)}.")


@dataclass(frozen=True)
class FrameResult:
    """One colorized frame.

    Attributes:
        index: frame index in the video.
        rgb: ``H x W x 3`` float32 RGB in [0, 1] at the source's size.
        segment: index of the segment (= of its exemplar).
        kind: how the segment's exemplar was used, ``keyframe`` or ``reference``.
        seconds: time spent on this frame.
        done: frames processed so far in this run (including frames computed only to reach the requested ones).
        total: frames this run processes in all.
        notice: something the user should be told about this run (e.g. a fallback after the GPU ran out of memory).
        rgb8: the frame in 8 bits where the engine made it with ``rgb`` (on a GPU): what :meth:`to_uint8` returns.
    """

    index: int
    rgb: np.ndarray = field(repr=False)
    segment: int
    kind: str
    seconds: float
    done: int
    total: int
    notice: str = ""
    rgb8: np.ndarray | None = field(default=None, repr=False)

    def to_uint8(self) -> np.ndarray:
        """8-bit RGB, truncated like the reference implementation's PNGs."""
        return self.rgb8 if self.rgb8 is not None else color.to_uint8_truncated(self.rgb)

    def to_uint16(self) -> np.ndarray:
        """16-bit RGB, rounded."""
        return np.round(np.clip(self.rgb, 0.0, 1.0) * 65535.0).astype(np.uint16)


def check_colour_image(image: np.ndarray, label: str) -> None:
    """Raises ExemplarError unless ``image`` is a non-empty RGB image with colour."""
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ExemplarError(f"{label} is not an RGB image.")
    if is_grayscale(image):
        raise ExemplarError(f"{label} is a grayscale image: an exemplar must carry colour.")


