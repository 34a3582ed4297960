"""A run that starts from an exemplar a previous run started from reuses its memory entry, with the same output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.colormnet.inference.exemplar_cache import ExemplarCache, ExemplarEntry, pixels_digest
from tests.test_engine import golden_image, golden_lightness

FRAMES = 3


def _run(network, cache, exemplar: ExemplarInput, hold: ExemplarInput | None = None) -> list[np.ndarray]:
    engine = InferenceEngine(network, InferenceConfig(), exemplar_cache=cache)
    if hold is not None:
        engine.hold(golden_lightness(2), hold)
    return [engine.step(golden_lightness(t), exemplar if t == 0 else None, end=t == FRAMES - 1).ab
            for t in range(FRAMES)]


@pytest.fixture()
def counted(golden_network, monkeypatch):
    """Counts the key encoder's passes (a frame's, or an exemplar's for the memory alone)."""
    calls = []
    for name in ("encode_key", "encode_memory_key"):
        encode = getattr(golden_network, name)
        monkeypatch.setattr(golden_network, name, lambda *args, encode=encode: calls.append(1) or encode(*args))
    return calls


def test_a_second_run_from_the_same_exemplar_skips_its_encoding_with_identical_output(golden_network, counted):
    exemplar = ExemplarInput(golden_image("exemplar.png"), "reference")
    plain = _run(golden_network, None, exemplar)
    counted.clear()
    cache = ExemplarCache()
    first = _run(golden_network, cache, exemplar)
    assert len(counted) == FRAMES + 1 and (cache.hits, cache.misses) == (0, 1)  # the frames and the exemplar
    counted.clear()
    second = _run(golden_network, cache, ExemplarInput(golden_image("exemplar.png").copy(), "reference"))
    assert len(counted) == FRAMES and (cache.hits, cache.misses) == (1, 1)
    for a, b, c in zip(plain, first, second, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_another_exemplar_or_another_size_is_encoded_afresh(golden_network):
    image = golden_image("exemplar.png")
    cache = ExemplarCache()
    _run(golden_network, cache, ExemplarInput(image, "reference"))
    changed = image.copy()
    changed[0, 0] ^= 1  # one bit of one pixel
    _run(golden_network, cache, ExemplarInput(changed, "reference"))
    engine = InferenceEngine(golden_network, InferenceConfig(), exemplar_cache=cache)
    engine.step(golden_lightness(0), ExemplarInput(image, "reference"), work_size=(112, 224))
    assert (cache.hits, cache.misses) == (0, 3)


def test_a_held_keyframe_is_kept_with_its_frame(golden_network):
    exemplar = ExemplarInput(golden_image("exemplar.png"), "reference")
    held = ExemplarInput(golden_image("frames/00002.png"), "keyframe")
    plain = _run(golden_network, None, exemplar, hold=held)
    cache = ExemplarCache()
    _run(golden_network, cache, exemplar, hold=held)
    again = _run(golden_network, cache, exemplar, hold=held)
    assert (cache.hits, cache.misses) == (2, 2)
    assert all(np.array_equal(a, b) for a, b in zip(plain, again, strict=True))
    engine = InferenceEngine(golden_network, InferenceConfig(), exemplar_cache=cache)
    engine.hold(golden_lightness(1), held)  # the same keyframe image held from another frame's luminance
    assert cache.misses == 3


def test_the_cache_keeps_the_last_entries_and_clears():
    cache = ExemplarCache(capacity=2)
    made = []

    def make(name):
        def encode():
            made.append(name)
            return ExemplarEntry(torch.zeros(1), torch.zeros(1), torch.zeros(1))
        return encode

    for name in ["a", "b", "a", "c", "a", "b"]:
        cache.get_or_encode(name, make(name))
    assert made == ["a", "b", "c", "b"]  # "a" stayed (recently used), "b" went out when "c" came
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_the_digest_covers_shape_type_and_bytes():
    a = np.zeros((4, 6, 3), np.uint8)
    assert pixels_digest(a) == pixels_digest(a.copy())
    assert pixels_digest(a) != pixels_digest(a.reshape(6, 4, 3))
    assert pixels_digest(a) != pixels_digest(a.astype(np.float32))
    assert pixels_digest(a) != pixels_digest(a, a[..., 0])
    assert pixels_digest(a[:, ::2]) == pixels_digest(np.ascontiguousarray(a[:, ::2]))
