"""Cyclic garbage made on a worker thread is freed on the GUI thread, where the app's Qt objects live."""

from __future__ import annotations

import gc
import threading

from app.gui_thread_gc import GuiThreadCollector

FREED_ON: list[str] = []  # the threads the cycles below were freed on


class _Cycle:

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        FREED_ON.append(threading.current_thread().name)


def test_garbage_from_a_worker_thread_is_freed_on_the_gui_thread(qtbot) -> None:
    FREED_ON.clear()
    thresholds = gc.get_threshold()
    gc.set_threshold(50, 2, 2)
    collector = GuiThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()

        def make_garbage() -> None:
            for _ in range(2000):  # far past the threshold: the automatic collector would run on this thread
                _Cycle()

        worker = threading.Thread(target=make_garbage, name="worker")
        worker.start()
        worker.join()
        assert FREED_ON == []
        qtbot.waitUntil(lambda: len(FREED_ON) == 2000, timeout=5000)
        assert set(FREED_ON) == {threading.main_thread().name}
    finally:
        collector.stop()
        gc.set_threshold(*thresholds)
    assert not gc.isenabled()  # the suite's collector for tests that use Qt (tests/conftest.py) holds it off


def test_stop_gives_collecting_back_as_it_was(qtbot) -> None:
    gc.enable()
    try:
        collector = GuiThreadCollector()
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.disable()  # as the suite's collector keeps it


def test_stop_frees_what_is_left_on_its_own_thread(qtbot) -> None:
    FREED_ON.clear()
    collector = GuiThreadCollector(interval_ms=60_000)  # its timer never comes round in this test
    try:
        worker = threading.Thread(target=lambda: [_Cycle() for _ in range(100)], name="worker")
        worker.start()
        worker.join()
        assert FREED_ON == []
    finally:
        collector.stop()
    # freed by stop(), here, before collecting is given back
    assert set(FREED_ON) == {threading.main_thread().name} and len(FREED_ON) == 100
