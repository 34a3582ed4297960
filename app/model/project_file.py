"""Reading a ``.cmnproj`` file as untrusted input: bounded, strict JSON, and every value checked before use.

A project file may come from anyone (a shared folder, a download), so nothing in it is trusted:

- the file is read only if it is a regular file of at most :data:`MAX_PROJECT_BYTES`, as UTF-8, and parsed strictly
  (no ``NaN``/``Infinity``, no number that overflows a float, no nesting deep enough to exhaust the stack);
- the project id names the project's frame-cache folder, so only the form the app writes is accepted;
- frames, in/out points and settings must be numbers of the right type within bounds;
- an exemplar image must lie inside the project's own files folder (symlinks resolved) and be a regular file;
  one that does not is left out, and the user is told which (:func:`outside_notice`).

Every refusal is a :class:`ProjectError` with one sentence. This module is Qt-free.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.model.engine_settings import EngineSettings
from colormnet.errors import ColorMNetError
from colormnet.fileio import write_bytes_atomic

MAX_PROJECT_BYTES = 16 * 1024**2
"""Largest project file read; one with thousands of exemplars is a few hundred kilobytes."""
MAX_EXEMPLAR_BYTES = 1024**3
"""Largest exemplar image file copied along with a project (a 100-megapixel 16-bit TIFF fits)."""
MAX_FRAME = 2**31 - 1
"""Largest frame index a project may name (a day of film at 24 000 fps is far below it)."""
PROJECT_ID = re.compile(r"[0-9a-f]{32}")
"""The project ids the app writes (``uuid4().hex``): they name the project's frame-cache folder."""
# Bounds of the numeric engine settings: wide enough for every value the settings dialog allows.
SETTING_BOUNDS = {
    "process_size": (16, 16384),
    "mem_every": (1, 100_000),
    "top_k": (1, 100_000),
    "max_mid_term_frames": (1, 100_000),
    "min_mid_term_frames": (1, 100_000),
    "num_prototypes": (1, 1_000_000),
    "max_long_term_elements": (1, 100_000_000),
}
_NAMES_SHOWN = 3


class ProjectError(ColorMNetError):
    """A project file cannot be read or written."""


def read_project_data(path: Path) -> dict[str, Any]:
    """The JSON object of the project file at ``path``.

    Raises:
        ProjectError: The file is missing, not a regular file, too large, not UTF-8, not strict JSON, nested too
            deeply, or not a JSON object.
    """
    name = quoted(path)
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise ProjectError(f"The project file {name} does not exist; check the path.") from exc
    except (OSError, ValueError) as exc:
        raise ProjectError(f"The project file {name} cannot be read; check the path.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ProjectError(f"The project file {name} is not a regular file; open a .cmnproj file.")
    if info.st_size > MAX_PROJECT_BYTES:
        raise ProjectError(
            f"The project file {name} is {info.st_size / 1e6:.0f} MB, too large to be a project; open a .cmnproj file."
        )
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PROJECT_BYTES + 1)
    except OSError as exc:
        raise ProjectError(f"The project file {name} cannot be read ({exc.strerror or exc}).") from exc
    if len(raw) > MAX_PROJECT_BYTES:  # it grew since the check
        raise ProjectError(f"The project file {name} is too large to be a project; open a .cmnproj file.")
    data = parse_project_json(raw, name)
    if not isinstance(data, dict):
        raise ProjectError(f"The project file {name} is not a ColorMNet Studio project; open a .cmnproj file.")
    return data


def parse_project_json(raw: bytes, name: str) -> Any:
    """Strict JSON of ``raw`` (UTF-8, with or without the byte-order mark some text editors write; finite numbers
    only).

    Raises:
        ProjectError: It is not such JSON, or is nested too deeply to parse; a syntax error is named by its line and
            column, for whoever edited the file by hand.
    """
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ProjectError(f"The project file {name} is nested too deeply to be a project; it is damaged.") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ProjectError(f"The project file {name} cannot be read: its text is broken at {where} "
                           f"({exc.msg.lower()}); it is damaged or not a project.") from exc
    except (ValueError, OverflowError) as exc:  # UnicodeDecodeError, int digit limit, a constant refused, ...
        raise ProjectError(f"The project file {name} cannot be read; it is damaged or not a project.") from exc


def _refuse_constant(constant: str) -> float:
    raise ValueError(f"{constant} is not a number a project holds")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def check_project_id(value: Any) -> str:
    """``value`` if it is a project id of the form the app writes.

    Raises:
        ProjectError: It is not (an absolute path or ``../`` would move the frame cache anywhere).
    """
    if isinstance(value, str) and PROJECT_ID.fullmatch(value):
        return value
    raise ProjectError("The project file is damaged: its id is not one ColorMNet Studio writes.")


def frame_number(value: Any, what: str) -> int:
    """``value`` as a frame index: an integer from 0 to :data:`MAX_FRAME`.

    Raises:
        ProjectError: It is not (a float, a string, a boolean, a negative or a huge number).
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_FRAME:
        return value
    raise ProjectError(f"The project file is damaged: its {what} is not a frame number.")


def optional_frame(value: Any, what: str) -> int | None:
    """:func:`frame_number`, or None for a missing value."""
    return None if value is None else frame_number(value, what)


def engine_settings(value: Any) -> EngineSettings:
    """The stored engine settings, their numbers within :data:`SETTING_BOUNDS`.

    Values of the wrong type keep their default (see :meth:`EngineSettings.from_dict`).

    Raises:
        ProjectError: The settings are not a JSON object, or a number is out of bounds.
    """
    if value is None:
        return EngineSettings()
    if not isinstance(value, dict):
        raise ProjectError("The project file is damaged: its settings are not a list of named values.")
    settings = EngineSettings.from_dict(value)
    for name, (low, high) in SETTING_BOUNDS.items():
        if not low <= getattr(settings, name) <= high:
            raise ProjectError(f"The project file is damaged: its setting {name} is out of range.")
    return settings


def find_video(data: dict[str, Any], base: Path | None) -> Path | None:
    """The stored video path, else the one relative to the project (a project moved along with its film).

    The video is only read, never written or copied, so it may be anywhere.

    Raises:
        ProjectError: A stored path is not a path name.
    """
    video, relative_name = data.get("video"), data.get("video_relative")
    for value in (video, relative_name):
        if value is not None and (not isinstance(value, str) or "\0" in value):
            raise ProjectError("The project file is damaged: its video is not a file name.")
    if not video:
        return None
    absolute = Path(video)
    if absolute.exists() or base is None or not relative_name:
        return absolute
    relative = (base / relative_name).resolve()
    return relative if relative.exists() else absolute


def stored_image(stored: Any, files_dir: Path) -> Path | None:
    """The exemplar image a project names, or None when it lies outside the project's files folder.

    A relative name is taken inside ``files_dir``; an absolute one only counts where it is inside it. Symlinks are
    resolved, so a link in the folder pointing elsewhere is outside too (the files folder itself included: a
    shared project cannot bring a link to the user's home as its files folder), and so is anything that is not a
    regular file (a device such as ``/dev/zero``, a pipe, a folder). A missing file is returned as it is: the
    session says so when it needs it.

    Raises:
        ProjectError: ``stored`` is not a path name.
    """
    if not isinstance(stored, str) or not stored or "\0" in stored:
        raise ProjectError("The project file is damaged: an exemplar's image is not a file name.")
    image = Path(stored)
    if not image.is_absolute():
        if ".." in image.parts:
            return None
        image = files_dir / image
    try:
        home = files_dir.parent.resolve() / files_dir.name  # not following files_dir if it is a link
        if not image.resolve().is_relative_to(home):
            return None
        mode = image.stat().st_mode
    except FileNotFoundError:
        return image
    except (OSError, RuntimeError):  # a symlink loop, a name too long, a folder we may not read
        return None
    return image if stat.S_ISREG(mode) else None


def outside_notice(names: Sequence[str]) -> str:
    """The one-sentence message naming the exemplar images a project referred to but was not allowed to use."""
    shown = ", ".join(quoted(name) for name in names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return (
        f"This project refers to images outside its own folder, which were left out: {shown}{more}; "
        "add them again as exemplars if you trust them."
    )


def check_image_file(image: Path) -> None:
    """Check, before it is copied, that ``image`` is a regular image file that decodes as an exemplar.

    Raises:
        ProjectError: It is not a regular file, is too large, or does not decode as a colour image.
    """
    from colormnet.exemplar import load_exemplar_image  # imports torch; the controller has it loaded by now

    try:
        info = os.stat(image)
    except OSError as exc:
        raise ProjectError(f"The exemplar image {quoted(image)} cannot be read ({exc.strerror or exc}).") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ProjectError(f"The exemplar image {quoted(image)} is not a regular file; replace it.")
    if info.st_size > MAX_EXEMPLAR_BYTES:
        raise ProjectError(f"The exemplar image {quoted(image)} is larger than 1 GB; replace it with a smaller one.")
    try:
        load_exemplar_image(image)
    except ColorMNetError as exc:
        raise ProjectError(f"The exemplar image {quoted(image)} cannot be used ({exc}).") from exc


def quoted(name: object) -> str:
    """``name`` in quotes, with line breaks and other control characters escaped (messages are one line)."""
    return json.dumps(str(name), ensure_ascii=False)


def relative_path(path: Path, base: Path) -> str | None:
    """``path`` relative to ``base`` (None where there is no such path: another drive on Windows)."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return None


def copy_into(image: Path, folder: Path) -> Path:
    """``image`` copied into ``folder`` under its own name (unless it is there already)."""
    target = folder / image.name
    if image.resolve() != target.resolve():
        shutil.copy2(image, target)
    return target


def prune_images(files_dir: Path, exemplars_dir: Path, used: set[Path]) -> None:
    """Delete the exemplar copies in ``exemplars_dir`` that are not ``used`` (resolved paths) any more.

    Nothing goes through a link: a files folder that is a symlink (which a shared project can bring) is not ours.
    """
    linked = files_dir.is_symlink() or exemplars_dir.is_symlink()
    if exemplars_dir.is_dir() and not linked:
        for file in exemplars_dir.iterdir():
            if file.is_file() and file.name.startswith("exemplar_") and file.resolve() not in used:
                file.unlink(missing_ok=True)


def write_project_json(path: Path, data: dict[str, Any]) -> None:
    """Write project data as JSON, crash-safely (temporary name, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, json.dumps(data, indent=2).encode("utf-8"))
