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

All tensors are ``B = 1``. Inputs are normalised (``L'`` in [-1, 1], ``a' = a / 110``, ``b' = b / 110``) at the
processing size; padding to multiples of 112 happens here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

from colormnet.color import pad, pad_amounts, unpad
from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.memory_manager import MemoryManager
from colormnet.engines.colormnet.model.network import ColorMNet
from colormnet.errors import InferenceError

_T = TypeVar("_T")


def _float(value: Any) -> Any:
    """``value`` with its tensors (also inside a tuple) in fp32."""
    if isinstance(value, torch.Tensor):
        return value.float()
    return tuple(_float(v) for v in value) if isinstance(value, tuple) else value


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
    #: ``decoder`` (and ``value_encoder`` if added). Under autocast the memory's matrix products would round the
    #: keys to bf16 (8 bits of mantissa) although the similarity code asks for fp32, so near-equal similarities swap
    #: places in the top-k; the decoder's output layers and hidden state round the chroma itself. Both are cheap
    #: next to the key encoder, which stays in bf16. ``benchmarks/cpu_bf16.py`` varies this set to measure what each
    #: part costs and saves; CUDA keeps everything under autocast (fp16 keeps 11 bits).
    fp32_parts: frozenset[str] = frozenset({"memory", "decoder"})

    def __init__(self, network: ColorMNet, config: InferenceConfig, autocast_dtype: torch.dtype | None = None):
        self.network = network
        self.config = config
        self.autocast_dtype = autocast_dtype
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

    @property
    def _device_type(self) -> str:
        return next(self.network.parameters()).device.type

    def _autocast(self) -> contextlib.AbstractContextManager:
        device_type = self._device_type
        if self.autocast_dtype is None:
            return ieee_fp32() if device_type == "cuda" else contextlib.nullcontext()
        return torch.autocast(device_type, dtype=self.autocast_dtype)

    def _keeps_fp32(self, part: str) -> bool:
        return part in self.fp32_parts and self.autocast_dtype == torch.bfloat16 and self._device_type == "cpu"

    def _fp32(self, part: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)``, in fp32 outside autocast (tensors in ``args`` made fp32) if ``part`` keeps fp32."""
        if not self._keeps_fp32(part):
            return fn(*args, **kwargs)
        with torch.autocast("cpu", enabled=False):
            return fn(*(_float(a) for a in args), **kwargs)

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

    @torch.inference_mode()
    def hold(self, lightness: torch.Tensor, exemplar: ExemplarInput) -> None:
        """Puts a further exemplar into the permanent memory before the run's first step.

        For a ``memory`` transition every exemplar of a shot is in the memory from the start: a keyframe is encoded
        with the luminance of its own frame (``lightness``, ``1 x H x W`` normalised L' at the processing size), a
        reference with its own, as the first step encodes the run's exemplar.
        """
        height, width = lightness.shape[-2:]
        if exemplar.lab.shape[-2:] != (height, width):
            raise InferenceError("The exemplar must be resized to the frame's processing size.")
        if self.pad_amounts is None:
            self.pad_amounts = pad_amounts(height, width, self.network.config.pad_multiple)
        net = self.network
        with self._autocast():
            image = self._pad_image(lightness if exemplar.mode == "keyframe" else exemplar.lab[:1])
            ab = pad(exemplar.lab[1:], self.pad_amounts)[None].to(image.dtype)
            f16, _, _, key, shrinkage, _ = net.encode_key(image)
            hidden = self.hidden if self.hidden is not None else net.init_hidden(key)
            value, _ = net.encode_value(image, f16, hidden, ab, deep_update=False)
            self.memory.add_exemplar(key, shrinkage, value)

    @torch.inference_mode()
    def step(self, lightness: torch.Tensor, exemplar: ExemplarInput | None = None, end: bool = False) -> torch.Tensor:
        """Colorizes the next frame.

        Args:
            lightness: ``1 x H x W`` normalised L' of the frame.
            exemplar: an exemplar pinned to this frame (required on the first step).
            end: this is the last frame of the run (it does not become a memory frame).

        Returns:
            ``2 x H x W`` normalised chroma ``ab'``.
        """
        if self.t == 0 and exemplar is None:
            raise InferenceError("The first frame of a segment needs an exemplar.")
        height, width = lightness.shape[-2:]
        if self.pad_amounts is None:
            self.pad_amounts = pad_amounts(height, width, self.network.config.pad_multiple)
        if exemplar is not None and exemplar.lab.shape[-2:] != (height, width):
            raise InferenceError("The exemplar must be resized to the frame's processing size.")
        with self._autocast():
            ab = self._step(self._pad_image(lightness), exemplar, end)
        self.t += 1
        return unpad(ab, self.pad_amounts)[0].float()

    def _step(self, image: torch.Tensor, exemplar: ExemplarInput | None, end: bool) -> torch.Tensor:
        net, cfg = self.network, self.config
        mem_frame = (self.t - self.last_mem_t >= cfg.mem_every or exemplar is not None) and not end
        normal_update = not mem_frame and not end
        f16, f8, f4, key, shrinkage, selection = net.encode_key(image)
        if self.hidden is None:
            self.hidden = net.init_hidden(key)

        if exemplar is not None and exemplar.mode == "keyframe":
            ab = pad(exemplar.lab[1:], self.pad_amounts)[None].to(image.dtype)  # type: ignore[arg-type]
            if not end:
                value, self.hidden = self._fp32("value_encoder", net.encode_value, image, f16, self.hidden, ab,
                                                deep_update=True)
                self._add_exemplar(key, shrinkage, value)
            return ab

        if exemplar is not None:  # reference: encode the exemplar itself, then predict this frame from it alone
            ex_image = self._pad_image(exemplar.lab[:1])
            ex_ab = pad(exemplar.lab[1:], self.pad_amounts)[None].to(image.dtype)  # type: ignore[arg-type]
            ex_f16, _, _, ex_key, ex_shrinkage, _ = net.encode_key(ex_image)
            ex_value, _ = self._fp32("value_encoder", net.encode_value, ex_image, ex_f16, self.hidden, ex_ab,
                                     deep_update=False)
            self._add_exemplar(ex_key, ex_shrinkage, ex_value)
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
