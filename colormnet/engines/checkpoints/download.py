"""The resumable download of a published weights file: resume, progress, cancel, size and checksum checks.

The file is fetched to ``dest.part`` and renamed onto ``dest`` once complete and checked, so ``dest`` is either
absent or whole. A ``.part`` left by an interrupted or cancelled try is continued with an HTTP range request; a
server that ignores or refuses the range makes the download start again from the first byte.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from colormnet.errors import DamagedWeightsError, WeightsError

logger = logging.getLogger(__name__)

_CHUNK = 256 * 1024  # read size: small enough for a responsive cancel
_MIB = 1024 * 1024

Progress = Callable[[int, int | None], None]


class DownloadCancelledError(WeightsError):
    """The download was stopped on request; the partial file is kept so a later call resumes it."""


@dataclass(frozen=True)
class Release:
    """A published weights file.

    Attributes:
        label: what it is for people, as in "Could not download *the ColorMNet weights* from ...".
        url: where it is published.
        sha256: its hex digest, or None while unconfirmed (the download then logs the digest it computed).
        size: its exact size in bytes, or None.
        licence: the terms it is published under, logged once it is saved (callers show it before downloading).
        by_hand: what the user can do instead when the download fails ("download the file by hand and pass ...").
    """

    label: str
    url: str
    sha256: str | None
    size: int | None
    licence: str
    by_hand: str


class _ResumeRejectedError(Exception):
    """The server cannot continue the partial file; it has to be fetched again from the start."""


def _reason(reason: object) -> object:
    if isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror
    return reason


def _network_error(release: Release, url: str, reason: object) -> WeightsError:
    return WeightsError(f"Could not download {release.label} from {url} ({_reason(reason)}); {release.by_hand}.")


def _open(release: Release, url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": "colormnet-studio"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # the partial file is longer than (or as long as) the server's
            raise _ResumeRejectedError from exc
        raise _network_error(release, url, f"HTTP {exc.code} {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _network_error(release, url, exc) from exc


def _resume_point(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the body starts within the file and the file's total size, from the status and headers."""
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
        if match is None or int(match[1]) != offset:
            raise _ResumeRejectedError
        return offset, None if match[2] == "*" else int(match[2])
    length = response.headers.get("Content-Length")
    if offset:
        logger.info("The server ignored the resume request; downloading from the start")
    return 0, int(length) if length and length.isdigit() else None


def _interrupted(release: Release, url: str, done: int, total: int | None, reason: object) -> WeightsError:
    return WeightsError(f"The download from {url} stopped after {done} of {total or 'unknown'} bytes "
                        f"({_reason(reason) or 'no reason given'}); run it again to resume, or {release.by_hand}.")


def _mismatch(release: Release, part: Path, what: str) -> WeightsError:
    part.unlink(missing_ok=True)
    return WeightsError(f"The download of {release.label} failed its check ({what}); the partial file was deleted, "
                        f"so run the download again, or {release.by_hand}.")


@dataclass
class _Transfer:
    """One response being appended to the partial file."""

    release: Release
    url: str
    part: Path
    total: int | None
    progress: Progress | None
    cancel: threading.Event | None

    def receive(self, response: http.client.HTTPResponse, start: int) -> str:
        """Appends the body to ``part`` from byte ``start``; returns the sha256 of the whole file."""
        digest = hashlib.sha256()
        if start:
            with open(self.part, "rb") as f:
                while block := f.read(8 * _MIB):
                    digest.update(block)
        done = start
        with open(self.part, "ab" if start else "wb") as f:
            self._report(done)
            while chunk := self._read(response, done):
                try:
                    f.write(chunk)
                except OSError as exc:
                    raise WeightsError(f"Could not write {self.part} ({exc.strerror or exc}); free some disk space "
                                       "or choose another destination.") from exc
                digest.update(chunk)
                done += len(chunk)
                self._report(done)
            f.flush()
            os.fsync(f.fileno())
        if self.total is not None and done < self.total:
            raise _interrupted(self.release, self.url, done, self.total, "the connection closed")
        if self.total is not None and done > self.total:
            raise _mismatch(self.release, self.part, f"{done} bytes arrived where the server announced {self.total}")
        return digest.hexdigest()

    def _report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, self.total)

    def _read(self, response: http.client.HTTPResponse, done: int) -> bytes:
        if self.cancel is not None and self.cancel.is_set():
            logger.info("Download cancelled after %d bytes; %s is kept for a resume", done, self.part)
            raise DownloadCancelledError("Download cancelled; run again to resume.")
        try:
            return response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise _interrupted(self.release, self.url, done, self.total, exc) from exc


def _log_damaged(exc: DamagedWeightsError) -> None:
    logger.info("%s; downloading the weights over it", exc.fault or exc)


def already_there(
    dest: Path,
    files: Iterable[Path],
    load: Callable[[Path], object],
    *,
    on_damaged: Callable[[DamagedWeightsError], None] = _log_damaged,
    elsewhere: str = "choose another destination",
) -> bool:
    """Whether a download of weights to ``dest`` has nothing to do, and may go there at all.

    Args:
        dest: where the weights go (a file, or a folder of ``files``).
        files: the files that make up the weights at ``dest``.
        load: the engine's check (its ``load_weights``).
        on_damaged: told of a damaged copy at ``dest``, which the download then replaces.
        elsewhere: the advice when something else is there.

    Returns:
        True when the weights are there and read; False when a file is missing, or a copy there is empty, cut short
        or damaged (a download replaces it once complete).

    Raises:
        WeightsError: Something else is at ``dest`` (a checkpoint of other weights, a video named by mistake): a
            user's file is never downloaded over; or it cannot be read (the message says what to do).
    """
    if not all(path.is_file() for path in files):
        return False
    try:
        load(dest)
    except DamagedWeightsError as exc:
        on_damaged(exc)
        return False
    except WeightsError as exc:
        if exc.fault is None:  # unreadable: the message says what to do
            raise
        raise WeightsError(f"{exc.fault}, so nothing was downloaded over it; move it away or {elsewhere}.") from exc
    return True


def download_file(
    dest: Path,
    release: Release,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
) -> Path:
    """Downloads ``release`` to ``dest`` through ``dest.part``, resuming a partial file left by an earlier try.

    The file is checked against the server's size and the release's size and sha256 (when known), synced to disk
    and renamed into place.

    Args:
        dest: the target file; its folder is created.
        release: what to fetch and how to check it.
        progress: called as ``progress(done_bytes, total_bytes_or_None)`` at the start and after every chunk.
        cancel: when set, the download stops at the next chunk and keeps the partial file.
        timeout: seconds to wait for the server on connect and on each read.

    Returns:
        ``dest``, complete.

    Raises:
        DownloadCancelledError: ``cancel`` was set; a later call resumes.
        WeightsError: A network or disk error, or a size or checksum mismatch (the partial file is then deleted).
    """
    part = dest.with_name(dest.name + ".part")
    created = [folder for folder in (dest.parent, *dest.parent.parents) if not folder.exists()]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the folder {dest.parent} ({exc.strerror or exc}); choose another "
                           "destination.") from exc
    try:
        return _fetch(dest, part, release, progress, cancel, timeout)
    except BaseException:
        for folder in created:  # innermost first; a partial file kept for resuming keeps its folders
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _fetch(dest: Path, part: Path, release: Release, progress: Progress | None,
           cancel: threading.Event | None, timeout: float) -> Path:
    """The body of :func:`download_file`, once ``dest``'s folder exists."""
    url = release.url
    for _ in range(3):
        offset = part.stat().st_size if part.is_file() else 0
        try:
            with _open(release, url, offset, timeout) as response:
                start, total = _resume_point(response, offset)
                if release.size is not None and total is not None and total != release.size:
                    raise _mismatch(release, part, f"{total} bytes on the server where {release.size} are "
                                    "expected")
                logger.info("Downloading %s to %s (%s bytes, from byte %d)", url, dest, total, start)
                sha256 = _Transfer(release, url, part, total, progress, cancel).receive(response, start)
        except _ResumeRejectedError:
            logger.info("Cannot resume %s; starting again from the first byte", part)
            part.unlink(missing_ok=True)
            continue
        break
    else:
        raise _network_error(release, url, "the server did not answer the resume request consistently")
    size = part.stat().st_size
    if release.size is not None and size != release.size:
        raise _mismatch(release, part, f"{size} bytes where {release.size} are expected")
    if release.sha256 is not None and sha256 != release.sha256.lower():
        raise _mismatch(release, part, f"its sha256 is {sha256} where {release.sha256} is expected")
    if release.sha256 is None:
        logger.info("sha256 of %s as downloaded (%d bytes): %s", release.label, size, sha256)
    os.replace(part, dest)
    logger.info("Saved %s to %s. %s", release.label, dest, release.licence)
    return dest
