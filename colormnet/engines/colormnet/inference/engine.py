"""The per-frame inference engine: one segment of a video, frame after frame, from its exemplar outwards.

:meth:`InferenceEngine.step` follows the reference schedule exactly:

* A frame becomes a **memory frame** when ``mem_every`` frames have passed since the last one, or when it carries
  an exemplar; never the last frame. Memory frames update the hidden state deeply (value encoder); the other
  frames, except the last, update it in the decoder.
* The **local attention** looks at the last *memory* frame (up to ``mem_every - 1`` frames back).
* An exemplar of kind ``keyframe`` (the reference's "first frame is the exemplar" mode) is the true colour of its
  frame: that frame's output is the exemplar's chroma, and the frame with those colours becomes a memory frame.
  An exemplar of kind ``reference`` (any colour photo) is encoded from its own luminance and chroma; its frame is
  then predicted from memory without local attention and without hidden state, as the reference does.
* Exemplar elements go to permanent memory (:mod:`colormnet.engines.colormnet.inference.memory_manager`).

The network's ``fast`` flag (see :class:`~.model.network.ColorMNet`) also chooses how the engine feeds it:
the fast path hands over the single luminance plane and reads memory sparsely (top-k values gathered per query);
the reference path repeats the plane three times and multiplies with the dense affinity, as the official code does.
The flag is read when the engine is created or reset.

The engine takes the frame's L* and the exemplar's RGB as NumPy arrays (see :class:`~colormnet.engines.base.
SegmentEngine`) and brings them onto the network's device at the processing size: L' resized there with antialiased
bilinear filtering, the exemplar stretched with Pillow and converted to Lab like the reference. Inside, all tensors
are ``B = 1``, normalised (``L'`` in [-1, 1], ``a' = a / 110``, ``b' = b / 110``), padded to multiples of 112. The
chroma goes back bilinearly resized on the device to the size asked for, with a confidence: each pixel's share of
the memory's attention that its top-k readout holds (:func:`~.memory_manager.top_k_mass`), upsampled from the key
grid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from colormnet.color import pad_amounts
from colormnet.config import InferenceConfig
from colormnet.engines import device_color
from colormnet.engines.base import ComposedFrame, ExemplarInput, StepResult
from colormnet.engines.colormnet.inference.exemplar_cache import ExemplarCache, ExemplarEntry, pixels_digest
from colormnet.engines.colormnet.inference.memory_manager import MemoryManager
from colormnet.engines.colormnet.model.blocks import in_fp32
from colormnet.engines.colormnet.model.network import ColorMNet
from colormnet.engines.tensors import (
    device_errors,
    exemplar_lab,
    lightness_plane,
    pad,
    resize_plane,
    to_numpy,
    unpad,
)
from colormnet.errors import InferenceError

_T = TypeVar("_T")


@contextlib.contextmanager
def ieee_fp32() -> Iterator[None]:
    """Full fp32 convolutions and matrix products on CUDA, restoring the process's TF32 settings afterwards.

    PyTorch lets cuDNN run fp32 convolutions in TF32 on Ampere and later GPUs by default. On an H200 that puts the
    output ~5e-4 (mean abs ``ab'``) off the official fp32 numbers, about half what fp16 autocast costs; with TF32 off
    the reference path agrees to ~1e-6. ``fp32`` precision is the one a user picks for the reference numbers, so it
    gets IEEE fp32.
    """
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


class InferenceEngine:
    """Stateful colorization of one run of frames.

    Args:
        network: the model, in eval mode, on its device.
        config: memory schedule.
        autocast_dtype: run under autocast with this dtype (``None``: full fp32): fp16 or bf16 on CUDA, bf16 on the
            CPU. Under CPU bf16 the parts in :attr:`fp32_parts` stay in fp32.
    """

    #: The parts kept in fp32 outside autocast under CPU bf16: ``memory`` (its readout and consolidation) and
    #: ``decoder``; ``dino`` (the key encoder's DINOv2 branch), ``key_projection`` and ``value_encoder`` may be
    #: added. Under autocast the memory's matrix products would round the keys to bf16 (8 bits of mantissa) although
    #: the similarity code asks for fp32, so near-equal similarities swap places in the top-k; the decoder's output
    #: layers and hidden state round the chroma itself. ``python -m benchmarks.bf16_parts`` measures each choice:
    #: 8-bit values more than 2 LSB from fp32 4.2 % with nothing kept, 1.67 % with the memory and the decoder, 0.78 %
    #: with the DINOv2 branch and the key projection too, but then bf16 is hardly faster than fp32 (bf16 serves the
    #: app's previews, for speed; exports are fp32). CUDA keeps everything under autocast (fp16 keeps 11 bits).
    fp32_parts: frozenset[str] = frozenset({"memory", "decoder"})

    def __init__(self, network: ColorMNet, config: InferenceConfig, autocast_dtype: torch.dtype | None = None,
                 exemplar_cache: ExemplarCache | None = None):
        self.network = network
        self.config = config
        self.autocast_dtype = autocast_dtype
        self.exemplar_cache = exemplar_cache
        self.reset()

    def reset(self) -> None:
        """Forgets everything (a new segment)."""
        self.memory = MemoryManager(self.config, dense_readout=not self.network.fast)
        self.t = 0
        self.last_mem_t = -(10**9)
        self.hidden: torch.Tensor | None = None
        self.last_key: torch.Tensor | None = None
        self.last_value: torch.Tensor | None = None
        self.pad_amounts: tuple[int, int, int, int] | None = None
        self.work_hw: tuple[int, int] = (0, 0)  # the processing size, fixed by the run's first input

    @property
    def device(self) -> torch.device:
        """Where the network computes."""
        return next(self.network.parameters()).device

    @property
    def _device_type(self) -> str:
        return self.device.type

    def _autocast(self) -> contextlib.AbstractContextManager:
        device_type = self._device_type
        if self.autocast_dtype is None:
            return ieee_fp32() if device_type == "cuda" else contextlib.nullcontext()
        return torch.autocast(device_type, dtype=self.autocast_dtype)

    def _keeps_fp32(self, part: str) -> bool:
        return part in self.fp32_parts and self.autocast_dtype == torch.bfloat16 and self._device_type == "cpu"

    @property
    def _key_fp32(self) -> frozenset[str]:
        """The key encoder's parts that stay in fp32 (see :attr:`fp32_parts`)."""
        return frozenset(part for part in ("dino", "key_projection") if self._keeps_fp32(part))

    def _fp32(self, part: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)``, in fp32 outside autocast (tensors in ``args`` made fp32) if ``part`` keeps fp32."""
        if not self._keeps_fp32(part):
            return fn(*args, **kwargs)
        return in_fp32(fn, *args, **kwargs)

    def _read_memory(self, key: torch.Tensor, selection: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The top-k memory readout for the query ``key``/``selection`` -> ``1 x O x C_v x h x w``, in the dtype
        the decoder takes (``like``'s, or fp32 where the decoder keeps fp32)."""
        readout = self._fp32("memory", self.memory.read, key, selection)
        return readout.float() if self._keeps_fp32("decoder") else readout.to(like.dtype)

    def _add_exemplar(self, key: torch.Tensor, shrinkage: torch.Tensor, value: torch.Tensor) -> None:
        self._fp32("memory", self.memory.add_exemplar, key, shrinkage, value)
        self._remember(key, value)

    def _add_frame(self, key: torch.Tensor, shrinkage: torch.Tensor, selection: torch.Tensor,
                   value: torch.Tensor) -> None:
        self._fp32("memory", self.memory.add_frame, key, shrinkage, selection, value)
        self._remember(key, value)

    def _pad_image(self, lightness: torch.Tensor) -> torch.Tensor:
        """``1 x 3 x Hp x Wp`` (L' repeated, as the reference feeds it) or ``1 x 1 x Hp x Wp`` on the fast path."""
        assert self.pad_amounts is not None
        planes = lightness if self.network.fast else lightness.expand(3, -1, -1)
        return pad(planes, self.pad_amounts)[None]

    def _remember(self, key: torch.Tensor, value: torch.Tensor) -> None:
        self.last_mem_t = self.t
        self.last_key, self.last_value = key, value

    def _start_size(self, height: int, width: int) -> None:
        """Fixes the run's processing size on its first input; every later input must have it."""
        if self.pad_amounts is None:
            self.pad_amounts = pad_amounts(height, width, self.network.config.pad_multiple)
            self.work_hw = (height, width)
        elif self.work_hw != (height, width):
            raise InferenceError("All frames of a segment run must have one processing size.")

    @torch.inference_mode()
    def hold(self, lightness: np.ndarray, exemplar: ExemplarInput, *, work_size: tuple[int, int] | None = None
             ) -> None:
        """Puts a further exemplar into the permanent memory before the run's first step.

        For a ``memory`` transition every exemplar of a shot is in the memory from the start: a keyframe is encoded
        with the luminance of its own frame (``lightness``, ``H x W`` L*, resized to ``work_size`` like a step's),
        a reference with its own, as the first step encodes the run's exemplar.
        """
        with device_errors(self.device):
            plane = lightness_plane(lightness, self.device, work_size)  # 1 x h x w
            height, width = plane.shape[-2:]
            self._start_size(height, width)
            lab = exemplar_lab(exemplar, self.device, height, width)  # 3 x h x w
            keyframe = exemplar.mode == "keyframe"
            with self._autocast():
                entry = self._encode_exemplar(plane if keyframe else lab[:1], lab[1:], exemplar,
                                              lightness if keyframe else None, self.hidden)
                self.memory.add_exemplar(*entry)

    @torch.inference_mode()
    def step(self, lightness: np.ndarray, exemplar: ExemplarInput | None = None, *, end: bool = False,
             work_size: tuple[int, int] | None = None, size: tuple[int, int] | None = None) -> StepResult:
        """Colorizes the next frame (see :meth:`colormnet.engines.base.SegmentEngine.step`).

        Args:
            lightness: ``H x W`` L* of the frame.
            exemplar: an exemplar pinned to this frame (required on the first step).
            end: this is the last frame of the run (it does not become a memory frame).
            work_size: the processing size ``(h, w)`` (None: the frame's).
            size: the size of the chroma and confidence returned (None: the frame's).
        """
        if self.t == 0 and exemplar is None:
            raise InferenceError("The first frame of a segment needs an exemplar.")
        out_hw = size or (lightness.shape[0], lightness.shape[1])
        with device_errors(self.device):
            plane = lightness_plane(lightness, self.device, work_size)  # 1 x h x w
            height, width = plane.shape[-2:]
            self._start_size(height, width)
            lab = None if exemplar is None else exemplar_lab(exemplar, self.device, height, width)
            with self._autocast():
                ab = self._step(self._pad_image(plane), lab, exemplar, end)
            self.t += 1
            if exemplar is not None and exemplar.mode == "keyframe":  # the exemplar's own chroma, at the size asked
                return StepResult(exemplar.lab(*out_hw)[1:], np.ones(out_hw, np.float32))
            ab = unpad(ab, self.pad_amounts)[0].float()  # type: ignore[arg-type]  # 2 x h x w
            return StepResult(to_numpy(ab, out_hw), self._confidence(out_hw))

    @property
    def composes_on_device(self) -> bool:
        """Whether :meth:`step_rgb` pays (on a GPU; on the CPU NumPy's threaded composition is as fast)."""
        return self._device_type == "cuda"

    @torch.inference_mode()
    def step_rgb(self, rgb: np.ndarray, *, end: bool = False, work_size: tuple[int, int] | None = None
                 ) -> ComposedFrame:
        """Colorizes the next frame, given as decoded, and returns it finished (see
        :class:`~colormnet.engines.base.ComposingEngine`).

        Everything from the 8-bit frame to the 8-bit output happens on the network's device: L*, the network, the
        chroma's upsampling, LAB -> RGB. On CUDA the frame goes up and the result comes down through pinned memory
        without blocking, and the host waits for the device once, for the finished frame.

        Args:
            rgb: ``H x W x 3`` uint8 RGB.
            end: this is the last frame of the run.
            work_size: the processing size ``(h, w)`` (None: the frame's).
        """
        if self.t == 0:
            raise InferenceError("The first frame of a segment needs an exemplar.")
        with device_errors(self.device):
            return ComposedFrame(*self.launch_rgb(rgb, end=end, work_size=work_size).arrays())

    @torch.inference_mode()
    def launch_rgb(self, rgb: np.ndarray, *, end: bool = False, work_size: tuple[int, int] | None = None
                   ) -> device_color.HostFrames:
        """Queues :meth:`step_rgb`'s work on the device without waiting for it: ``(rgb, rgb8)`` on their way."""
        frame = device_color.upload(rgb, self.device)  # H x W x 3 uint8
        lightness = device_color.luminance(frame)  # H x W float32 L*
        plane = device_color.normalize_l(lightness)[None]  # 1 x H x W
        ab = self.step_plane(plane if work_size is None else resize_plane(plane, *work_size), end=end)
        if tuple(ab.shape[-2:]) != tuple(lightness.shape):
            ab = F.interpolate(ab[None], size=tuple(lightness.shape), mode="bilinear", align_corners=False)[0]
        composed = device_color.compose_rgb(lightness, ab)  # H x W x 3 float32
        return device_color.HostFrames(composed, device_color.to_uint8_truncated(composed))

    @torch.inference_mode()
    def step_plane(self, plane: torch.Tensor, *, end: bool = False) -> torch.Tensor:
        """The network's part of a step after the first: ``1 x h x w`` normalised L' on the device, at the
        processing size -> ``2 x h x w`` float32 ab' on the device, queued without waiting for the device."""
        if self.t == 0:
            raise InferenceError("The first frame of a segment needs an exemplar.")
        self._start_size(*plane.shape[-2:])
        with self._autocast():
            ab = self._step(self._pad_image(plane), None, None, end)
        self.t += 1
        return unpad(ab, self.pad_amounts)[0].float()  # type: ignore[arg-type]

    def _confidence(self, size: tuple[int, int]) -> np.ndarray:
        """The last readout's top-k mass (on the key grid of the padded frame) at ``size``, in [0, 1]."""
        mass = self.memory.last_mass  # 1 x h/16 x w/16
        assert mass is not None and self.pad_amounts is not None
        left, right, top, bottom = self.pad_amounts
        padded = (self.work_hw[0] + top + bottom, self.work_hw[1] + left + right)
        full = F.interpolate(mass[None].float(), size=padded, mode="bilinear", align_corners=False)[0]
        return np.clip(to_numpy(unpad(full, self.pad_amounts), size)[0], 0.0, 1.0)

    def _exemplar_ident(self, exemplar: ExemplarInput, work: tuple[int, int], lightness: np.ndarray | None = None
                        ) -> Hashable:
        """What an exemplar's memory entry depends on: its pixels (and its frame's luminance for a keyframe held
        from its frame), the processing size and the numerics."""
        pixels = (exemplar.image,) if lightness is None else (exemplar.image, lightness)
        kept = frozenset(part for part in self.fp32_parts if self._keeps_fp32(part))
        return exemplar.mode, pixels_digest(*pixels), work, self.autocast_dtype, kept, self.network.fast

    def _encode_exemplar(self, plane: torch.Tensor, ab: torch.Tensor, exemplar: ExemplarInput,
                         lightness: np.ndarray | None = None, hidden: torch.Tensor | None = None) -> ExemplarEntry:
        """The memory entry of an exemplar seen as ``plane`` (``1 x h x w`` L') with chroma ``ab`` (``2 x h x w``):
        with the zero hidden state of a run's start (kept for later runs), or with ``hidden`` (not kept)."""
        net = self.network

        def encode() -> ExemplarEntry:
            image = self._pad_image(plane)
            padded_ab = pad(ab, self.pad_amounts)[None].to(image.dtype)  # type: ignore[arg-type]
            f16, key, shrinkage, _ = net.encode_memory_key(image, self._key_fp32)
            state = hidden if hidden is not None else net.init_hidden(key)
            value, _ = self._fp32("value_encoder", net.encode_value, image, f16, state, padded_ab, deep_update=False)
            return ExemplarEntry(key, shrinkage, value)

        if self.exemplar_cache is None or hidden is not None:
            return encode()
        ident = self._exemplar_ident(exemplar, (plane.shape[-2], plane.shape[-1]), lightness)
        return self.exemplar_cache.get_or_encode(ident, encode)

    def _step(self, image: torch.Tensor, lab: torch.Tensor | None, exemplar: ExemplarInput | None, end: bool
              ) -> torch.Tensor:
        """One frame through the network: ``image`` (padded L') and, on the first step, the exemplar and its
        ``3 x h x w`` Lab -> padded ``1 x 2 x Hp x Wp`` ab'."""
        net, cfg = self.network, self.config
        mem_frame = (self.t - self.last_mem_t >= cfg.mem_every or lab is not None) and not end
        normal_update = not mem_frame and not end
        f16, f8, f4, key, shrinkage, selection = net.encode_key(image, self._key_fp32)
        if self.hidden is None:
            self.hidden = net.init_hidden(key)

        if lab is not None and exemplar is not None and exemplar.mode == "keyframe":
            ab = pad(lab[1:], self.pad_amounts)[None].to(image.dtype)  # type: ignore[arg-type]
            if not end:
                value, self.hidden = self._fp32("value_encoder", net.encode_value, image, f16, self.hidden, ab,
                                                deep_update=True)
                self._add_exemplar(key, shrinkage, value)
            return ab

        if lab is not None and exemplar is not None:  # reference: encode it, then predict this frame from it alone
            hidden = None if self.t == 0 else self.hidden
            self._add_exemplar(*self._encode_exemplar(lab[:1], lab[1:], exemplar, hidden=hidden))
            readout = self._read_memory(key, selection, f16)
            _, ab = self._fp32("decoder", net.decode, (f16, f8, f4), readout, self.hidden, update_hidden=False)
            if mem_frame:
                value, _ = self._fp32("value_encoder", net.encode_value, image, f16, self.hidden, ab, deep_update=False)
                self._add_frame(key, shrinkage, selection, value)
            return ab

        assert self.last_key is not None and self.last_value is not None
        readout = self._read_memory(key, selection, f16)
        readout = readout + net.local_readout(key, self.last_key, self.last_value).to(readout.dtype)
        self.hidden, ab = self._fp32("decoder", net.decode, (f16, f8, f4), readout, self.hidden,
                                     update_hidden=normal_update)
        if mem_frame:
            value, self.hidden = self._fp32("value_encoder", net.encode_value, image, f16, self.hidden, ab,
                                            deep_update=True)
            self._add_frame(key, shrinkage, selection, value)
        return ab
