"""The per-segment Deep Exemplar engine: frames of one run in processing order, the previous output fed back.

Per frame (SPEC section 5): place the frame on the canvas, run the networks at half the canvas size against the
segment's reference table with the previous frame's Lab as recurrent input, then post-process: bilinear x2 to the
canvas, x1.25 chroma gain, fast global smoother guided by the 8-bit L. With ``official`` framing this is the
official pipeline; with ``fit`` framing the chroma is cut out of the padded canvas, resized to the frame and
filtered at the frame's own size, guided by its own L.

An exemplar of kind ``keyframe`` is the true colour of its frame: that frame's output is the exemplar's chroma and
it becomes the previous-frame input of the next frame. A ``reference`` starts from the official zero state.
Several references can serve one segment; their positions are matched jointly (SPEC section 9.1).

The confidence of each pixel is the correspondence's best cosine similarity there (clipped to [0, 1]), brought to
the frame like the chroma: how closely the frame's features found a match in the references.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from colormnet import color
from colormnet.engines.base import ExemplarInput, StepResult
from colormnet.engines.deepexemplar.correspondence import ReferenceTable
from colormnet.engines.deepexemplar.framing import CANVAS, Framing, Placement
from colormnet.engines.deepexemplar.lab import L_CENTRE, centred_lab, gray_uint8, guide_uint8, half_size
from colormnet.engines.deepexemplar.network import DeepExemplarNetwork, Prediction
from colormnet.engines.deepexemplar.wls_filter import fast_global_smoother
from colormnet.engines.tensors import device_errors, lightness_plane, to_numpy
from colormnet.errors import InferenceError

__all__ = ["DeepExemplarEngine", "DeepExemplarOptions", "postprocess", "prepare_picture"]


@dataclass(frozen=True)
class DeepExemplarOptions:
    """Numerics of the engine; the defaults are the official ones, except ``framing``.

    Attributes:
        framing: ``fit`` (letterbox, every pixel) or ``official`` (cover-crop, reproduces the official numbers).
        canvas: working size ``(H, W)``; the networks run at half of it (432 x 768 officially).
        chroma_gain: factor on the predicted ab after upsampling (output only, never fed back).
        wls: run the fast global smoother on the output chroma.
        wls_lambda: its smoothing strength.
        wls_sigma: its range scale in 8-bit levels.
    """

    framing: Framing = "fit"
    canvas: tuple[int, int] = CANVAS
    chroma_gain: float = 1.25
    wls: bool = True
    wls_lambda: float = 500.0
    wls_sigma: float = 4.0

    def __post_init__(self) -> None:
        Placement.create(1, 1, self.framing, self.canvas)  # validates framing and canvas

    def tag(self) -> str:
        """A short identity of these numerics, for cache keys."""
        return (f"{self.framing}:{self.canvas[0]}x{self.canvas[1]}:{self.chroma_gain}:"
                f"{self.wls and (self.wls_lambda, self.wls_sigma)}")


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """An RGB picture (uint8, uint16, float in [0, 1], grey ``H x W`` or RGBA) as ``H x W x 3`` uint8."""
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise InferenceError(f"A picture must be H x W, H x W x 3 or H x W x 4; got shape {arr.shape}.")
    if arr.shape[2] in (2, 4):  # drop alpha
        arr = arr[..., :-1]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype == np.uint8:
        return arr
    return np.round(np.clip(color.to_unit_float(arr), 0.0, 1.0) * 255.0).astype(np.uint8)


def prepare_picture(rgb: np.ndarray, placement: Placement) -> tuple[torch.Tensor, torch.Tensor]:
    """An RGB picture -> its canvas centred Lab ``1 x 3 x H x W`` and the network-size half of it."""
    large = centred_lab(placement.rgb_to_canvas(_to_uint8(rgb)))
    return large, half_size(large)


def postprocess(ab: torch.Tensor, guide: np.ndarray, size: tuple[int, int], options: DeepExemplarOptions,
                placement: Placement | None = None) -> torch.Tensor:
    """Network ab -> output ab at ``size``: bilinear x2, chroma gain, (canvas crop and resize), WLS.

    Args:
        ab: ``1 x 2 x h x w`` network output.
        guide: ``size`` uint8 guide of the filter.
        size: output ``(H, W)``: the canvas (official) or the frame (fit, with ``placement``).
        options: gain and filter settings.
        placement: for ``fit``: cut the picture out of the canvas and resize it to ``size``.

    Returns:
        ``2 x H x W`` float32 a, b on the CPU.
    """
    up = F.interpolate(ab.float(), scale_factor=2, mode="bilinear", align_corners=False) * options.chroma_gain
    if placement is not None:
        up = placement.canvas_to_source(up)
    planes = up[0].cpu().numpy()
    if tuple(planes.shape[-2:]) != size:
        raise InferenceError(f"Chroma of size {planes.shape[-2:]} does not match the output size {size}.")
    if options.wls:
        planes = fast_global_smoother(planes, guide, options.wls_lambda, options.wls_sigma)
    return torch.from_numpy(planes)


class DeepExemplarEngine:
    """Colorizes one segment run.

    Args:
        network: the loaded network (eval mode, on ``device``).
        options: numerics.
        autocast_dtype: CUDA autocast dtype for the convolutions (None: fp32); the matching always runs in fp32.
        references: further reference images (``H x W x 3`` RGB) matched jointly with the segment's exemplar.
    """

    def __init__(self, network: DeepExemplarNetwork, options: DeepExemplarOptions | None = None,
                 autocast_dtype: torch.dtype | None = None, references: Sequence[np.ndarray] = ()) -> None:
        self.network = network
        self.options = options or DeepExemplarOptions()
        self.autocast_dtype = autocast_dtype
        self.references = tuple(references)
        self.device = next(network.parameters()).device
        self.table: ReferenceTable | None = None
        self.previous: torch.Tensor | None = None
        self.t = 0

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None or self.device.type != "cuda":
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.autocast_dtype)

    def _encode(self, image: np.ndarray) -> tuple[ReferenceTable, torch.Tensor]:
        """One reference -> its matching table and its network-size Lab."""
        height, width = np.asarray(image).shape[:2]
        placement = Placement.create(height, width, self.options.framing, self.options.canvas)
        _, half = prepare_picture(image, placement)
        half = half.to(self.device)
        valid = placement.valid_grid()
        with self._autocast():
            table = self.network.reference_table(half, None if valid is None else valid.to(self.device))
        return table, half

    def _start(self, exemplar: ExemplarInput) -> None:
        table, half = self._encode(exemplar.image)
        tables = [table] + [self._encode(extra)[0] for extra in self.references]
        self.table = ReferenceTable.concat(tables)
        self.previous = half if exemplar.mode == "keyframe" else torch.zeros_like(half)

    def _frame(self, lightness: torch.Tensor) -> tuple[Placement, torch.Tensor, np.ndarray]:
        """``1 x H x W`` L' -> placement, canvas centred L ``1 x 1 x h x w`` and the frame's L* (``H x W``)."""
        lum = (lightness.float() * color.L_SCALE + color.L_CENTER).clamp(0, 100)
        height, width = lum.shape[-2:]
        placement = Placement.create(height, width, self.options.framing, self.options.canvas)
        if self.options.framing == "official":  # the official path works on 8-bit RGB
            large = centred_lab(placement.rgb_to_canvas(gray_uint8(lum[0].cpu().numpy())))[:, :1]
        else:
            large = placement.planes_to_canvas(lum[None]) - L_CENTRE
        return placement, large.to(self.device), lum[0].cpu().numpy()

    def predict(self, large_l: torch.Tensor, valid: torch.Tensor | None = None) -> Prediction:
        """Runs the networks on a canvas L (``1 x 1 x H x W`` centred) and feeds the result back as the next
        frame's previous-frame input."""
        if self.table is None or self.previous is None:
            raise InferenceError("The first frame of a segment needs an exemplar.")
        lightness = half_size(large_l)
        with self._autocast():
            pred = self.network(lightness, self.table, self.previous, valid)
        ab = pred.ab.float()
        self.previous = torch.cat([lightness, ab], 1)
        return Prediction(ab, pred.warped.float(), pred.similarity.float())

    @torch.inference_mode()
    def step(self, lightness: np.ndarray, exemplar: ExemplarInput | None = None, *, end: bool = False,
             work_size: tuple[int, int] | None = None, size: tuple[int, int] | None = None) -> StepResult:
        """Colorizes the next frame (see :meth:`colormnet.engines.base.SegmentEngine.step`).

        Args:
            lightness: ``H x W`` L* of the frame.
            exemplar: the segment's exemplar (first step only).
            end: unused (the engine keeps no memory beyond the previous frame).
            work_size: the processing size (None: the frame's); the networks run on their own canvas.
            size: the size of the chroma and confidence returned (None: the frame's).
        """
        out_hw = size or (lightness.shape[0], lightness.shape[1])
        with device_errors(self.device):
            plane = lightness_plane(lightness, self.device, work_size)  # 1 x h x w normalised L'
            if exemplar is not None:
                self._start(exemplar)
            elif self.t == 0:
                raise InferenceError("The first frame of a segment needs an exemplar.")
            self.t += 1
            if exemplar is not None and exemplar.mode == "keyframe":
                _, large, _ = self._frame(plane)
                half = half_size(large)
                self.previous = torch.cat([half, self.previous[:, 1:]], 1) if self.previous is not None else None
                return StepResult(exemplar.lab(*out_hw)[1:], np.ones(out_hw, np.float32))
            ab, similarity = self._predict_frame(plane)
            return StepResult(to_numpy(ab / color.AB_SCALE, out_hw), np.clip(to_numpy(similarity, out_hw)[0], 0, 1))

    def _predict_frame(self, plane: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``1 x h x w`` L' -> the frame's ``2 x h x w`` a, b and ``1 x h x w`` matching similarity."""
        height, width = plane.shape[-2:]
        placement, large, lum = self._frame(plane)
        valid = placement.valid_grid()
        pred = self.predict(large, None if valid is None else valid.to(self.device))
        similarity = F.interpolate(pred.similarity.float(), scale_factor=2, mode="bilinear", align_corners=False)
        similarity = placement.canvas_to_source(similarity)[0]
        if self.options.framing == "official":
            guide = guide_uint8(large[0, 0].cpu().numpy() + L_CENTRE)
            ab = postprocess(pred.ab, guide, placement.canvas, self.options)
            ab = placement.canvas_to_source(ab[None])[0]
        else:
            ab = postprocess(pred.ab, guide_uint8(lum), (height, width), self.options, placement)
        return ab, similarity
