"""Settings that outlive a run, stored with QSettings: engine defaults, weights path, recent files, view state."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from app.model.engine_settings import EngineSettings
from app.model.frame_cache import DEFAULT_LIMIT_BYTES

MAX_RECENT = 10
VIEW_MODES = ("side_by_side", "wipe", "color_only")


class AppSettings:
    """Typed access to the program's QSettings.

    Args:
        store: The QSettings to use; by default the user's native settings of ColorMNet Studio.
    """

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store if store is not None else QSettings("ColorMNet", "ColorMNet Studio")

    def sync(self) -> None:
        """Write pending changes to disk."""
        self._store.sync()

    # -- engine ------------------------------------------------------------------------------------------------

    def engine_settings(self) -> EngineSettings:
        """The engine settings last chosen (defaults for a new project)."""
        data: dict[str, Any] = {}
        for f in fields(EngineSettings):
            value = self._store.value(f"engine/{f.name}")
            if value is not None:
                data[f.name] = value
        return EngineSettings.from_dict(data)

    def set_engine_settings(self, settings: EngineSettings) -> None:
        """Remember ``settings`` as the defaults."""
        for name, value in settings.to_dict().items():
            self._store.setValue(f"engine/{name}", value)

    @property
    def weights_path(self) -> Path | None:
        """A checkpoint the user located or downloaded, if any."""
        value = self._store.value("engine/weights_path")
        return Path(str(value)) if value else None

    @weights_path.setter
    def weights_path(self, path: Path | None) -> None:
        self._store.setValue("engine/weights_path", str(path) if path is not None else "")

    @property
    def offer_weights(self) -> bool:
        """Whether the weights dialog opens by itself while the weight-free engine stands in for ColorMNet."""
        return _as_bool(self._store.value("engine/offer_weights"), True)

    @offer_weights.setter
    def offer_weights(self, value: bool) -> None:
        self._store.setValue("engine/offer_weights", bool(value))

    @property
    def cache_limit_bytes(self) -> int:
        """Size bound of a project's frame cache."""
        return _as_int(self._store.value("cache/limit_bytes"), DEFAULT_LIMIT_BYTES)

    @cache_limit_bytes.setter
    def cache_limit_bytes(self, value: int) -> None:
        self._store.setValue("cache/limit_bytes", int(value))

    # -- recent files ------------------------------------------------------------------------------------------

    def recent_files(self) -> list[Path]:
        """Recently opened videos and projects, newest first."""
        value = self._store.value("recent/files")
        if not value:
            return []
        items = [value] if isinstance(value, str) else list(value)
        return [Path(str(item)) for item in items if item]

    def add_recent(self, path: Path) -> None:
        """Put ``path`` at the top of the recent files."""
        path = Path(path).resolve()
        items = [path] + [p for p in self.recent_files() if p != path]
        self._store.setValue("recent/files", [str(p) for p in items[:MAX_RECENT]])

    def remove_recent(self, path: Path) -> None:
        """Take ``path`` off the recent files."""
        self._store.setValue("recent/files", [str(p) for p in self.recent_files() if p != Path(path)])

    def clear_recent(self) -> None:
        """Forget the recent files."""
        self._store.setValue("recent/files", [])

    # -- folders and the last export ------------------------------------------------------------------------

    def last_folder(self, kind: str) -> Path | None:
        """The folder a file dialog of ``kind`` (``video``, ``project``, ``image``, ``export``) last chose from, if it
        still exists."""
        value = self._store.value(f"folders/{kind}")
        folder = Path(str(value)) if value else None
        return folder if folder is not None and folder.is_dir() else None

    def set_last_folder(self, kind: str, folder: Path) -> None:
        """Remember ``folder`` for the next file dialog of ``kind``."""
        self._store.setValue(f"folders/{kind}", str(folder))

    def last_export(self, video: Path) -> tuple[Path, str] | None:
        """The output and codec of the last export of ``video``, if the last export was of that video."""
        value = self._store.value("export/last")
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            return None
        source, output, codec = (str(item) for item in value)
        return (Path(output), codec) if source == str(Path(video).resolve()) and output else None

    def set_last_export(self, video: Path, output: Path, codec: str) -> None:
        """Remember the output and codec an export of ``video`` was started with."""
        self._store.setValue("export/last", [str(Path(video).resolve()), str(output), codec])

    # -- view --------------------------------------------------------------------------------------------------

    @property
    def follow_playhead(self) -> bool:
        """Whether the playhead follows the frames being colorized."""
        return _as_bool(self._store.value("view/follow_playhead"), True)

    @follow_playhead.setter
    def follow_playhead(self, value: bool) -> None:
        self._store.setValue("view/follow_playhead", bool(value))

    @property
    def view_mode(self) -> str:
        """side_by_side, wipe or color_only."""
        value = str(self._store.value("view/mode") or "side_by_side")
        return value if value in VIEW_MODES else "side_by_side"

    @view_mode.setter
    def view_mode(self, value: str) -> None:
        self._store.setValue("view/mode", value)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The saved main window geometry and dock/toolbar state."""
        geometry = self._store.value("window/geometry")
        state = self._store.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the main window geometry and dock/toolbar state."""
        self._store.setValue("window/geometry", geometry)
        self._store.setValue("window/state", state)


def _as_bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _as_int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
