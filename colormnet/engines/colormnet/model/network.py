"""ColorMNet (Yang et al., ECCV 2024): the network as a set of modules, with the checkpoint's parameter names.

The per-frame control flow (memory, hidden state, exemplars) lives in the engine (:mod:`~..inference`); this
module only exposes the pieces it calls. Module paths reproduce the official state-dict keys exactly, so the
released checkpoint loads with ``strict=True`` and no conversion.

Legend: ``O = 2`` objects (the a and b chroma channels), ``h x w`` the /16 grid of the padded frame.
"""

from __future__ import annotations

import torch
from torch import nn

from colormnet.config import ModelConfig
from colormnet.engines.colormnet.model.blocks import in_fp32
from colormnet.engines.colormnet.model.decoder import Decoder
from colormnet.engines.colormnet.model.dinov2 import VisionTransformer
from colormnet.engines.colormnet.model.key_encoder import KeyEncoder, KeyProjection
from colormnet.engines.colormnet.model.local_attention import LocalAttention
from colormnet.engines.colormnet.model.value_encoder import ValueEncoder


class ColorMNet(nn.Module):
    """All modules of ColorMNet; see the engine for how a video flows through them.

    Args:
        config: the architecture (the checkpoint's).
        fast: use the exact rewrites (:mod:`~.rewrites`, banded local attention, and in the engine a
            sparse memory readout and the luminance plane instead of three copies). ``False`` is the literal
            computation of the official code, kept as the reference; outputs agree to float rounding.
    """

    def __init__(self, config: ModelConfig | None = None, *, fast: bool = True) -> None:
        super().__init__()
        self._fast = fast
        self.config = config = config or ModelConfig()
        vit = VisionTransformer(
            patch_size=config.vit_patch,
            dim=config.vit_dim,
            depth=config.vit_depth,
            num_heads=config.vit_heads,
            pos_grid=config.vit_grid,
        )
        self.key_encoder = KeyEncoder(vit)
        self.value_encoder = ValueEncoder(config.value_dim, config.hidden_dim)
        self.key_proj = KeyProjection(1024, config.key_dim)
        self.short_term_attn = LocalAttention(
            config.key_dim, config.value_dim * config.num_objects, config.local_window
        )
        self.decoder = Decoder(config.value_dim, config.hidden_dim)
        self.fast = fast

    @property
    def fast(self) -> bool:
        """Whether the exact rewrites are used (``False``: the literal reference computation)."""
        return self._fast

    @fast.setter
    def fast(self, value: bool) -> None:
        self._fast = value
        for module in self.modules():
            if module is not self and hasattr(module, "fast"):
                module.fast = value  # type: ignore[assignment]

    def encode_key(self, image: torch.Tensor, fp32: frozenset[str] = frozenset()) -> tuple[torch.Tensor, ...]:
        """Key features of a ``B x 3 x Hp x Wp`` image (or of the ``B x 1 x Hp x Wp`` luminance it repeats).

        Args:
            fp32: parts run outside autocast: ``dino`` (the DINOv2 branch), ``key_projection``.

        Returns:
            f16, f8, f4, key ``B x C_k x h x w``, shrinkage ``B x 1 x h x w``, selection ``B x C_k x h x w``.
        """
        f16, f8, f4 = self.key_encoder(image, dino_in_fp32="dino" in fp32)
        return f16, f8, f4, *self._project(f16, fp32)

    def encode_memory_key(self, image: torch.Tensor, fp32: frozenset[str] = frozenset()) -> tuple[torch.Tensor, ...]:
        """What a memory entry needs of :meth:`encode_key`: f16, key, shrinkage, selection (no f8, f4)."""
        f16 = self.key_encoder.f16(image, dino_in_fp32="dino" in fp32)
        return f16, *self._project(f16, fp32)

    def _project(self, f16: torch.Tensor, fp32: frozenset[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Key, shrinkage and selection of f16 (outside autocast where ``fp32`` names ``key_projection``)."""
        return in_fp32(self.key_proj, f16) if "key_projection" in fp32 else self.key_proj(f16)

    def encode_value(
        self, image: torch.Tensor, f16: torch.Tensor, hidden: torch.Tensor, chroma: torch.Tensor, deep_update: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory value ``B x O x C_v x h x w`` and hidden state; see :class:`ValueEncoder`."""
        return self.value_encoder(image, f16, hidden, chroma, deep_update)

    def local_readout(self, key: torch.Tensor, last_key: torch.Tensor, last_value: torch.Tensor) -> torch.Tensor:
        """Local attention to the last memory frame, reshaped like a memory readout ``B x O x C_v x h x w``."""
        b, o = last_value.shape[:2]
        out = self.short_term_attn(key, last_key, last_value.flatten(1, 2))
        return out.view(b, o, -1, *out.shape[-2:])

    def decode(
        self,
        feats: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        readout: torch.Tensor,
        hidden: torch.Tensor,
        update_hidden: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """New hidden state and normalised chroma ``ab' = tanh(logits)``, ``B x 2 x Hp x Wp``."""
        hidden, logits = self.decoder(*feats, readout, hidden, update_hidden)
        return hidden, torch.tanh(logits)

    def init_hidden(self, key: torch.Tensor) -> torch.Tensor:
        """A zero hidden state shaped for the frame of ``key``."""
        b, _, h, w = key.shape
        return key.new_zeros(b, self.config.num_objects, self.config.hidden_dim, h, w)
