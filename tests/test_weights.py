"""Tests of ColorMNet's weights: the key manifest, random weights, checkpoint loading and the resumable download."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import math
import os
import pickle
import random
import re
import socket
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colormnet.engines.base import RANDOM_WEIGHTS_LOGGER
from colormnet.engines.checkpoints import reading, refused_global
from colormnet.engines.colormnet import weights
from colormnet.engines.colormnet.weights import (
    ENV_VAR,
    RANDOM_SEED_KEY,
    WEIGHTS_FILENAME,
    DownloadCancelledError,
    download_weights,
    fingerprint,
    load_weights,
    random_state_dict,
    read_key_manifest,
    resolve_weights_path,
    save_random_weights,
)
from colormnet.errors import WeightsError
from tests.bad_checkpoints import all_ones_bits, save_malicious
from tests.weights_server import WeightsServer, serve

GOLDEN = Path(__file__).parent / "data" / "golden"
MANIFEST = read_key_manifest()
KEYS = [key for key, _, _ in MANIFEST]


def _draw(key: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()) + seed)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def _cheap_state(dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Every manifest key with the right shape, stored as one broadcast element: tiny on disk, fast to load."""
    return {key: torch.zeros((), dtype=dtype if want.is_floating_point else want).expand(shape)
            for key, shape, want in MANIFEST}


def _save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path


# --- manifest and random weights -----------------------------------------------------------------------------------


def test_manifest_counts_match_the_official_checkpoint() -> None:
    assert len(MANIFEST) == 667
    assert len(set(KEYS)) == 667
    floats = [(key, shape) for key, shape, dtype in MANIFEST if dtype == torch.float32]
    assert {dtype for _, _, dtype in MANIFEST} == {torch.float32, torch.int64}
    # 123,609,281 learnable parameters, plus the BatchNorm running statistics stored alongside them.
    learnable = sum(math.prod(shape) for key, shape in floats if "running_" not in key)
    assert learnable == 123_609_281
    assert sum(math.prod(shape) for _, shape in floats) == 123_647_425
    shapes = dict((key, shape) for key, shape, _ in MANIFEST)
    assert shapes["value_encoder.conv1.weight"] == (64, 5, 7, 7)
    assert shapes["key_encoder.bn1.num_batches_tracked"] == ()


@pytest.fixture(scope="session")
def seed0_state() -> dict[str, torch.Tensor]:
    return random_state_dict(0)


@pytest.fixture(scope="session")
def random_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_weights(tmp_path_factory.mktemp("random_weights") / "random.pth", seed=0)


def test_random_state_dict_matches_the_manifest_exactly(seed0_state: dict[str, torch.Tensor]) -> None:
    assert list(seed0_state) == KEYS
    for key, shape, dtype in MANIFEST:
        assert tuple(seed0_state[key].shape) == shape, key
        assert seed0_state[key].dtype == dtype, key
        assert seed0_state[key].device.type == "cpu"


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("key_encoder.conv1.weight", lambda n: n / math.sqrt(3 * 7 * 7)),
        ("key_encoder.bn1.weight", lambda n: 1 + 0.1 * n),
        ("key_encoder.bn1.bias", lambda n: 0.01 * n),
        ("key_encoder.bn1.running_mean", lambda n: 0.1 * n),
        ("key_encoder.bn1.running_var", lambda n: 1 + 0.1 * n.abs()),
        ("key_encoder.fuse1.crossattn.temperature", lambda n: 1 + 0.1 * n),
        ("key_encoder.network2.backbone.blocks.3.ls1.gamma", lambda n: 0.1 * n),
        ("key_encoder.network2.backbone.pos_embed", lambda n: 0.02 * n),
        ("key_encoder.network2.backbone.cls_token", lambda n: 0.02 * n),
        ("value_encoder.conv1.weight", lambda n: n / math.sqrt(5 * 7 * 7)),
    ],
)
def test_random_values_follow_the_golden_rule(seed0_state: dict[str, torch.Tensor], key: str, rule) -> None:
    shape = tuple(seed0_state[key].shape)
    assert torch.equal(seed0_state[key], rule(_draw(key, shape)))


def test_seed_zero_rebuilds_the_golden_key_projection(seed0_state: dict[str, torch.Tensor]) -> None:
    # The golden data was made with these weights: the official key projection of the recorded key-encoder output
    # (key, shrinkage = d^2 + 1, selection = sigmoid(e)) must come out again from plain 3x3 convolutions.
    golden = np.load(GOLDEN / "official_first_calls_reference.npz")
    w = {name: (seed0_state[f"key_proj.{name}.weight"], seed0_state[f"key_proj.{name}.bias"])
         for name in ("key_proj", "d_proj", "e_proj")}
    for call in (0, 1):
        f16 = torch.from_numpy(golden[f"key_encoder_call{call}_out0"])
        key, shrinkage, selection = (F.conv2d(f16, *w[name], padding=1) for name in ("key_proj", "d_proj", "e_proj"))
        for i, ours in enumerate((key, shrinkage**2 + 1, torch.sigmoid(selection))):
            torch.testing.assert_close(ours, torch.from_numpy(golden[f"key_proj_call{call}_out{i}"]),
                                       rtol=1e-5, atol=1e-5)


def test_random_counters_are_int64_zeros(seed0_state: dict[str, torch.Tensor]) -> None:
    counters = [key for key in KEYS if key.endswith("num_batches_tracked")]
    assert len(counters) == 59
    for key in counters:
        assert seed0_state[key].dtype == torch.int64
        assert seed0_state[key].item() == 0


def test_seed_zero_is_deterministic_and_another_seed_differs(seed0_state: dict[str, torch.Tensor]) -> None:
    again = random_state_dict(0)
    assert all(torch.equal(again[key], seed0_state[key]) for key in KEYS)
    del again
    other = random_state_dict(1)
    float_keys = [key for key, _, dtype in MANIFEST if dtype.is_floating_point]
    assert all(not torch.equal(other[key], seed0_state[key]) for key in float_keys)
    shape = tuple(other["key_encoder.bn1.bias"].shape)
    assert torch.equal(other["key_encoder.bn1.bias"], 0.01 * _draw("key_encoder.bn1.bias", shape, seed=1))
    with pytest.raises(ValueError, match="non-negative"):
        random_state_dict(-1)


# --- loading -------------------------------------------------------------------------------------------------------


def test_random_file_round_trip(random_file: Path, seed0_state: dict[str, torch.Tensor]) -> None:
    assert [p.name for p in random_file.parent.iterdir()] == ["random.pth"]  # no temporary file left behind
    loaded = load_weights(random_file)
    assert loaded.path == random_file
    assert loaded.random_seed == 0
    assert loaded.is_random
    assert list(loaded.state_dict) == KEYS
    assert RANDOM_SEED_KEY not in loaded.state_dict
    for key, shape, dtype in MANIFEST:
        tensor = loaded.state_dict[key]
        assert tensor.dtype == dtype and tuple(tensor.shape) == shape and tensor.device.type == "cpu", key
        assert torch.equal(tensor, seed0_state[key]), key


def test_loaded_weights_is_frozen(tmp_path: Path) -> None:
    loaded = load_weights(_save(_cheap_state(), tmp_path / "w.pth"))
    assert loaded.random_seed is None and not loaded.is_random
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.random_seed = 3  # type: ignore[misc]


def test_seed_marker_is_reported_and_removed(tmp_path: Path) -> None:
    state = _cheap_state()
    state[RANDOM_SEED_KEY] = torch.tensor(7, dtype=torch.int64)
    loaded = load_weights(_save(state, tmp_path / "w.pth"))
    assert loaded.random_seed == 7 and loaded.is_random
    assert RANDOM_SEED_KEY not in loaded.state_dict


def test_random_weights_are_warned_of_on_their_own_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = _cheap_state()
    state[RANDOM_SEED_KEY] = torch.tensor(7, dtype=torch.int64)
    path = _save(state, tmp_path / "w.pth")
    with caplog.at_level(logging.WARNING):
        load_weights(path)
    assert [(r.name, r.levelno) for r in caplog.records] == [(RANDOM_WEIGHTS_LOGGER, logging.WARNING)]
    assert f"{path} holds RANDOM ColorMNet weights (seed 7)" in caplog.text and "meaningless" in caplog.text


def test_half_precision_is_cast_to_float32(tmp_path: Path) -> None:
    loaded = load_weights(_save(_cheap_state(torch.float16), tmp_path / "half.pth"))
    assert loaded.state_dict["key_encoder.conv1.weight"].dtype == torch.float32
    assert loaded.state_dict["key_encoder.bn1.num_batches_tracked"].dtype == torch.int64


def test_legacy_four_channel_value_encoder_gets_a_zero_channel(tmp_path: Path) -> None:
    state = _cheap_state()
    legacy = torch.randn(64, 4, 7, 7)
    state["value_encoder.conv1.weight"] = legacy
    loaded = load_weights(_save(state, tmp_path / "legacy.pth"))
    conv = loaded.state_dict["value_encoder.conv1.weight"]
    assert conv.shape == (64, 5, 7, 7)
    assert torch.equal(conv[:, :4], legacy)
    assert torch.count_nonzero(conv[:, 4]) == 0


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: {"state_dict": s},
        lambda s: {"model": s, "optimizer": {}, "it": 154000},
        lambda s: {f"module.{k}": v for k, v in s.items()},
        lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}},
    ],
    ids=["state_dict", "model", "module-prefix", "state_dict+module-prefix"],
)
def test_wrapped_checkpoints_are_unwrapped(tmp_path: Path, wrap) -> None:
    state = _cheap_state()
    state["key_encoder.bn1.bias"] = torch.arange(64, dtype=torch.float32)
    loaded = load_weights(_save(wrap(state), tmp_path / "wrapped.pth"))
    assert list(loaded.state_dict) == KEYS
    assert torch.equal(loaded.state_dict["key_encoder.bn1.bias"], torch.arange(64, dtype=torch.float32))


@dataclasses.dataclass
class _Pickled:
    value: int


def _bad_checkpoint(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.pth"
    if kind == "random-bytes":
        path.write_bytes(b"JUNK" + random.Random(0).randbytes(4096))
    elif kind == "truncated":
        full = _save({"w": torch.randn(256, 256)}, tmp_path / "full.pth").read_bytes()
        path.write_bytes(full[: len(full) // 2])
    elif kind == "other-model":
        _save(torch.nn.Linear(4, 3).state_dict(), path)
    elif kind == "not-a-dict":
        _save([torch.zeros(3)], path)
    elif kind == "python-object":
        _save({"cfg": _Pickled(3)}, path)
    elif kind == "plain-pickle":  # pickle's own format, no torch.save around it
        path.write_bytes(pickle.dumps({"a": [1, 2, 3]}, protocol=4))
    elif kind == "empty":
        path.touch()
    elif kind == "directory":
        path.mkdir()
    elif kind == "missing":
        pass
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("random-bytes", "is not a PyTorch checkpoint"),
        ("truncated", "damaged or incomplete"),
        ("other-model", "667 of 667 expected keys are missing (e.g. key_encoder.conv1.weight, key_encoder.bn1"),
        ("not-a-dict", "holds a list"),
        ("python-object", "Python objects besides tensors"),
        ("plain-pickle", "is a Python pickle, not a PyTorch checkpoint"),
        ("empty", "is empty (0 bytes)"),
        ("directory", "is a folder"),
        ("missing", "No ColorMNet weights at"),
    ],
)
def test_bad_checkpoints_give_one_clear_sentence(tmp_path: Path, kind: str, needle: str) -> None:
    path = _bad_checkpoint(kind, tmp_path)
    with pytest.raises(WeightsError) as info, warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        load_weights(path)
    assert [str(w.message) for w in shown] == []  # nothing but the one sentence reaches the user
    message = str(info.value)
    assert needle in message
    assert str(path) in message
    assert "\n" not in message and "Traceback" not in message
    if kind == "other-model":
        assert "2 are unexpected (e.g. weight, bias)" in message
    if kind in ("missing", "empty", "truncated"):
        assert "colormnet weights download" in message


def test_a_missing_file_named_by_the_variable_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.engines.colormnet.backend import load_model

    gone = tmp_path / "gone.pth"
    monkeypatch.setenv("COLORMNET_WEIGHTS", str(gone))
    with pytest.raises(WeightsError, match=rf"^No ColorMNet weights at {re.escape(str(gone))}, the file "
                                           r"\$COLORMNET_WEIGHTS names; run `colormnet weights download`"):
        load_model(None, device="cpu")
    with pytest.raises(WeightsError, match=rf"^No ColorMNet weights at {re.escape(str(gone))}; run"):
        load_model(gone, device="cpu")  # named by --weights: the variable has nothing to do with it


def test_an_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(_cheap_state(), tmp_path / "w.pth")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reading, "open", denied, raising=False)  # root ignores chmod, so fake the refusal
    with pytest.raises(WeightsError, match=r"Cannot read .*w\.pth \(Permission denied\); check the file's perm"):
        load_weights(path)


def test_missing_and_unexpected_keys_are_counted_with_examples(tmp_path: Path) -> None:
    state = _cheap_state()
    for key in ("decoder.pred.weight", "decoder.pred.bias", "key_proj.key_proj.bias"):
        del state[key]
    state["extra.layer"] = torch.zeros(1)
    with pytest.raises(WeightsError) as info:
        load_weights(_save(state, tmp_path / "w.pth"))
    message = str(info.value)
    assert "3 of 667 expected keys are missing (e.g. key_proj.key_proj.bias, decoder.pred.weight)" in message
    assert "1 are unexpected (e.g. extra.layer)" in message


def test_a_wrong_shape_is_named(tmp_path: Path) -> None:
    state = _cheap_state()
    state["key_proj.key_proj.weight"] = torch.zeros(32, 1024, 3, 3)
    state["decoder.pred.bias"] = torch.zeros(3)
    with pytest.raises(WeightsError) as info:
        load_weights(_save(state, tmp_path / "w.pth"))
    message = str(info.value)
    assert "key_proj.key_proj.weight is 32x1024x3x3 where 64x1024x3x3 is expected" in message
    assert "(and 1 more entries differ)" in message


def test_an_integer_weight_is_rejected(tmp_path: Path) -> None:
    state = _cheap_state()
    state["decoder.pred.bias"] = torch.zeros(state["decoder.pred.bias"].shape, dtype=torch.int64)
    with pytest.raises(WeightsError, match=r"decoder\.pred\.bias as torch\.int64"):
        load_weights(_save(state, tmp_path / "w.pth"))


def test_fingerprint_tracks_content_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    path.write_bytes(b"a" * (3 * 1024 * 1024))
    first = fingerprint(path)
    assert first == fingerprint(path) and len(first) == 64
    os.utime(path, ns=(1, 1))
    touched = fingerprint(path)
    assert touched != first
    path.write_bytes(b"a" * (3 * 1024 * 1024 - 1) + b"b")
    os.utime(path, ns=(1, 1))
    assert fingerprint(path) != touched  # same size and mtime, different last MiB
    with pytest.raises(WeightsError, match="Cannot read"):
        fingerprint(tmp_path / "absent.pth")


# --- locating ------------------------------------------------------------------------------------------------------


def test_resolve_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = tmp_path / "data" / WEIGHTS_FILENAME
    monkeypatch.setattr(weights, "default_weights_path", lambda: default)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_weights_path() == default
    monkeypatch.setenv(ENV_VAR, "")
    assert resolve_weights_path() == default
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.pth"))
    assert resolve_weights_path() == tmp_path / "env.pth"
    assert resolve_weights_path(tmp_path / "explicit.pth") == tmp_path / "explicit.pth"
    assert resolve_weights_path("~/w.pth") == Path.home() / "w.pth"


def test_default_path_and_licence() -> None:
    path = weights.default_weights_path()
    assert path.name == WEIGHTS_FILENAME
    assert "colormnet" in str(path.parent).lower()
    assert weights.WEIGHTS_URL.endswith("/v0.1/" + WEIGHTS_FILENAME)
    for needle in ("CC BY-NC-SA 4.0", "Yang et al.", "ECCV 2024", "https://github.com/yyang181/colormnet"):
        assert needle in weights.WEIGHTS_LICENCE


# --- downloading ---------------------------------------------------------------------------------------------------

PAYLOAD = random.Random(1).randbytes(3 * 1024 * 1024 + 123)


@pytest.fixture
def server() -> Iterator[WeightsServer]:
    with serve(PAYLOAD) as state:
        yield state


def test_full_download_with_progress(server: WeightsServer, tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    dest = download_weights(tmp_path / "sub" / "w.pth", url=server.url, progress=lambda d, t: calls.append((d, t)),
                            expected_sha256=hashlib.sha256(PAYLOAD).hexdigest(), expected_size=len(PAYLOAD))
    assert dest == tmp_path / "sub" / "w.pth"
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "w.pth.part").exists()
    assert server.ranges == [None]
    assert calls[0] == (0, len(PAYLOAD)) and calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert len(calls) > 3 and all(a[0] <= b[0] for a, b in itertools.pairwise(calls))


def test_unknown_checksum_is_logged(server: WeightsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="colormnet.engines.checkpoints"):
        download_weights(tmp_path / "w.pth", url=server.url, expected_sha256=None)
    assert hashlib.sha256(PAYLOAD).hexdigest() in caplog.text
    assert "CC BY-NC-SA 4.0" in caplog.text


def test_resume_uses_a_range_request(server: WeightsServer, tmp_path: Path) -> None:
    (tmp_path / "w.pth.part").write_bytes(PAYLOAD[:1_000_000])
    calls: list[tuple[int, int | None]] = []
    dest = download_weights(tmp_path / "w.pth", url=server.url, progress=lambda d, t: calls.append((d, t)),
                            expected_sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert server.ranges == ["bytes=1000000-"]
    assert dest.read_bytes() == PAYLOAD
    assert calls[0] == (1_000_000, len(PAYLOAD))


def test_a_server_ignoring_range_restarts_from_zero(server: WeightsServer, tmp_path: Path) -> None:
    server.ignore_range = True
    (tmp_path / "w.pth.part").write_bytes(b"x" * 500_000)
    dest = download_weights(tmp_path / "w.pth", url=server.url, expected_sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert server.ranges == ["bytes=500000-"]
    assert dest.read_bytes() == PAYLOAD


def test_an_overlong_part_file_is_restarted(server: WeightsServer, tmp_path: Path) -> None:
    (tmp_path / "w.pth.part").write_bytes(PAYLOAD + b"trailing")
    dest = download_weights(tmp_path / "w.pth", url=server.url)
    assert server.ranges == [f"bytes={len(PAYLOAD) + 8}-", None]
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_part_file(server: WeightsServer, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="sha256") as info:
        download_weights(tmp_path / "w.pth", url=server.url, expected_sha256="0" * 64)
    assert "run the download again" in str(info.value)
    assert not (tmp_path / "w.pth.part").exists() and not (tmp_path / "w.pth").exists()


def test_size_mismatch_deletes_the_part_file(server: WeightsServer, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=f"{len(PAYLOAD)} bytes on the server where {len(PAYLOAD) + 1}"):
        download_weights(tmp_path / "w.pth", url=server.url, expected_size=len(PAYLOAD) + 1)
    assert not (tmp_path / "w.pth.part").exists() and not (tmp_path / "w.pth").exists()


def test_a_dropped_connection_keeps_the_part_for_a_resume(server: WeightsServer, tmp_path: Path) -> None:
    server.stop_after = 1_500_000
    with pytest.raises(WeightsError, match=f"stopped after 1500000 of {len(PAYLOAD)} bytes.*run it again to resume"):
        download_weights(tmp_path / "w.pth", url=server.url)
    assert (tmp_path / "w.pth.part").stat().st_size == 1_500_000
    assert not (tmp_path / "w.pth").exists()
    server.stop_after = None
    assert download_weights(tmp_path / "w.pth", url=server.url).read_bytes() == PAYLOAD
    assert server.ranges == [None, "bytes=1500000-"]


def test_cancel_keeps_the_part_and_a_later_call_resumes(server: WeightsServer, tmp_path: Path) -> None:
    cancel = threading.Event()

    def on_progress(done: int, total: int | None) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelledError, match=r"^Download cancelled; run again to resume\.$"):
        download_weights(tmp_path / "w.pth", url=server.url, progress=on_progress, cancel=cancel)
    kept = (tmp_path / "w.pth.part").stat().st_size
    assert 0 < kept < len(PAYLOAD)
    assert not (tmp_path / "w.pth").exists()
    dest = download_weights(tmp_path / "w.pth", url=server.url, expected_sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges == [None, f"bytes={kept}-"]


def test_default_destination_follows_the_environment(server: WeightsServer, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env" / "w.pth"))
    assert download_weights(url=server.url) == tmp_path / "env" / "w.pth"
    assert (tmp_path / "env" / "w.pth").read_bytes() == PAYLOAD


def test_http_errors_and_refused_connections(server: WeightsServer, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"\(HTTP 404 .*--weights PATH\.$"):
        download_weights(tmp_path / "w.pth", url=server.url.replace("weights.pth", "nothing.pth"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/weights.pth"
    with pytest.raises(WeightsError, match=f"Could not download the ColorMNet weights from {url} \\(Connection ref"):
        download_weights(tmp_path / "w.pth", url=url, timeout=5)
    assert not (tmp_path / "w.pth").exists()


# --- hostile and damaged checkpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_malicious_pickle_is_refused_as_unsafe_and_never_runs(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "ran"
    path = save_malicious(_cheap_state(), tmp_path / "evil.pth", marker, legacy=legacy)
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    message = str(info.value)
    assert not marker.exists()
    assert "refused as unsafe" in message and "mkdir" in message and str(path) in message
    assert "damaged" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Weights only load failed.\n\nTrying to load unsupported GLOBAL posix.system whose module posix is blocked.",
         "posix.system"),
        ("Weights only load failed. Unsupported global: GLOBAL builtins.exec was not an allowed global",
         "builtins.exec"),
        ("Weights only load failed. Unsupported class __main__.Config", "__main__.Config"),
        ("WEIGHTS ONLY LOAD FAILED. UNSUPPORTED GLOBAL", "a Python object"),
    ],
)
def test_every_wording_of_the_safety_refusal_is_recognised(text: str, wanted: str) -> None:
    assert refused_global(pickle.UnpicklingError(text)) == wanted


def test_other_load_failures_are_not_called_unsafe() -> None:
    assert refused_global(RuntimeError("unsupported GLOBAL posix.system")) is None  # not torch's refusal
    assert refused_global(pickle.UnpicklingError("pickle data was truncated")) is None


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_weights_that_are_not_numbers_are_refused_by_name(tmp_path: Path, bad: str) -> None:
    state = _cheap_state()
    key = "value_encoder.layer3.0.conv1.weight"  # 256x128x3x3: over 1 MB of float32
    shape = tuple(state[key].shape)
    state[key] = all_ones_bits(shape) if bad == "nan" else torch.zeros(shape)
    if bad == "inf":
        state[key][3, 2, 1, 0] = -math.inf
    path = _save(state, tmp_path / "w.pth")
    assert path.stat().st_size > 1_000_000
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    message = str(info.value)
    assert f"parameter {key} holds values that are not numbers" in message and str(path) in message
    assert "\n" not in message
