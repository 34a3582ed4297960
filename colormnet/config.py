"""Configuration dataclasses.

:class:`ModelConfig` is tied to a checkpoint (its values are read off the state dict's shapes); the
:class:`InferenceConfig` holds the per-video memory schedule. Paper symbols (Yang et al., ECCV 2024, and XMem) are
given in each comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    """Memory schedule of one segment; the defaults are the official ones."""

    mem_every: int = 5  # gamma: a frame becomes a memory frame every gamma frames
    top_k: int = 30  # k of the top-k memory readout
    max_mid_term_frames: int = 10  # T_max (N_s): working-memory frames that trigger consolidation
    min_mid_term_frames: int = 5  # T_min (N_e): working-memory frames kept after consolidation
    num_prototypes: int = 128  # P (M): long-term prototypes made per consolidation
    max_long_term_elements: int = 10000  # LT_max: long-term capacity before eviction
    enable_long_term: bool = True  # consolidate into long-term memory (off: working memory only, unbounded)

    def __post_init__(self) -> None:
        if self.mem_every < 1:
            raise ValueError("mem_every must be at least 1")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if not 2 <= self.min_mid_term_frames < self.max_mid_term_frames:
            raise ValueError("need 2 <= min_mid_term_frames < max_mid_term_frames")
        if self.num_prototypes < 1 or self.max_long_term_elements <= self.num_prototypes:
            raise ValueError("need 1 <= num_prototypes < max_long_term_elements")
