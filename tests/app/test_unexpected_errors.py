"""An exception no code caught reaches the log with its traceback and, on the GUI thread, the user: once per place
it is raised, and never over a message box already open."""

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


def _raised_elsewhere(error: BaseException) -> tuple[type[BaseException], BaseException, object]:
    try:
        raise error
    except BaseException as caught:  # handed on as Python hands it to the hook
        return type(caught), caught, caught.__traceback__


def test_an_error_in_an_action_is_logged_and_told_once(qtbot, window: MainWindow, caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    errors = UnexpectedErrors(window)
    errors.install()
    assert sys.excepthook == errors.on_exception
    caplog.set_level(logging.CRITICAL, logger="app.unexpected_errors")
    errors.on_exception(*_raised(ImportError("cannot import name 'x'")))  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.last_message is not None)  # told from the event loop, not the failing call
    box = window.last_message
    assert box is not None and box.text() == (
        "An unexpected error stopped that action (ImportError: cannot import name 'x'); the details are in the log "
        "file (Help ▸ Show Log File).")
    record = caplog.records[-1]
    assert record.exc_info is not None and record.exc_info[1].args == ("cannot import name 'x'",)
    box.close()
    for frame in range(5):  # as from a paint event on every repaint, its text changing
        errors.on_exception(*_raised(IndexError(f"index {frame} is out of bounds")))  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.last_message is not box)
    repeated = window.last_message
    assert repeated is not None and "index 0 is out of bounds" in repeated.text()
    qtbot.wait(50)
    assert window.last_message is repeated and len(caplog.records) == 6  # each logged, one told
    errors.on_exception(*_raised_elsewhere(ValueError("elsewhere")))  # type: ignore[arg-type]
    qtbot.wait(50)
    assert window.last_message is repeated  # a box is open: the error is logged, the box stays as it is

    def fail() -> None:
        raise RuntimeError("on a worker")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    assert caplog.records[-1].exc_info[1].args == ("on a worker",)  # type: ignore[index]
    qtbot.wait(50)
    assert window.last_message is repeated  # the user is told only of errors on the GUI thread
