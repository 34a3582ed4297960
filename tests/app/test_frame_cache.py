"""The on-disk frame cache: keyed storage, persistence, size bound, damaged files."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from app.frame_cache import FrameCache


def frame(value: int, dtype: type = np.uint8) -> np.ndarray:
    rng = np.random.default_rng(value)
    top = 256 if dtype == np.uint8 else 65536
    return rng.integers(0, top, (24, 32, 3)).astype(dtype)


def test_put_get_and_keys(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    cache.put("a" * 24, 3, frame(3))
    cache.put("a" * 24, 4, frame(4, np.uint16))
    cache.put("b" * 24, 3, frame(5))
    assert cache.frames("a" * 24) == {3, 4}
    assert cache.contains("b" * 24, 3) and not cache.contains("b" * 24, 4)
    np.testing.assert_array_equal(cache.get("a" * 24, 3), frame(3))
    np.testing.assert_array_equal(cache.get("a" * 24, 4), frame(4, np.uint16))
    assert cache.get("a" * 24, 9) is None
    cache.remove_key("a" * 24)
    assert cache.frames("a" * 24) == frozenset() and cache.contains("b" * 24, 3)


def test_keys_that_are_not_plain_hashes_are_stored_safely(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    cache.put("../../etc/passwd", 0, frame(0))
    assert all(path.is_relative_to(tmp_path) for path in tmp_path.rglob("*"))
    assert cache.contains("../../etc/passwd", 0)


def test_a_new_cache_finds_what_an_earlier_one_left(tmp_path: Path) -> None:
    first = FrameCache(tmp_path)
    for index in range(3):
        first.put("k", index, frame(index))
    (tmp_path / "k" / "0000009.tmp123").write_bytes(b"half written")
    second = FrameCache(tmp_path)
    assert second.frames("k") == {0, 1, 2}
    assert second.size_bytes == first.size_bytes > 0
    assert not (tmp_path / "k" / "0000009.tmp123").exists()


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    probe = FrameCache(tmp_path / "probe")
    probe.put("k", 0, frame(0))
    one = probe.size_bytes
    cache = FrameCache(tmp_path / "bounded", limit_bytes=int(one * 3.5))
    for index in range(3):
        cache.put("k", index, frame(index))
    assert cache.get("k", 0) is not None  # frame 0 is now the most recently used
    cache.put("k", 3, frame(3))
    assert cache.frames("k") == {0, 2, 3}
    assert cache.size_bytes <= cache.limit_bytes
    assert not (tmp_path / "bounded" / "k" / "0000001.png").exists()
    cache.set_limit(int(one * 1.5))
    assert len(cache.frames("k")) == 1


def test_damaged_file_reads_as_missing(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    cache.put("k", 0, frame(0))
    (tmp_path / "k" / "0000000.png").write_bytes(b"garbage")
    assert cache.get("k", 0) is None
    assert not cache.contains("k", 0)


def test_writers_and_readers_on_several_threads(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for index in range(start, start + 10):
                cache.put("k", index, frame(index))
                assert cache.get("k", index) is not None
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i * 10,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.frames("k") == set(range(40))
