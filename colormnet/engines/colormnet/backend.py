"""Builds the network from a checkpoint on the chosen device, once per process.

Loading the checkpoint (about 500 MB) takes seconds, so the last loaded model is kept and reused by later sessions
that ask for the same weights and device (precision is autocast around the same network, so switching between the
app's bf16 previews and its fp32 exports costs nothing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines import checkpoints
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.colormnet.inference.exemplar_cache import ExemplarCache
from colormnet.engines.colormnet.model.network import ColorMNet
from colormnet.engines.colormnet.weights import ENV_VAR, SOURCE, fingerprint, load_weights, resolve_weights_path
from colormnet.engines.host_memory import keep_freed_memory
from colormnet.engines.precision import resolve_autocast, resolve_device
from colormnet.errors import WeightsError


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference.

    Attributes:
        network: the model in eval mode on ``device``.
        device: where it runs.
        autocast_dtype: autocast dtype (fp16/bf16 on CUDA, bf16 on the CPU), or ``None`` for fp32.
        path: the checkpoint it came from.
        weights_fingerprint: a cheap identity of that file.
        is_random: the checkpoint is randomly initialised (tests and demos only).
        exemplar_cache: the memory entries of the last exemplars runs started from, shared by this network's engines
            (whatever the precision: the numerics are part of an entry's identity).
    """

    network: ColorMNet
    device: torch.device
    autocast_dtype: torch.dtype | None
    path: Path
    weights_fingerprint: str
    is_random: bool
    name: str = "colormnet"
    exemplar_cache: ExemplarCache = field(default_factory=ExemplarCache, compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """Identity of the weights and of the numerics (device type, autocast), for cache keys."""
        return f"{self.name}:{self.weights_fingerprint}:{self.device.type}:{self.autocast_dtype}"

    def new_engine(self, config: InferenceConfig) -> InferenceEngine:
        """A fresh inference engine (empty memory) for one segment run."""
        return InferenceEngine(self.network, config, self.autocast_dtype, self.exemplar_cache)

    def release_memory(self) -> None:
        """Forgets the kept exemplar entries and gives the CUDA caching allocator's free blocks back (after the GPU
        ran out of memory)."""
        self.exemplar_cache.clear()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


_lock = threading.Lock()
_cache: dict[tuple[str, str], LoadedModel] = {}


def _alone(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is contiguous and all of its storage (a view would keep a larger storage alive)."""
    whole = tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()
    return bool(tensor.is_contiguous() and tensor.storage_offset() == 0 and whole)


def build_network(state: dict[str, torch.Tensor], device: torch.device, *, own: bool) -> ColorMNet:
    """The network in inference mode on ``device``, its values those of ``state`` (a checked state dict).

    It is built without values (on the meta device): initialising ~124 M parameters at random only to overwrite them
    costs seconds per process. ``own``: the tensors belong to the caller (read from a file) and become the
    parameters (a view into a larger storage, or a strided one, is copied first); otherwise (another owner's copy,
    such as a shared object store's) they are copied.

    Raises:
        RuntimeError: ``state`` does not fit the architecture.
    """
    with torch.device("meta"):
        network = ColorMNet()
    if own:
        taken = {k: v if _alone(v) else v.clone(memory_format=torch.contiguous_format) for k, v in state.items()}
        network.load_state_dict(taken, strict=True, assign=True)
    else:
        network = network.to_empty(device=device)
        network.load_state_dict(state, strict=True)
    network = network.eval().to(device)
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    return network


def load_model(weights: str | Path | None, *, device: Device = "auto", precision: Precision = "auto") -> LoadedModel:
    """Loads (or reuses) the network for a checkpoint.

    Args:
        weights: checkpoint path; ``None`` resolves ``$COLORMNET_WEIGHTS`` or the per-user default.
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``auto``, ``fp32``, ``fp16`` or ``bf16``.

    Raises:
        WeightsError: the checkpoint is missing or unusable.
        InferenceError: the device is unavailable.
    """
    path = resolve_weights_path(weights)
    torch_device = resolve_device(device)
    autocast = resolve_autocast("colormnet", precision, torch_device)
    if torch_device.type == "cpu":
        keep_freed_memory()
    checkpoints.refuse_missing_from_variable(path, weights, ENV_VAR, SOURCE)
    if not path.is_file():
        load_weights(path)  # raises the one-sentence WeightsError for a missing path or a folder
    ident = fingerprint(path)
    key = (ident, str(torch_device))
    with _lock:
        if key in _cache:
            return replace(_cache[key], autocast_dtype=autocast)
        loaded = load_weights(path)
        try:
            network = build_network(loaded.state_dict, torch_device, own=True)
        except RuntimeError as exc:  # load_weights validated keys and shapes; this is a safety net
            raise WeightsError(f"{path} does not fit the ColorMNet architecture: {exc}") from exc
        model = LoadedModel(network, torch_device, autocast, path, ident, loaded.is_random)
        _cache.clear()  # keep one model: each holds ~0.5 GB
        _cache[key] = model
        return model
