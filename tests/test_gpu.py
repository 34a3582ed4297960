"""CUDA paths (skipped without a GPU): fp32 on CUDA matches the official fp32 outputs, autocast stays close to them.

The tolerances come from an H200 (torch 2.11, cu130), mean / max abs ``ab'`` over the 8 golden frames:

* reference path, fp32 (TF32 off, as the engine runs it): ~8e-7 / ~8e-6 on every frame;
* fast path, fp32: the same, except frame 4, where the 30th and 31st memory elements of one query differ by 2.4e-6
  in similarity (the closest call of the run; ~1e-5 or more on the other frames), so rounding-level differences in
  the keys can swap them: 1.6e-4 / 6e-3 there, fading over the next frames (mean over the run ~2e-5);
* TF32 convolutions (PyTorch's default): ~5e-4 / ~9e-3 on every frame, which the fp32 bounds below reject;
* fp16 autocast ~1e-3 / ~1.3e-2, bf16 ~5e-3 / ~4.3e-2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from tests.conftest import GOLDEN

pytestmark = pytest.mark.gpu


def cuda_differences(state_dict, fast: bool, autocast: torch.dtype | None) -> list[np.ndarray]:
    """Absolute differences to the official fp32 chroma, frame by frame, for the network run on CUDA."""
    from colormnet.engines.colormnet.model.network import ColorMNet

    network = ColorMNet(fast=fast).eval()
    network.load_state_dict(state_dict)
    network = network.cuda()
    inputs = np.load(GOLDEN / "official_inputs.npz")
    golden = np.load(GOLDEN / "official_ab_reference.npz")["ab"]
    engine = InferenceEngine(network, InferenceConfig(), autocast_dtype=autocast)
    exemplar = ExemplarInput(np.asarray(Image.open(GOLDEN / "exemplar.png").convert("RGB")), "reference")
    differences = []
    for t, frame in enumerate(inputs["frames_L"]):
        ab = engine.step(frame * np.float32(50) + np.float32(50), exemplar if t == 0 else None).ab
        assert np.isfinite(ab).all(), t
        differences.append(np.abs(ab - golden[t]))
    return differences


def test_cuda_fp32_reference_path_equals_the_official_outputs(golden_state_dict) -> None:
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    for t, diff in enumerate(cuda_differences(golden_state_dict, fast=False, autocast=None)):
        assert diff.mean() < 1e-5 and diff.max() < 1e-4, (t, diff.mean(), diff.max())
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == tf32  # restored


def test_cuda_fp32_fast_path_follows_the_official_outputs(golden_state_dict) -> None:
    differences = cuda_differences(golden_state_dict, fast=True, autocast=None)
    assert differences[0].max() < 1e-4  # frame 0's closest top-k call is 1.4e-4 apart, far above rounding
    assert np.mean([d.mean() for d in differences]) < 1e-4
    assert max(d.max() for d in differences) < 2e-2


@pytest.mark.parametrize(
    ("autocast", "mean_tol", "max_tol"), [(torch.float16, 5e-3, 5e-2), (torch.bfloat16, 2e-2, 0.1)]
)
def test_cuda_autocast_stays_close_to_the_official_outputs(golden_state_dict, autocast, mean_tol, max_tol) -> None:
    for t, diff in enumerate(cuda_differences(golden_state_dict, fast=True, autocast=autocast)):
        assert diff.mean() < mean_tol and diff.max() < max_tol, (t, diff.mean(), diff.max())
