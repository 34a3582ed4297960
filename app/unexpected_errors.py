"""Errors no code caught: in a slot Qt called, or on a Python thread.

PySide6 prints such an exception to standard error and goes on, so an app started from a desktop menu would show
nothing at all: the action simply did not happen. Here each goes to the log with its traceback, and one raised on the
GUI thread also to the user, as one message that names the log; the app goes on. An error is told once per session
for each place it is raised (an error in a paint event comes back on every repaint, its text changing), never while
a message box is open, and from the event loop rather than from inside the failing call.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    from app.widgets.main_window import MainWindow

logger = logging.getLogger(__name__)


class UnexpectedErrors:
    """Reports uncaught exceptions (see the module's description); :meth:`install` puts it in place.

    Args:
        window: Where the user is told.
    """

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._told: set[tuple[str, str, int]] = set()  # exception type, file and line where it was raised
        self._gui_thread = threading.get_ident()

    def install(self) -> None:
        """Become ``sys.excepthook`` and ``threading.excepthook``."""
        sys.excepthook = self.on_exception
        threading.excepthook = self._on_thread_exception

    def on_exception(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        """Log ``error``; tell the user when it was raised on the GUI thread."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        logger.critical("unexpected error", exc_info=(kind, error, trace))
        if threading.get_ident() != self._gui_thread:
            return
        raised_at = traceback.extract_tb(trace)[-1:]  # the innermost frame, if any
        where = (kind.__qualname__, *((raised_at[0].filename, raised_at[0].lineno or 0) if raised_at else ("", 0)))
        if where in self._told:
            return
        self._told.add(where)
        message = (f"An unexpected error stopped that action ({kind.__name__}: {error!s:.160}); the details are in "
                   "the log file (Help ▸ Show Log File).")
        QTimer.singleShot(0, lambda: self._tell(message))

    def _tell(self, message: str) -> None:
        """Show ``message`` unless a message box is open (another error's, or a message the app gave just before
        the error, which says more than this one)."""
        shown = self._window.last_message
        try:
            if shown is not None and shown.isVisible():
                return
        except RuntimeError:  # its window is gone
            return
        self._window.show_error(message)

    def _on_thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.on_exception(args.exc_type, args.exc_value, args.exc_traceback)
