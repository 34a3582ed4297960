"""The networks behind LPIPS and FID, in plain PyTorch, with loaders for locally stored weights.

Nothing here downloads anything: both metrics need network weights the user supplies as files.

- :class:`LPIPS` (Zhang et al., 2018, version 0.1 with the AlexNet backbone): unit-normalised activations of five
  AlexNet ReLUs, squared differences weighted per channel by the learned linear layers, averaged over space and
  summed over layers. Its weights come in two parts, the AlexNet backbone (torchvision's ``alexnet`` ImageNet
  checkpoint) and the linear layers (``alex.pth`` of the LPIPS release); :func:`load_lpips` merges any number of
  files and accepts either part's layout, or the whole ``lpips.LPIPS`` module's state dict.
- :class:`InceptionFeatures`: Inception-v3 up to its 2048-d average pool, the FID feature. With the FID weights
  (``pt_inception-2015-12-05``, the TensorFlow graph FID was defined with, 1008 classes) it uses that graph's
  pooling (average pools that exclude padding, a max pool in the last block); with torchvision's ImageNet
  ``inception_v3`` weights (1000 classes) it uses torchvision's pooling.

Legend: ``N`` batch, ``C`` channels, ``H, W`` frame size; images enter as ``(N, 3, H, W)`` floats in [0, 1].
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colormnet.errors import WeightsError, quote_path
from colormnet.metrics import frechet_distance_of_features

logger = logging.getLogger(__name__)

# AlexNet conv layers as (index in torchvision's ``features``, in, out, kernel, stride, padding); each is followed by
# a ReLU at index + 1, and a 3x3/2 max pool sits at 2 and 5.
ALEXNET_CONVS = ((0, 3, 64, 11, 4, 2), (3, 64, 192, 5, 1, 2), (6, 192, 384, 3, 1, 1), (8, 384, 256, 3, 1, 1),
                 (10, 256, 256, 3, 1, 1))
#: LPIPS's input normalisation for inputs in [-1, 1] (per-channel shift and scale of its release).
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
#: Side of the square input Inception-v3 sees for FID.
FID_INPUT_SIZE = 299
#: Classes of the FID graph's classifier; how its weights are told apart from torchvision's (1000).
FID_GRAPH_CLASSES = 1008


class LPIPS(nn.Module):
    """LPIPS distance with an AlexNet backbone. ``forward(a, b)`` -> ``(N,)``, 0 for identical images."""

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index, c_in, c_out, kernel, stride, padding in ALEXNET_CONVS:
            if index in (3, 6):  # a 3x3/2 max pool precedes convs 3 and 6
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            layers += [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding), nn.ReLU(inplace=False)]
        self.features = nn.Sequential(*layers)  # indices match torchvision's alexnet().features[:12]
        self.taps = tuple(index + 1 for index, *_ in ALEXNET_CONVS)  # the ReLU after each conv
        for i, (_, _, c_out, *_) in enumerate(ALEXNET_CONVS):
            self.add_module(f"lin{i}", nn.Conv2d(c_out, 1, kernel_size=1, bias=False))
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)

    def _activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((2.0 * x - 1.0) - self.shift) / self.scale
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                # unit length along channels; the epsilon keeps dead (all-zero) positions at zero
                taps.append(x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + 1e-10))
        return taps

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance between ``a`` and ``b``, ``(N, 3, H, W)`` in [0, 1] each: ``(N,)``."""
        total = torch.zeros(a.shape[0], device=a.device, dtype=a.dtype)
        for i, (fa, fb) in enumerate(zip(self._activations(a), self._activations(b), strict=True)):
            lin: nn.Conv2d = getattr(self, f"lin{i}")
            total = total + lin((fa - fb) ** 2).mean(dim=(1, 2, 3))
        return total


def lpips_checkpoint_filter(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Maps the key layouts LPIPS weights come in onto :class:`LPIPS`'s; drops what it does not use.

    ``features.I.*`` (torchvision's alexnet) and ``linK.weight`` pass unchanged; ``net.sliceS.I.*`` (the whole
    ``lpips.LPIPS`` module, whose slices keep torchvision's indices) becomes ``features.I.*``; ``linK.model.1.weight``
    (the release's linear layers behind a dropout) becomes ``linK.weight``. The classifier and fixed scaling
    buffers are dropped.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "net" and len(parts) == 4 and parts[1].startswith("slice"):
            out[f"features.{parts[2]}.{parts[3]}"] = value
        elif parts[0].startswith("lin") and parts[1:] == ["model", "1", "weight"]:
            out[f"{parts[0]}.weight"] = value
        elif parts[0] == "features" or (parts[0].startswith("lin") and parts[1:] == ["weight"]):
            out[key] = value
    return out


class _Conv(nn.Module):
    """Inception's convolution + batch norm (eps 1e-3) + ReLU; the children's names match torchvision's keys."""

    def __init__(self, c_in: int, c_out: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _branch_pool(fid_graph: bool, max_pool: bool = False) -> nn.Module:
    """The pool in front of a block's pooling branch: 3x3, stride 1, padding 1."""
    if fid_graph and max_pool:
        return nn.MaxPool2d(3, stride=1, padding=1)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=not fid_graph)


class _BlockA(nn.Module):  # 35x35 grid: 1x1, 5x5, double 3x3, pool
    def __init__(self, c_in: int, pool_features: int, fid_graph: bool) -> None:
        super().__init__()
        self.branch1x1 = _Conv(c_in, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = _Conv(c_in, 48, 1), _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _Conv(c_in, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = _Conv(64, 96, 3, padding=1), _Conv(96, 96, 3, padding=1)
        self.pool = _branch_pool(fid_graph)
        self.branch_pool = _Conv(c_in, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(self.pool(x)),
        ], dim=1)


class _BlockB(nn.Module):  # 35x35 -> 17x17 reduction
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = _Conv(c_in, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = _Conv(64, 96, 3, padding=1), _Conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


def _conv_1x7(c_in: int, c_out: int) -> _Conv:
    return _Conv(c_in, c_out, (1, 7), padding=(0, 3))


def _conv_7x1(c_in: int, c_out: int) -> _Conv:
    return _Conv(c_in, c_out, (7, 1), padding=(3, 0))


class _BlockC(nn.Module):  # 17x17 grid: factorised 7x7 convolutions
    def __init__(self, c_in: int, c7: int, fid_graph: bool) -> None:
        super().__init__()
        self.branch1x1 = _Conv(c_in, 192, 1)
        self.branch7x7_1, self.branch7x7_2, self.branch7x7_3 = _Conv(c_in, c7, 1), _conv_1x7(c7, c7), _conv_7x1(c7, 192)
        self.branch7x7dbl_1, self.branch7x7dbl_2 = _Conv(c_in, c7, 1), _conv_7x1(c7, c7)
        self.branch7x7dbl_3, self.branch7x7dbl_4 = _conv_1x7(c7, c7), _conv_7x1(c7, c7)
        self.branch7x7dbl_5 = _conv_1x7(c7, 192)
        self.pool = _branch_pool(fid_graph)
        self.branch_pool = _Conv(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            self.branch7x7dbl_5(self.branch7x7dbl_4(dbl)),
            self.branch_pool(self.pool(x)),
        ], dim=1)


class _BlockD(nn.Module):  # 17x17 -> 8x8 reduction
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = _Conv(c_in, 192, 1), _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(c_in, 192, 1)
        self.branch7x7x3_2, self.branch7x7x3_3 = _conv_1x7(192, 192), _conv_7x1(192, 192)
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x)))
        return torch.cat([
            self.branch3x3_2(self.branch3x3_1(x)),
            self.branch7x7x3_4(seven),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class _BlockE(nn.Module):  # 8x8 grid: expanded 1x3 / 3x1 branches
    def __init__(self, c_in: int, fid_graph: bool, max_pool: bool) -> None:
        super().__init__()
        self.branch1x1 = _Conv(c_in, 320, 1)
        self.branch3x3_1 = _Conv(c_in, 384, 1)
        self.branch3x3_2a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1, self.branch3x3dbl_2 = _Conv(c_in, 448, 1), _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.pool = _branch_pool(fid_graph, max_pool)
        self.branch_pool = _Conv(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(three), self.branch3x3_2b(three),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(self.pool(x)),
        ], dim=1)


class InceptionFeatures(nn.Module):
    """Inception-v3 to its global average pool: ``(N, 3, H, W)`` in [0, 1] -> ``(N, 2048)``.

    Frames are resized to 299x299 (bilinear) and mapped to [-1, 1], the input both weight sets expect. Parameter
    names match torchvision's ``Inception3`` so either checkpoint loads unchanged.

    Args:
        fid_graph: Use the pooling of the TensorFlow graph FID is defined with (for the FID weights).
    """

    def __init__(self, *, fid_graph: bool = True) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b = _BlockA(192, 32, fid_graph)
        self.Mixed_5c = _BlockA(256, 64, fid_graph)
        self.Mixed_5d = _BlockA(288, 64, fid_graph)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, 128, fid_graph)
        self.Mixed_6c = _BlockC(768, 160, fid_graph)
        self.Mixed_6d = _BlockC(768, 160, fid_graph)
        self.Mixed_6e = _BlockC(768, 192, fid_graph)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, fid_graph, max_pool=False)
        self.Mixed_7c = _BlockE(2048, fid_graph, max_pool=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(FID_INPUT_SIZE, FID_INPUT_SIZE), mode="bilinear", align_corners=False)
        x = 2.0 * x - 1.0
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (N, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (N, 192, 71, 71)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # (N, 288, 35, 35)
        x = self.Mixed_6a(x)  # (N, 768, 17, 17)
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))  # (N, 2048, 8, 8)
        return x.mean(dim=(2, 3))


def _read_state_dict(path: Path, what: str) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise WeightsError(f"The {what} weights file {quote_path(path)} does not exist; give the path of a local copy.")
    from colormnet.engines import checkpoints

    # the engines' reader: safe loading and one sentence for each way a file fails (torch's own texts run long)
    state = checkpoints.read_state_dict(path, checkpoints.Source(f"{what}", "give the path of a local copy"))
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"The {what} weights file {quote_path(path)} does not hold a state dict of tensors.")
    return dict(state)


def _load_into(module: nn.Module, state: Mapping[str, torch.Tensor], what: str, sources: str) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        raise WeightsError(f"The {what} weights in {sources} lack {len(missing)} tensors (first: {missing[0]}); "
                           f"give files that hold the whole network.")
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise WeightsError(f"The {what} weights in {sources} do not fit the network: {key} has shape "
                               f"{tuple(state[key].shape)}, expected {tuple(tensor.shape)}.")
    module.load_state_dict({k: state[k] for k in expected}, strict=True)


def load_lpips(paths: Sequence[str | Path], device: str | torch.device = "cpu") -> LPIPS:
    """Builds :class:`LPIPS` from local weight files (merged in order; see :func:`lpips_checkpoint_filter`).

    Raises:
        WeightsError: A file is missing or unreadable, or the files together lack part of the network.
    """
    merged: dict[str, torch.Tensor] = {}
    for path in paths:
        merged.update(lpips_checkpoint_filter(_read_state_dict(Path(path), "LPIPS")))
    sources = ", ".join(Path(p).name for p in paths)
    model = LPIPS()
    lins = [k for k in model.state_dict() if k.startswith("lin")]
    if not any(k in merged for k in lins):
        raise WeightsError(f"{sources} holds no LPIPS linear layers; add the LPIPS release's alex.pth.")
    if not any(k.startswith("features.") for k in merged):
        raise WeightsError(f"{sources} holds no AlexNet backbone; add torchvision's ImageNet alexnet checkpoint.")
    _load_into(model, merged, "LPIPS", sources)
    return model.to(device).eval().requires_grad_(False)


def load_inception(path: str | Path, device: str | torch.device = "cpu") -> InceptionFeatures:
    """Builds :class:`InceptionFeatures` from a local Inception-v3 checkpoint (the FID weights or torchvision's).

    The classifier and auxiliary head are not used and may be absent; a 1000-class classifier marks torchvision's
    ImageNet weights, which get torchvision's pooling, anything else the FID graph's.

    Raises:
        WeightsError: The file is missing, unreadable or not an Inception-v3.
    """
    path = Path(path)
    state = _read_state_dict(path, "FID (Inception-v3)")
    classes = state["fc.weight"].shape[0] if "fc.weight" in state else FID_GRAPH_CLASSES
    fid_graph = classes != 1000
    logger.info("Inception-v3 from %s: %d classes, %s pooling", path.name, classes,
                "FID graph" if fid_graph else "torchvision")
    model = InceptionFeatures(fid_graph=fid_graph)
    _load_into(model, state, "FID (Inception-v3)", path.name)
    return model.to(device).eval().requires_grad_(False)


def images_to_tensor(frames: Sequence[np.ndarray], device: str | torch.device) -> torch.Tensor:
    """``HxWx3`` uint8 frames -> ``(N, 3, H, W)`` float32 in [0, 1] on ``device``."""
    batch = torch.from_numpy(np.stack(frames))
    return batch.to(device).permute(0, 3, 1, 2).float().div_(255.0)


class PerceptualScores:
    """LPIPS per frame pair and FID over a clip, from the networks whose weights are given.

    Args:
        lpips_weights: Files for :func:`load_lpips`; empty for no LPIPS.
        fid_weights: A file for :func:`load_inception`; None for no FID.
        device: Where the networks run.
    """

    def __init__(self, lpips_weights: Sequence[str | Path], fid_weights: str | Path | None,
                 device: str | torch.device = "cpu") -> None:
        self.device = device
        self.lpips = load_lpips(lpips_weights, device) if lpips_weights else None
        self.inception = load_inception(fid_weights, device) if fid_weights is not None else None
        self._pred_features: list[np.ndarray] = []
        self._gt_features: list[np.ndarray] = []

    def add(self, pred: np.ndarray, gt: np.ndarray) -> float | None:
        """Scores one ``HxWx3`` uint8 pair: returns its LPIPS (None without LPIPS), keeps its FID features."""
        if self.lpips is None and self.inception is None:
            return None
        batch = images_to_tensor([pred, gt], self.device)
        with torch.inference_mode():
            if self.inception is not None:
                features = self.inception(batch).double().cpu().numpy()  # (2, 2048)
                self._pred_features.append(features[0])
                self._gt_features.append(features[1])
            return None if self.lpips is None else float(self.lpips(batch[:1], batch[1:])[0])

    def fid(self) -> float | None:
        """FID between the PRED and GT frames added so far; None without FID or with fewer than 2 pairs."""
        if self.inception is None or len(self._pred_features) < 2:
            return None
        return frechet_distance_of_features(np.stack(self._pred_features), np.stack(self._gt_features))
