"""Where the app keeps its files: scratch projects, frame caches, autosaves and the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "colormnet-studio"


@dataclass(frozen=True)
class AppPaths:
    """Folders of the app's own files."""

    scratch: Path  # exemplar copies of projects not saved yet
    cache: Path  # one frame-cache folder per project id
    autosave: Path  # autosave snapshots, removed on a clean exit
    log_file: Path

    @classmethod
    def default(cls) -> AppPaths:
        """The user's platform folders."""
        cache = platformdirs.user_cache_path(APP_NAME, appauthor=False)
        data = platformdirs.user_data_path(APP_NAME, appauthor=False)
        logs = platformdirs.user_log_path(APP_NAME, appauthor=False)
        return cls(
            scratch=data / "untitled", cache=cache / "frames", autosave=data / "autosave", log_file=logs / "studio.log"
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """Everything inside one folder (tests, portable installs)."""
        return cls(
            scratch=root / "untitled", cache=root / "frames", autosave=root / "autosave", log_file=root / "studio.log"
        )
