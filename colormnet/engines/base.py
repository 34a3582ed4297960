"""What every colorization engine shares: the two protocols a session drives, the exemplar and the step's result as
engines take and give them, and the size at which an engine sees a frame.

A *backend* is a loaded engine (weights on a device, or nothing for a weights-free engine); it makes a fresh
:class:`SegmentEngine` for every segment run. A segment engine takes the frames of one run in processing order, the
first with the segment's exemplar, and returns each frame's normalised chroma at the size asked for.

The boundary is NumPy on both sides: the luminance of the frame as decoded, the exemplar as the user gave it, the
chroma (and a per-pixel confidence where the engine has one) at the size the caller wants. Conversions, resizing
and device placement happen inside the engine, so a GPU engine does them on the GPU, and this module (like the
session) does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from colormnet import color
from colormnet.config import InferenceConfig

if TYPE_CHECKING:
    import torch

ExemplarMode = Literal["keyframe", "reference"]
#: The logger of the warning an engine gives when it loads random weights, for library users. A front end that tells
#: its user itself (from :attr:`Backend.is_random`) turns this logger down, so that the user reads it once.
RANDOM_WEIGHTS_LOGGER = "colormnet.engines.random_weights"


@dataclass(frozen=True)
class ExemplarInput:
    """An exemplar as the engines take it.

    Attributes:
        image: the exemplar as given, ``H' x W' x 3`` RGB (float32 in [0, 1], or uint8/uint16), any size.
        mode: ``keyframe`` (the true colour of this very frame) or ``reference`` (any colour image).
    """

    image: np.ndarray = field(repr=False)
    mode: ExemplarMode

    def lab(self, height: int, width: int) -> np.ndarray:
        """``3 x height x width`` float32 normalised ``[L', a', b']``, the image stretched to that size with
        Pillow's bilinear filter like the reference implementation (converted as given at its own size)."""
        image = self.image
        if image.shape[:2] != (height, width):
            image = color.resize_rgb(image, width, height)
        return color.normalize_lab(color.rgb_to_lab(image))


@dataclass(frozen=True)
class StepResult:
    """One frame's output of an engine.

    Attributes:
        ab: ``2 x H x W`` float32 normalised chroma ``a', b'`` at the size asked for.
        confidence: ``H x W`` float32 in [0, 1], how surely each pixel's chroma follows from the exemplar (1: it is
            the exemplar's own), or None from an engine without one. A blend of two passes leans on it.
    """

    ab: np.ndarray = field(repr=False)
    confidence: np.ndarray | None = field(default=None, repr=False)


class SegmentEngine(Protocol):
    """Colorizes the frames of one segment run, one at a time."""

    def step(self, lightness: np.ndarray, exemplar: ExemplarInput | None = None, *, end: bool = False,
             work_size: tuple[int, int] | None = None, size: tuple[int, int] | None = None) -> StepResult:
        """Colorizes the next frame.

        Args:
            lightness: ``H x W`` float32 L* in [0, 100] of the frame, at its own resolution.
            exemplar: the segment's exemplar, on the first step only.
            end: this is the run's last frame.
            work_size: ``(h, w)`` the engine computes at (the processing size; None: the frame's size). It stays
                the same through a run.
            size: ``(H', W')`` of the chroma returned (None: the frame's size).

        Returns:
            The chroma at ``size`` (for a keyframe's own frame: the exemplar's chroma at that size) and the
            confidence where the engine has one.
        """
        ...


@dataclass(frozen=True)
class ComposedFrame:
    """A whole output frame made on the engine's device: the source's L* with the predicted chroma.

    Attributes:
        rgb: ``H x W x 3`` float32 RGB in [0, 1] at the source's size, as :func:`colormnet.color.compose_rgb`.
        rgb8: the same frame in 8 bits, truncated as :func:`colormnet.color.to_uint8_truncated`.
    """

    rgb: np.ndarray = field(repr=False)
    rgb8: np.ndarray = field(repr=False)


@runtime_checkable
class ComposingEngine(Protocol):
    """A segment engine that can also take a decoded frame and return the finished one, doing the colour
    conversions and the chroma's upsampling on its device (a GPU) rather than leaving them to NumPy.

    Attributes:
        composes_on_device: whether this is worth it here (a GPU); on the CPU the NumPy path is as fast.
    """

    composes_on_device: bool

    def step_rgb(self, rgb: np.ndarray, *, end: bool = False, work_size: tuple[int, int] | None = None
                 ) -> ComposedFrame:
        """Colorizes the next frame (not the run's first: that one carries the exemplar and goes through
        :meth:`SegmentEngine.step`), given as decoded.

        Args:
            rgb: ``H x W x 3`` uint8 RGB of the frame.
            end: this is the run's last frame.
            work_size: the processing size, as for :meth:`SegmentEngine.step`.

        Returns:
            The frame composed from its own L* and the chroma, at its own size.
        """
        ...


def device_composer(engine: SegmentEngine) -> ComposingEngine | None:
    """``engine`` where it composes whole frames on its device, else None (the session then composes in NumPy)."""
    if isinstance(engine, ComposingEngine) and engine.composes_on_device:
        return engine
    return None


class Backend(Protocol):
    """A loaded engine.

    Attributes:
        name: the engine's name (``colormnet``, ...).
        device: where it computes.
        is_random: it runs with randomly initialised weights (tests and demos only).
        fingerprint: identity of the weights and numerics, for cache keys.
    """

    name: str
    device: torch.device
    is_random: bool
    fingerprint: str

    def release_memory(self) -> None:
        """Gives back what the device holds beyond the loaded weights (after it ran out of memory)."""
        ...

    def new_engine(self, config: InferenceConfig, references: Sequence[np.ndarray] = ()) -> SegmentEngine:
        """A fresh engine for one segment run.

        Args:
            config: the memory schedule.
            references: further ``H x W x 3`` RGB images matched jointly with the segment's exemplar; only an engine
                whose registry entry says ``takes_references`` receives any.
        """
        ...


def process_shape(height: int, width: int, cap: int) -> tuple[int, int]:
    """The size at which an engine sees a ``height x width`` frame: unchanged up to ``cap`` on the short side, else
    scaled down (aspect kept, rounded) so that the short side is ``cap``."""
    short = min(height, width)
    if short <= cap:
        return height, width
    scale = cap / short
    return max(1, round(height * scale)), max(1, round(width * scale))
