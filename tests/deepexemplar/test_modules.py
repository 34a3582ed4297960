"""Module shapes at small sizes, the matching (softmax vs argmax, several references, masks), the Lab helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colormnet import color
from colormnet.engines.deepexemplar.colorization import ColorizationNet
from colormnet.engines.deepexemplar.correspondence import CorrespondenceNet, ReferenceTable, match
from colormnet.engines.deepexemplar.lab import centred_lab, centred_lab_to_rgb, gray_uint8
from colormnet.engines.deepexemplar.vgg import VGG19Trunk


@pytest.fixture(scope="module")
def small_nets() -> tuple[VGG19Trunk, CorrespondenceNet, ColorizationNet]:
    torch.manual_seed(0)
    return VGG19Trunk().eval(), CorrespondenceNet().eval(), ColorizationNet().eval()


@pytest.mark.parametrize("size", [(48, 80), (56, 64)])  # h % 16 == 0 and == 8 (the layer5 row padding)
def test_shapes(small_nets, size: tuple[int, int]) -> None:
    vgg, corr, colornet = small_nets
    h, w = size
    with torch.inference_mode():
        feats = vgg.normalized(torch.rand(1, 3, h, w))
        assert [tuple(f.shape[1:]) for f in feats] == [
            (128, h // 2, w // 2), (256, h // 4, w // 4), (512, h // 8, w // 8), (512, h // 16, w // 16)]
        assert torch.allclose(feats.r32.norm(dim=1), torch.ones(1), atol=1e-4)
        assert corr.trunk(feats).shape == (1, 256, h // 4, w // 4)
        theta = corr.target_keys(feats)
        assert theta.shape == (256, h * w // 16)
        assert torch.allclose(theta.norm(dim=0), torch.ones(1), atol=1e-4)
        ab = colornet(torch.randn(1, 7, h, w))
        assert ab.shape == (1, 2, h, w) and ab.abs().max() <= 128


def _table(generator: torch.Generator, n: int) -> ReferenceTable:
    keys = torch.nn.functional.normalize(torch.randn(8, n, generator=generator), dim=0)
    return ReferenceTable(keys, torch.randn(n, 3, generator=generator) * 40)


def test_match_is_an_argmax_and_joins_references() -> None:
    g = torch.Generator().manual_seed(1)
    theta = torch.nn.functional.normalize(torch.randn(8, 12, generator=g), dim=0)
    first, second = _table(g, 12), _table(g, 12)
    warped, sim = match(theta, first, (3, 4))
    corr = theta.t() @ first.keys
    best = corr.argmax(1)
    assert warped.shape == (1, 3, 12, 16) and sim.shape == (1, 1, 12, 16)
    assert torch.equal(warped[0, :, ::4, ::4].reshape(3, -1).t(), first.colours[best])
    assert torch.allclose(sim[0, 0, ::4, ::4].flatten(), corr.max(1).values)
    # Joint matching picks, per position, the better of both references.
    joint_warped, joint_sim = match(theta, ReferenceTable.concat([first, second]), (3, 4))
    warped2, sim2 = match(theta, second, (3, 4))
    assert torch.equal(joint_sim, torch.maximum(sim, sim2))
    assert torch.equal(joint_warped, torch.where(sim2 > sim, warped2, warped))
    # A reference repeated gives exactly the single-reference result (ties between equal colours).
    same_warped, same_sim = match(theta, ReferenceTable.concat([first, first]), (3, 4))
    assert torch.equal(same_warped, warped) and torch.equal(same_sim, sim)


def test_masked_positions_are_never_matched() -> None:
    g = torch.Generator().manual_seed(2)
    theta = torch.nn.functional.normalize(torch.randn(8, 12, generator=g), dim=0)
    table = _table(g, 12)
    valid = torch.ones(12, dtype=torch.bool)
    valid[(theta.t() @ table.keys).argmax(1)] = False  # forbid every first choice
    warped, _ = match(theta, ReferenceTable(table.keys, table.colours, valid), (3, 4))
    picked = warped[0, :, ::4, ::4].reshape(3, -1).t()
    allowed = table.colours[valid]
    assert all((allowed == row).all(1).any() for row in picked)


def test_lab_round_trip_and_gray_inverse() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    lab = centred_lab(rgb)
    back = centred_lab_to_rgb(lab)[0].permute(1, 2, 0).numpy()
    assert np.abs(back - rgb / 255.0).max() < 1e-4
    assert centred_lab_to_rgb(lab).is_contiguous(memory_format=torch.channels_last)
    levels = np.arange(256, dtype=np.uint8)[None].repeat(3, 0)
    gray = np.stack([levels] * 3, -1)
    np.testing.assert_array_equal(gray_uint8(color.luminance(gray)), gray)
