"""Errors no code caught: in a slot Qt called, or on a Python thread.

PySide6 prints such an exception to standard error and goes on, so an app started from a desktop menu would show
nothing at all: the action simply did not happen. Here each goes to the log with its traceback, and one raised on the
GUI thread also to the user, as one message that names the log; the app goes on. The same message is shown once per
session (an error in a paint event comes back on every repaint).
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

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
        self._shown: set[str] = set()
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
        message = (f"An unexpected error stopped that action ({kind.__name__}: {error!s:.160}); the details are in "
                   "the log file (Help ▸ Show Log File).")
        if message not in self._shown:
            self._shown.add(message)
            self._window.show_error(message)

    def _on_thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.on_exception(args.exc_type, args.exc_value, args.exc_traceback)
