"""The shot cache: a video's shot list, kept in the per-user cache folder so the CLI and the app detect once.

The key is cheap even for a 100 GB scan: the file's size and modification time, and a hash of
:data:`SAMPLED_BLOCKS` blocks of :data:`BLOCK_BYTES` spread over the file (the first and the last included), not of
the whole file; an image folder's key covers each image's name, size and modification time. The detector and its
threshold are part of the key. Nothing is ever written beside the source. A cache file is untrusted when read back:
one that is unreadable, malformed or for another key is ignored (and replaced), never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import platformdirs

from colormnet.fileio import write_bytes_atomic
from colormnet.shots.detect import DEFAULT_DETECTOR, ProgressCallback, check_detector, detect_shots
from colormnet.shots.formats import parse_json, read_text_bounded, shot_record
from colormnet.shots.model import Shot, ShotListError, validate_shots
from colormnet.video import VideoReader

logger = logging.getLogger(__name__)

#: Bumped when detection changes, so that older lists are not reused.
CACHE_VERSION = 1
SAMPLED_BLOCKS = 16
BLOCK_BYTES = 64 * 1024


def default_cache_dir() -> Path:
    """``<per-user cache folder>/colormnet/shots``."""
    return platformdirs.user_cache_path("colormnet", appauthor=False) / "shots"


def sampled_blocks(path: Path, size: int) -> Iterator[bytes]:
    """:data:`SAMPLED_BLOCKS` blocks of :data:`BLOCK_BYTES` spread evenly over a file of ``size`` bytes."""
    with path.open("rb") as handle:
        for k in range(SAMPLED_BLOCKS):
            handle.seek(max(0, (size - BLOCK_BYTES) * k // max(1, SAMPLED_BLOCKS - 1)))
            yield handle.read(BLOCK_BYTES)


def content_key(video: str | Path, *, detector: str = DEFAULT_DETECTOR, threshold: float | None = None) -> str:
    """The cache key of a video (a file or an image folder) for one detector setting."""
    path = Path(video)
    if path.exists() and not (path.is_dir() or path.is_file()):  # a pipe or a device: reading it may never end
        raise ShotListError(f"{path} is neither a video file nor a folder of images.")
    try:
        stat = path.stat()
        if path.is_dir():
            listing = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(path) if e.is_file())
            content = hashlib.sha256(repr(listing).encode()).hexdigest()
        else:
            digest = hashlib.sha256()
            for block in sampled_blocks(path, stat.st_size):
                digest.update(block)
            content = digest.hexdigest()
    except OSError as exc:
        raise ShotListError(f"{path} cannot be read to identify it ({exc.strerror or exc}).") from None
    fields = [CACHE_VERSION, stat.st_size, stat.st_mtime_ns, content, detector, threshold]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:40]


def read_cached(file: Path, key: str) -> list[Shot] | None:
    """The shots stored in ``file`` for ``key``, or None when it is missing or not trustworthy."""
    try:
        text = read_text_bounded(file)
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("key") != key or data.get("version") != CACHE_VERSION:
            return None
        frame_count = data.get("frame_count")
        if not isinstance(frame_count, int) or isinstance(frame_count, bool):
            return None
        return validate_shots(parse_json(text), frame_count)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError, ShotListError) as exc:
        logger.warning("Ignoring the damaged shot cache %s (%s)", file.name, exc)
        return None


def shots_for_video(
    video: str | Path,
    *,
    detector: str = DEFAULT_DETECTOR,
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cache_dir: str | Path | None = None,
) -> list[Shot]:
    """The shots of ``video``, from the cache when it has them, else detected and cached.

    Args:
        video: A video file or an image folder.
        detector, threshold, progress, cancel: As for :func:`~colormnet.shots.detect_shots`.
        cache_dir: Where cached lists live (default :func:`default_cache_dir`).
    """
    check_detector(detector, threshold)  # a list cached for the film must not answer for a setting refused
    key = content_key(video, detector=detector, threshold=threshold)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    file = folder / f"{key}.json"
    cached = read_cached(file, key)
    if cached is not None:
        logger.info("Shots of %s from the cache", Path(video).name)
        return cached
    with VideoReader(video) as reader:
        shots = detect_shots(reader, detector=detector, threshold=threshold, progress=progress, cancel=cancel)
        fps, frame_count = reader.info.fps, reader.info.frame_count
    record = {"version": CACHE_VERSION, "key": key, "frame_count": frame_count,
              "shots": [shot_record(s, fps) for s in shots]}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(file, json.dumps(record).encode("utf-8"))
    except OSError as exc:  # a cache that cannot be written costs time, not the result
        logger.warning("Could not cache the shots of %s (%s)", Path(video).name, exc.strerror or exc)
    return shots
