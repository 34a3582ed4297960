"""Conformance with the official code: two frames of a real clip, teacher-forced, at the official framing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet import color
from colormnet.engines.deepexemplar.engine import DeepExemplarOptions, postprocess, prepare_picture
from colormnet.engines.deepexemplar.framing import Placement
from colormnet.engines.deepexemplar.lab import L_CENTRE, guide_uint8

from .conftest import GOLDEN

OFFICIAL = DeepExemplarOptions(framing="official")


def _picture(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = np.asarray(Image.open(GOLDEN / name).convert("RGB"))
    return prepare_picture(rgb, Placement.create(*rgb.shape[:2], "official"))


@pytest.fixture(scope="module")
def official_run(de_network, golden: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Our outputs for both golden frames, each fed the official previous-frame input."""
    _, ref_half = _picture("ref.png")
    outputs = []
    with torch.inference_mode():
        table = de_network.reference_table(ref_half)
        for index in range(2):
            large, half = _picture(f"frames/{index:05d}.png")
            previous = torch.zeros_like(half)
            if index == 1:
                previous = torch.cat([torch.from_numpy(golden["IA_lab_0"][None, :1]),
                                      torch.from_numpy(golden["ab_predict"][None, 0])], 1)
            pred = de_network(half[:, :1], table, previous)
            guide = guide_uint8(large[0, 0].numpy() + L_CENTRE)
            ab = postprocess(pred.ab, guide, (432, 768), OFFICIAL).numpy()
            lab = np.stack([large[0, 0].numpy().astype(np.float64) + L_CENTRE, ab[0], ab[1]], -1)
            rgb = color.to_uint8_truncated(color.lab_to_rgb(lab))
            outputs.append(dict(ref=ref_half[0].numpy(), half=half[0].numpy(), warped=pred.warped[0].numpy(),
                                similarity=pred.similarity[0].numpy(), ab=pred.ab[0].numpy(), guide=guide,
                                fgs=ab, rgb=rgb))
    return outputs


def test_inputs_match(official_run, golden) -> None:
    assert np.abs(official_run[0]["ref"] - golden["IB_lab"]).max() <= 1e-4
    assert np.abs(official_run[0]["half"] - golden["IA_lab_0"]).max() <= 1e-4
    np.testing.assert_array_equal(official_run[0]["guide"], golden["fgs_guide_uint8_0"])


@pytest.mark.parametrize("index", [0, 1])
def test_networks_match(official_run, golden, index: int) -> None:
    ours = official_run[index]
    warped_err = np.abs(ours["warped"] - golden["nonlocal_BA_lab"][index])
    # A warped colour may jump where two reference positions tie; there must be (almost) none of those.
    assert (warped_err > 1e-3).mean() < 1e-3, f"{(warped_err > 1e-3).sum()} warped pixels differ"
    assert np.abs(ours["similarity"] - golden["similarity_map"][index]).max() <= 1e-4
    assert np.abs(ours["ab"] - golden["ab_predict"][index]).max() <= 0.05


def test_filter_and_rgb_match(official_run, golden) -> None:
    assert np.abs(official_run[0]["fgs"] - golden["fgs_out_0"]).max() <= 0.05
    for index in range(2):
        diff = np.abs(official_run[index]["rgb"].astype(int) - golden["out_rgb_uint8"][index].astype(int))
        assert (diff <= 1).mean() >= 0.999, f"frame {index}: {(diff > 1).mean():.4%} pixels off by more than 1"
