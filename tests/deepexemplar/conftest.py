"""Fixtures of the Deep Exemplar tests: the golden random weights, the full-size network built once and a weights
folder written once (whole-pipeline runs take the small canvas of ``small_deepexemplar_canvas``, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colormnet.engines.deepexemplar.weights import DeepExemplarWeights, random_state_dicts, save_random_weights

DATA = Path(__file__).parent.parent / "data"
GOLDEN = DATA / "deepexemplar"
CLIPS = DATA / "clips"


@pytest.fixture(scope="session")
def de_state_dicts() -> dict[str, dict[str, torch.Tensor]]:
    """The golden random weights (seed 0), one state dict per official file."""
    return random_state_dicts(seed=0)


@pytest.fixture(scope="session")
def de_network(de_state_dicts: dict[str, dict[str, torch.Tensor]]):
    """The full-size network with the golden weights, loaded strictly, built once per test run."""
    from colormnet.engines.deepexemplar.network import DeepExemplarNetwork

    weights = DeepExemplarWeights(
        de_state_dicts["vgg19_conv.pth"], de_state_dicts["nonlocal_net_iter_76000.pth"],
        de_state_dicts["colornet_iter_76000.pth"], Path("."), 0,
    )
    return DeepExemplarNetwork.from_weights(weights)


@pytest.fixture(scope="session")
def de_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the three random checkpoint files (seed 0), written once per test run."""
    return save_random_weights(tmp_path_factory.mktemp("deepexemplar") / "weights", seed=0)


@pytest.fixture(scope="session")
def golden() -> dict[str, np.ndarray]:
    """The official outputs (see tests/data/deepexemplar/README.md), de-quantised."""
    data = dict(np.load(GOLDEN / "official_frames.npz"))
    frame1 = data.pop("ab_predict_1_q256").astype(np.float32) / 256
    data["ab_predict"] = np.stack([data.pop("ab_predict_0"), frame1])
    data["fgs_out_0"] = data.pop("fgs_out_frame0_q128").astype(np.float32) / 128
    return data
