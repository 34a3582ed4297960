"""The manifest of a run folder: which chunks are finished, from which inputs, with which content.

``manifest.json`` maps each finished unit's chunk file name to its inputs key, frame count and the SHA-256 of the
file. A chunk is reused only when all three still hold; anything else (a chunk edited, truncated or left by other
settings) is rendered again. Only the driver writes the manifest, atomically, after each chunk completes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from colormnet.cluster.units import Unit
from colormnet.fileio import write_bytes_atomic

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_VERSION = 1
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ChunkRecord:
    """A finished chunk.

    Attributes:
        name: its file name in the run folder.
        key: the inputs key of the unit it renders.
        frames: how many frames it holds.
        sha256: hash of the file's bytes.
    """

    name: str
    key: str
    frames: int
    sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """The finished chunks of one run folder.

    Args:
        folder: the run folder (created by the driver).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.records: dict[str, ChunkRecord] = self._load()

    def _load(self) -> dict[str, ChunkRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                return {}
            return {name: ChunkRecord(**fields) for name, fields in data["chunks"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("Ignoring the unreadable manifest %s (%s): every chunk is rendered again", self.path, exc)
            return {}

    def reusable(self, unit: Unit) -> bool:
        """Whether the unit's chunk is finished and intact: same inputs key, frame count and content hash."""
        record = self.records.get(unit.chunk_name)
        if record is None or record.key != unit.key or record.frames != len(unit.frames):
            return False
        path = self.folder / unit.chunk_name
        try:
            intact = path.is_file() and file_sha256(path) == record.sha256
        except OSError:
            intact = False
        if not intact:
            logger.warning("Chunk %s does not match its manifest entry; rendering it again", unit.chunk_name)
        return intact

    def add(self, record: ChunkRecord) -> None:
        """Records a finished chunk and saves the manifest atomically."""
        self.records[record.name] = record
        data = {"version": _VERSION, "chunks": {name: asdict(r) for name, r in sorted(self.records.items())}}
        write_bytes_atomic(self.path, json.dumps(data, indent=1).encode())
