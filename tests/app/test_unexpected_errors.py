"""An exception no code caught reaches the log with its traceback and, on the GUI thread, the user."""

from __future__ import annotations

import logging
import sys
import threading

import pytest

from app.unexpected_errors import UnexpectedErrors
from app.widgets.main_window import MainWindow


def _raised(error: BaseException) -> tuple[type[BaseException], BaseException, object]:
    try:
        raise error
    except BaseException as caught:  # handed on as Python hands it to the hook
        return type(caught), caught, caught.__traceback__


def test_an_error_in_an_action_is_logged_and_told_once(window: MainWindow, caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    errors = UnexpectedErrors(window)
    errors.install()
    assert sys.excepthook == errors.on_exception
    caplog.set_level(logging.CRITICAL, logger="app.unexpected_errors")
    errors.on_exception(*_raised(ImportError("cannot import name 'x'")))  # type: ignore[arg-type]
    box = window.last_message
    assert box is not None and box.text() == (
        "An unexpected error stopped that action (ImportError: cannot import name 'x'); the details are in the log "
        "file (Help ▸ Show Log File).")
    record = caplog.records[-1]
    assert record.exc_info is not None and record.exc_info[1].args == ("cannot import name 'x'",)
    errors.on_exception(*_raised(ImportError("cannot import name 'x'")))  # type: ignore[arg-type]
    assert window.last_message is box and len(caplog.records) == 2  # logged again, not told again

    def fail() -> None:
        raise RuntimeError("on a worker")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    assert caplog.records[-1].exc_info[1].args == ("on a worker",)  # type: ignore[index]
    assert window.last_message is box  # the user is told only of errors on the GUI thread
