"""Start-up checks of the Qt binding itself, and fatal errors written where a user can find them.

PySide6 6.12.0 on Python 3.11 (and older) returns ``None`` from every method without a result (``setPen``,
``drawLine``, ``update``, ...) without taking a reference to it, so each call lowers ``None``'s reference count by
one. A few thousand calls later the interpreter frees ``None`` and aborts (``Fatal Python error: none_dealloc``);
the timeline's painting alone got there within half a minute of playback. From Python 3.12 ``None`` is immortal
and the miscount is harmless. The project's requirements exclude that combination; :func:`binding_fault` finds it
(or any later release with the same fault) in a running process, so that the app refuses to start with one line
that says what to install, instead of vanishing later.
"""

from __future__ import annotations

import faulthandler
import sys
from pathlib import Path
from typing import IO

import PySide6
from PySide6.QtCore import QPointF

_PROBE_CALLS = 200

_crash_file: IO[str] | None = None
_given_back: list[None] = []  # references to None that stand in for those a faulty binding dropped in the probe


def binding_fault() -> str | None:
    """One line describing a reference-counting fault of the installed Qt binding, or ``None`` if it has none."""
    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        point.setX(1.0)  # returns None
    lost = before - sys.getrefcount(None)
    _given_back.extend([None] * max(0, lost))  # so that the probe itself cannot free None
    if lost < _PROBE_CALLS // 2:
        return None
    return (f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} loses a "
            "reference to None on every call and would crash the app within minutes; install "
            "'PySide6-Essentials<6.12' or run on Python 3.12 or newer.")


def write_crashes_to(path: Path) -> None:
    """Sends the traceback of a fatal error (an abort, a segmentation fault) to ``path``, appended, beside the log:
    an app started from a desktop menu has no terminal to print it on. Where fault reports are already on (``python
    -X faulthandler``, pytest) they stay where they go."""
    global _crash_file
    if faulthandler.is_enabled():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    _crash_file = path.open("a", encoding="utf-8")  # kept open for the life of the process
    faulthandler.enable(file=_crash_file, all_threads=True)
