"""The Deep Exemplar network: VGG19 trunk, correspondence subnet and colorization subnet, at the network size.

Legend: all tensors are ``B = 1``; ``H x W`` is the network size (216 x 384 for the 432 x 768 canvas); Lab is
centred (``L - 50``, raw ``a``, ``b``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from colormnet.engines.deepexemplar.colorization import ColorizationNet
from colormnet.engines.deepexemplar.correspondence import TEMPERATURE, CorrespondenceNet, ReferenceTable, match
from colormnet.engines.deepexemplar.lab import centred_lab_to_rgb, gray_rgb
from colormnet.engines.deepexemplar.vgg import VGG19Trunk
from colormnet.engines.deepexemplar.weights import DeepExemplarWeights

__all__ = ["DeepExemplarNetwork", "Prediction"]


class Prediction(NamedTuple):
    """One frame's network outputs."""

    ab: torch.Tensor  # 1 x 2 x H x W predicted a, b (tanh x 128 range)
    warped: torch.Tensor  # 1 x 3 x H x W reference Lab warped onto the frame
    similarity: torch.Tensor  # 1 x 1 x H x W best cosine similarity of each position


class DeepExemplarNetwork(nn.Module):
    """The three official modules under one roof (``vgg``, ``correspondence``, ``colorization``)."""

    def __init__(self) -> None:
        super().__init__()
        self.vgg = VGG19Trunk()
        self.correspondence = CorrespondenceNet()
        self.colorization = ColorizationNet()

    @classmethod
    def from_weights(cls, weights: DeepExemplarWeights) -> DeepExemplarNetwork:
        """Builds the network and loads the three state dicts strictly; eval mode, no gradients."""
        net = cls()
        net.vgg.load_state_dict(weights.vgg, strict=True)
        net.correspondence.load_state_dict(weights.correspondence, strict=True)
        net.colorization.load_state_dict(weights.colorization, strict=True)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    def reference_table(self, lab: torch.Tensor, valid: torch.Tensor | None = None) -> ReferenceTable:
        """Encodes one reference.

        Args:
            lab: ``1 x 3 x H x W`` centred Lab of the reference at the network size.
            valid: flattened ``H/4 x W/4`` mask of the positions that show the picture (None: all).
        """
        feats = self.vgg.normalized(centred_lab_to_rgb(lab))
        return self.correspondence.reference_table(feats, lab, valid)

    def forward(
        self,
        lightness: torch.Tensor,
        table: ReferenceTable,
        previous: torch.Tensor,
        valid: torch.Tensor | None = None,
        tau: float = TEMPERATURE,
    ) -> Prediction:
        """Colorizes one frame.

        Args:
            lightness: ``1 x 1 x H x W`` centred L of the frame.
            table: the reference(s), from :meth:`reference_table`.
            previous: ``1 x 3 x H x W`` the previous frame's centred L and predicted ab (zeros for the first frame).
            valid: flattened mask of the frame's positions that show the picture (None: all); only the centring
                of the frame's embeddings uses it.
            tau: softmax temperature of the matching.
        """
        feats = self.vgg.normalized(gray_rgb(lightness))
        theta = self.correspondence.target_keys(feats, valid)
        grid = (lightness.shape[-2] // 4, lightness.shape[-1] // 4)
        warped, similarity = match(theta, table, grid, tau)
        warped, similarity = warped.to(lightness.dtype), similarity.to(lightness.dtype)
        x = torch.cat([lightness, warped[:, 1:3], similarity, previous], 1)
        return Prediction(self.colorization(x), warped, similarity)
