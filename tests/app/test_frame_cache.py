"""The on-disk frame cache: keyed storage, persistence, size bound, damaged files, and keeping to its folder."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.model.frame_cache import FrameCache, remove_cache_folder
from app.model.paths import OutsideFolderError
from app.model.png_codec import encode_png


def frame(value: int, dtype: type = np.uint8) -> np.ndarray:
    rng = np.random.default_rng(value)
    top = 256 if dtype == np.uint8 else 65536
    return rng.integers(0, top, (24, 32, 3)).astype(dtype)


def test_put_get_and_keys(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path, "p")
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


def test_a_dropped_cache_writes_nothing_and_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.model.frame_cache as frame_cache

    cache = FrameCache(tmp_path, "p")
    cache.put("a" * 24, 0, frame(0))
    encode = frame_cache.encode_png

    def replaced_meanwhile(rgb: np.ndarray) -> bytes:  # the project is replaced while this frame is encoded
        cache.drop()
        cache.root.rename(tmp_path / ".stale-p")  # as the clean-up sets the folder aside
        return encode(rgb)

    monkeypatch.setattr(frame_cache, "encode_png", replaced_meanwhile)
    cache.put("a" * 24, 1, frame(1))
    assert not cache.root.exists()  # the late frame did not make the folder again
    assert not (tmp_path / ".stale-p" / ("a" * 24) / "0000001.png").exists()
    cache.put("a" * 24, 2, frame(2))  # nor does any frame after
    assert not cache.root.exists() and not cache.contains("a" * 24, 2)


def test_keys_that_are_not_plain_hashes_are_stored_safely(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path, "p")
    cache.put("../../etc/passwd", 0, frame(0))
    assert all(path.is_relative_to(tmp_path) for path in tmp_path.rglob("*"))
    assert cache.contains("../../etc/passwd", 0)


def test_a_new_cache_finds_what_an_earlier_one_left(tmp_path: Path) -> None:
    first = FrameCache(tmp_path, "p")
    for index in range(3):
        first.put("k", index, frame(index))
    (tmp_path / "p" / "k" / "0000009.tmp123").write_bytes(b"half written")
    second = FrameCache(tmp_path, "p")
    assert second.frames("k") == {0, 1, 2}
    assert second.size_bytes == first.size_bytes > 0
    assert not (tmp_path / "p" / "k" / "0000009.tmp123").exists()


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    probe = FrameCache(tmp_path, "probe")
    probe.put("k", 0, frame(0))
    one = probe.size_bytes
    cache = FrameCache(tmp_path, "bounded", limit_bytes=int(one * 3.5))
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
    cache = FrameCache(tmp_path, "p")
    cache.put("k", 0, frame(0))
    (tmp_path / "p" / "k" / "0000000.png").write_bytes(b"garbage")
    assert cache.get("k", 0) is None
    assert not cache.contains("k", 0)


def test_writers_and_readers_on_several_threads(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path, "p")
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


@pytest.mark.parametrize("name", ["/abs/victim", "../victim", "..", ".", "", "a/b", "a\\b", "nul\0l"])
def test_a_cache_folder_outside_the_cache_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutsideFolderError):
        FrameCache(tmp_path / "frames", name)
    with pytest.raises(OutsideFolderError):
        remove_cache_folder(tmp_path / "frames", name)


def make_victim(folder: Path) -> dict[Path, bytes]:
    """Files of the user that look like the cache's own: a key folder, numbered frames, a temporary file."""
    files = {
        folder / "reel1" / "0000001.png": encode_png(frame(1)),
        folder / "reel1" / "0000002.tmp99": b"a draft",
        folder / "drafts" / "thesis.tmp": b"my thesis",
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def assert_intact(files: dict[Path, bytes]) -> None:
    assert {path: path.read_bytes() for path in files if path.exists()} == files


def test_a_symlink_in_place_of_the_cache_folder_is_refused(tmp_path: Path) -> None:
    victim = make_victim(tmp_path / "victim")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "0123").symlink_to(tmp_path / "victim", target_is_directory=True)
    with pytest.raises(OutsideFolderError):
        FrameCache(tmp_path / "frames", "0123")
    with pytest.raises(OutsideFolderError):
        remove_cache_folder(tmp_path / "frames", "0123")
    assert_intact(victim)


def test_scan_eviction_and_clean_up_never_follow_a_symlinked_key_folder(tmp_path: Path) -> None:
    victim = make_victim(tmp_path / "victim")
    cache = FrameCache(tmp_path / "frames", "p", limit_bytes=1)
    cache.root.mkdir(parents=True)
    (cache.root / "reel1").symlink_to(tmp_path / "victim" / "reel1", target_is_directory=True)
    (cache.root / "drafts").symlink_to(tmp_path / "victim" / "drafts", target_is_directory=True)

    cache.scan()
    assert cache.frames("reel1") == frozenset() and cache.size_bytes == 0  # nothing of the victim indexed
    cache.put("reel1", 1, frame(1))  # a write through the link is refused, not made in the victim's folder
    cache.put("k", 0, frame(0))
    cache.set_limit(0)
    cache.remove_key("reel1")
    cache.remove_key("drafts")
    cache.clear()
    remove_cache_folder(tmp_path / "frames", "p")

    assert_intact(victim)
    assert not cache.root.exists()


def test_the_cache_leaves_files_it_did_not_write(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path, "p", limit_bytes=1)
    cache.put("k", 0, frame(0))
    foreign = make_victim(cache.root)  # look-alikes inside its own folder: a wrong-length number, other names
    foreign[cache.root / "k" / "notes.tmp"] = b"notes"
    foreign[cache.root / "k" / "0001.png"] = encode_png(frame(2))
    for path, data in foreign.items():
        path.write_bytes(data)

    again = FrameCache(tmp_path, "p", limit_bytes=1)
    again.scan()
    again.set_limit(0)
    again.clear()
    remove_cache_folder(tmp_path, "p")
    ours = {cache.root / "reel1" / "0000001.png", cache.root / "reel1" / "0000002.tmp99"}  # named as the cache names
    assert not any(path.exists() for path in ours)
    assert_intact({path: data for path, data in foreign.items() if path not in ours})
    assert not (cache.root / "k" / "0000000.png").exists()
