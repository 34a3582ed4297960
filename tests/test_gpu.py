"""CUDA paths (skipped without a GPU): fp16 autocast stays close to the fp32 reference, fp32 on CUDA matches it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colormnet.config import InferenceConfig
from colormnet.inference.engine import ExemplarInput, InferenceEngine
from tests.conftest import GOLDEN

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize(("autocast", "mean_tol", "max_tol"), [(None, 1e-4, 1e-3), (torch.float16, 2e-2, 0.3)])
def test_cuda_outputs_follow_the_official_fp32_outputs(golden_state_dict, autocast, mean_tol, max_tol) -> None:
    from colormnet.model.network import ColorMNet

    network = ColorMNet().eval()
    network.load_state_dict(golden_state_dict)
    network = network.cuda()
    inputs = np.load(GOLDEN / "official_inputs.npz")
    golden = np.load(GOLDEN / "official_ab_reference.npz")["ab"]
    engine = InferenceEngine(network, InferenceConfig(), autocast_dtype=autocast)
    exemplar = ExemplarInput(torch.from_numpy(inputs["exemplar_lab"]).cuda(), "reference")
    for t, frame in enumerate(inputs["frames_L"]):
        ab = engine.step(torch.from_numpy(frame)[None].cuda(), exemplar if t == 0 else None).cpu().numpy()
        diff = np.abs(ab - golden[t])
        assert np.isfinite(ab).all()
        assert diff.mean() < mean_tol and diff.max() < max_tol, (t, diff.mean(), diff.max())
