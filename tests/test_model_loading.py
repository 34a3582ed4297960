"""Loading a checkpoint into the network: the network is built without random values and takes the file's tensors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colormnet.engines.colormnet import backend


def test_the_loaded_network_holds_the_checkpoint_and_no_placeholder(
    monkeypatch: pytest.MonkeyPatch, random_weights: Path, golden_state_dict: dict[str, torch.Tensor]
) -> None:
    monkeypatch.setattr(backend, "_cache", {})  # load afresh, whatever other tests kept
    rng = torch.get_rng_state()
    network = backend.load_model(random_weights, device="cpu", precision="fp32").network
    assert torch.equal(torch.get_rng_state(), rng)  # nothing drew random initial values only to overwrite them
    tensors = [*network.named_parameters(), *network.named_buffers()]
    tensors += [
        (f"{module_name}.{attribute}", value)
        for module_name, module in network.named_modules()
        for attribute, value in vars(module).items()
        if isinstance(value, torch.Tensor)
    ]
    assert tensors and all(t.device.type == "cpu" for _, t in tensors), [n for n, t in tensors if t.is_meta][:5]
    assert all(p.is_contiguous() and not p.requires_grad for p in network.parameters())
    state = network.state_dict()
    assert state.keys() == golden_state_dict.keys()  # random_weights is seed 0, as the golden weights
    assert all(torch.equal(state[key], golden_state_dict[key]) for key in state)


def test_a_state_owned_elsewhere_is_copied_not_taken(golden_state_dict: dict[str, torch.Tensor]) -> None:
    """The cluster's workers build from the object store's read-only copy: the network must not alias it."""
    network = backend.build_network(golden_state_dict, torch.device("cpu"), own=False)
    state = network.state_dict()
    assert all(torch.equal(state[key], golden_state_dict[key]) for key in golden_state_dict)
    theirs = {t.untyped_storage().data_ptr() for t in golden_state_dict.values()}
    assert not any(p.untyped_storage().data_ptr() in theirs for p in network.parameters())


def test_views_and_strided_tensors_are_copied_into_parameters_of_their_own(
    golden_state_dict: dict[str, torch.Tensor],
) -> None:
    state = dict(golden_state_dict)
    conv = "key_proj.key_proj.weight"
    weight = state[conv].flatten(1)
    spare = torch.empty(2 * weight.numel())
    spare[weight.numel() :] = weight.flatten()
    state[conv] = spare[weight.numel() :].view_as(state[conv])  # the second half of a larger storage
    head = next(k for k, v in state.items() if v.dim() == 2 and v.shape[0] != v.shape[1])
    state[head] = golden_state_dict[head].t().contiguous().t()  # column-major
    network = backend.build_network(state, torch.device("cpu"), own=True)
    parameters = dict(network.named_parameters())
    for key in (conv, head):
        kept = parameters[key]
        assert torch.equal(kept, golden_state_dict[key]) and kept.is_contiguous()
        assert kept.untyped_storage().nbytes() == kept.numel() * kept.element_size()
    untouched = next(k for k in parameters if k not in (conv, head))
    assert parameters[untouched].data_ptr() == golden_state_dict[untouched].data_ptr()  # taken, not copied
