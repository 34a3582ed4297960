"""What the window asks before the open project goes away, and what it offers at start-up: stop the run that goes on,
restore the projects a crash left; and how Recent files names its entries."""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from app.model import autosave
from app.model.project import ProjectError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.controller import Controller

logger = logging.getLogger(__name__)


def confirm_stop_run(parent: QWidget, controller: Controller) -> bool:
    """Ask before the run that goes on is stopped (the program quits, or another project opens); False when the user
    cancels. True at once when nothing runs."""
    runs = controller.runs
    if not runs.busy or runs.stopping:  # nothing to ask: it ends anyway
        return True
    if runs.exporting:
        title, text = "Stop the export?", "An export is still being written. Stop it? The file is not written."
    else:
        title, text = "Stop colorizing?", "Colorizing is still going on. Stop it? The frames colorized so far are kept."
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer != QMessageBox.StandardButton.Cancel


def _changed_at(path: Path) -> str:
    """When the snapshot at ``path`` was written, for people (``7 Dec 2026, 10:02``)."""
    try:
        when = datetime.datetime.fromtimestamp(path.stat().st_mtime)  # the user's local time
    except OSError:
        return "at an unknown time"
    return f"{when.day} {when:%b %Y, %H:%M}"


def offer_restore(parent: QWidget, controller: Controller, show_error: Callable[[str], None]) -> bool:
    """After a crash, offer the autosaved projects one at a time, newest first, until one is restored; True when one
    was. A project declined, or damaged, is deleted (those that fail for another reason are kept and logged); those
    not yet offered when one is restored stay for the next start, so no unsaved work goes without being asked about.
    The damaged ones are told in one message, each by its date."""
    orphans = autosave.find_orphans(controller.paths.autosave)
    damaged: list[str] = []
    restored = False
    for index, path in enumerate(orphans):
        try:
            project = autosave.restore(path)
        except ProjectError as exc:
            reason = " ".join(str(exc).split())[:200]  # one line, whatever the error says
            damaged.append(f"The unsaved project last changed {_changed_at(path)} cannot be restored ({reason}).")
            path.unlink(missing_ok=True)
            continue
        except Exception:  # not the snapshot's fault: kept for a later start, and the program still starts
            logger.exception("restoring %s failed", path)
            continue
        others = len(orphans) - index - 1
        waits = f"{others} other unsaved projects wait" if others > 1 else "one other unsaved project waits"
        later = f" If you restore them, {waits} until the next start." if others else ""
        answer = QMessageBox.question(
            parent,
            "Restore project?",
            f"ColorMNet Studio did not close properly last time. Restore the unsaved changes to {project.title}, "
            f"last changed {_changed_at(path)}? No discards them.{later}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            controller.files.adopt_project(project)
            restored = True
            break
        path.unlink(missing_ok=True)
    if damaged:
        show_error("\n\n".join(damaged))
    return restored


def recent_labels(paths: list[Path]) -> list[str]:
    """Menu texts for the recent ``paths``: the file's name, with its folder where two share a name; an ``&`` stays
    an ``&`` (not a shortcut letter)."""
    counts = Counter(path.name for path in paths)
    labels = [f"{p.name} — {p.parent.name or p.parent}" if counts[p.name] > 1 else p.name for p in paths]
    return [label.replace("&", "&&") for label in labels]
