"""Configuration dataclasses.

:class:`ModelConfig` is tied to a checkpoint (its values are read off the state dict's shapes); the
:class:`InferenceConfig` holds the per-video memory schedule. Paper symbols (Yang et al., ECCV 2024, and XMem) are
given in each comment.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

from colormnet.errors import SettingsError

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the network; the official checkpoint fixes every value."""

    key_dim: int = 64  # C^k: channels of the memory key (key_proj.key_proj.weight.shape[0])
    value_dim: int = 512  # C^v: channels of a value per object (value_encoder.fuser.block2.conv2.weight.shape[0])
    hidden_dim: int = 64  # channels of the decoder's hidden state per object
    num_objects: int = 2  # the a and b chroma channels are handled as two "objects"
    vit_dim: int = 384  # DINOv2 ViT-S/14 embedding width
    vit_depth: int = 12
    vit_heads: int = 6
    vit_patch: int = 14
    vit_grid: int = 37  # side of the pretrained positional-embedding grid (518 / 14)
    local_window: int = 7  # maximum displacement of the local attention (15x15 window)
    pad_multiple: int = 112  # lcm(14, 16): ViT patch and /16 stride both divide the padded size


@dataclass(frozen=True)
class InferenceConfig:
    """Memory schedule of one segment; the defaults are the official ones.

    Raises:
        SettingsError: a value that is not a whole number of at least 1, ``min_mid_term_frames`` outside
            ``[2, max_mid_term_frames)``, or ``max_long_term_elements`` not above ``num_prototypes``. The message
            has no final full stop, so that the GUI can quote it in a sentence.
    """

    mem_every: int = 5  # gamma: a frame becomes a memory frame every gamma frames
    top_k: int = 30  # k of the top-k memory readout
    max_mid_term_frames: int = 10  # T_max (N_s): working-memory frames that trigger consolidation
    min_mid_term_frames: int = 5  # T_min (N_e): working-memory frames kept after consolidation
    num_prototypes: int = 128  # P (M): long-term prototypes made per consolidation
    max_long_term_elements: int = 10000  # LT_max: long-term capacity before eviction
    enable_long_term: bool = True  # consolidate into long-term memory (off: working memory only, unbounded)

    def __post_init__(self) -> None:
        for name in ("mem_every", "top_k", "max_mid_term_frames", "min_mid_term_frames", "num_prototypes",
                     "max_long_term_elements"):
            _check_count(name, getattr(self, name))
        if not isinstance(self.enable_long_term, bool):
            raise SettingsError(f"enable_long_term must be true or false, got {self.enable_long_term!r}")
        if not 2 <= self.min_mid_term_frames < self.max_mid_term_frames:
            raise SettingsError(
                f"min_mid_term_frames must be at least 2 and below max_mid_term_frames, got {self.min_mid_term_frames} "
                f"and {self.max_mid_term_frames}"
            )
        if self.max_long_term_elements <= self.num_prototypes:
            raise SettingsError(
                f"max_long_term_elements must exceed num_prototypes, got {self.max_long_term_elements} and "
                f"{self.num_prototypes}"
            )


def _check_count(name: str, value: object) -> None:
    """Refuses anything but a whole number of at least 1 (``bool`` included, which is an int to Python)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingsError(f"{name} must be a whole number, got {value!r}")
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
