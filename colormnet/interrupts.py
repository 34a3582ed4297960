"""Ctrl+C and SIGTERM end the command line the same way: clean up, one line, exit 130 or 143.

SIGTERM is what ``timeout``, systemd and job schedulers send. :func:`install` makes it raise :class:`Terminated`, a
:class:`KeyboardInterrupt`, so every ``finally`` and ``except KeyboardInterrupt`` that cleans up after Ctrl+C
(temporary outputs, the spool) runs for it too. After the first signal, further ones are ignored so that the clean-up
itself is not cut short. This module imports nothing heavy: it is set up before anything else.

The exception can be lost on its way: raised while a C extension calls back into Python (PyAV's demuxer does), it is
dropped there, and the command would run on to its end. So a command's :class:`Cancel` event reads as set once a
signal has arrived, and the loops that check it stop at their next step; a command without a loop calls
:func:`stop_if_cancelled` after each such call.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

__all__ = ["Cancel", "Terminated", "exit_status", "forget", "install", "received", "stop_if_cancelled", "what_stopped"]

_received: KeyboardInterrupt | None = None  # the interruption a signal raised, once one has


class Terminated(KeyboardInterrupt):
    """The process was asked to stop with SIGTERM."""


def exit_status(exc: KeyboardInterrupt) -> int:
    """The shell's exit status for an interruption: 128 plus the signal number (130 for Ctrl+C, 143 for SIGTERM)."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def what_stopped(exc: KeyboardInterrupt) -> str:
    """The start of the one line that reports an interruption: "Cancelled" (Ctrl+C) or "Stopped by SIGTERM"."""
    return "Stopped by SIGTERM" if isinstance(exc, Terminated) else "Cancelled"


class Cancel(threading.Event):
    """A command's cancel event, set too once SIGINT or SIGTERM has arrived (the handler itself sets nothing: it may
    run while the main thread holds the event's lock). Only :meth:`is_set` sees the signal; :meth:`wait` does not."""

    def is_set(self) -> bool:
        return _received is not None or super().is_set()


def stop_if_cancelled(cancel: threading.Event) -> None:
    """Raises :class:`KeyboardInterrupt` when ``cancel`` is set: called after a library call that may have dropped
    the exception of a signal (PyAV opening or reading a video), so that the command stops there all the same."""
    if cancel.is_set():
        raise KeyboardInterrupt


def received() -> KeyboardInterrupt | None:
    """The interruption a signal raised in this process, or None. Code that runs Python callbacks from C++ (torch's
    zip writer behind ``torch.save``) may turn the exception into an error of its own: this says what it was."""
    return _received


def forget() -> None:
    """Starts a new command with no interruption received (a process may run several, as the tests do)."""
    global _received
    _received = None


def _stop(signum: int, _frame: FrameType | None) -> None:
    global _received
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _received = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    raise _received


def install() -> None:
    """Makes SIGINT raise :class:`KeyboardInterrupt` and SIGTERM :class:`Terminated` (main thread only)."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
