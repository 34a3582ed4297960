"""The longest GUI-thread stall while the app colorizes: a timer probe in the real window.

The main window runs offscreen on the bundled clip with its frame 0 pinned as a keyframe and a random ColorMNet
checkpoint; "Colorize all" streams every frame into the viewer while a 5 ms timer on the GUI thread records the wall
time between its ticks. A tick that comes late means the GUI thread was busy (or starved) for that long: the longest
gap minus the interval is the longest stall a user could feel. The colorizing itself runs on the session worker's
thread, as in the app.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.gui_stall [--process-size 112] [--engine colormnet]

``python -m benchmarks`` calls :func:`run` for its ``gui`` part.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.measure import load_average

INTERVAL_MS = 5


def _wait(condition, timeout_s: float, what: str) -> None:
    """Runs the Qt event loop until ``condition()`` holds (checked every 20 ms) or the timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    deadline = time.monotonic() + timeout_s
    poll.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    if not condition():
        poll.start()
        loop.exec()
        poll.stop()
    if not condition():
        raise TimeoutError(f"the app did not get there in time: {what}")


def measure(process_size: int, engine: str, workdir: Path) -> dict:
    """Runs one "Colorize all" in the window and returns the probe's figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.controller import Controller
    from app.model.engine_settings import EngineSettings
    from app.model.paths import AppPaths
    from app.settings import AppSettings
    from app.widgets.main_window import MainWindow
    from colormnet.demo import demo_video_path
    from colormnet.engines.colormnet.weights import save_random_weights
    from colormnet.video import VideoReader

    app = QApplication.instance() or QApplication(sys.argv[:1])
    weights = workdir / "random.pth"
    save_random_weights(weights, seed=0)
    video = demo_video_path()
    with VideoReader(video) as reader:
        still = workdir / "frame0.png"
        Image.fromarray(reader.read(0)).save(still)
        frames = reader.info.frame_count

    settings = AppSettings(QSettings(str(workdir / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_engine_settings(replace(EngineSettings(), engine=engine, device="cpu", process_size=process_size))
    controller = Controller(settings, AppPaths.under(workdir / "studio"), weights=weights)
    window = MainWindow(controller)
    window.resize(1280, 800)
    window.show()
    controller.files.open_video(video)
    _wait(lambda: controller.engine.model_state == "ready" and controller.video_info is not None, 600, "the model")
    edited: list[bool] = []
    controller.edits.sig_edit_finished.connect(edited.append)
    controller.edits.add_exemplar_file(still, frame=0, kind="keyframe")
    _wait(lambda: bool(edited), 120, "the exemplar")
    _wait(lambda: bool(controller.segments) and all(s.key for s in controller.segments), 120, "segments")

    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(INTERVAL_MS)

    def tick() -> None:
        gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    probe.timeout.connect(tick)
    finished: list[bool] = []
    controller.runs.sig_run_finished.connect(lambda kind, cancelled: finished.append(not cancelled))
    began = time.perf_counter()
    clock.start()
    probe.start()
    action = window.actions_by_name["colorize_all"]
    action.trigger()
    _wait(lambda: bool(finished), 3600, "the run")
    probe.stop()
    seconds = time.perf_counter() - began
    done = int(controller.colorized.sum())
    controller.project.dirty = False  # the throwaway project: closing must not stop at "Save the changes?"
    window.close()
    controller.shutdown()
    app.processEvents()
    ticks = gaps[1:]  # the first gap spans the trigger itself
    worst = max(ticks, default=0.0)
    return {
        "longest_stall_ms": max(0.0, worst - INTERVAL_MS),
        "longest_gap_ms": worst,
        "p99_gap_ms": sorted(ticks)[int(0.99 * (len(ticks) - 1))] if ticks else 0.0,
        "ticks": len(ticks),
        "frames": done,
        "of_frames": frames,
        "seconds": seconds,
        "interval_ms": INTERVAL_MS,
        "engine": engine,
        "process_size": process_size,
        "load": "/".join(str(x) for x in load_average()),
    }


def run(quick: bool) -> dict:
    """The ``gui`` part of ``python -m benchmarks``: both engines, each in its own window and temporary folder."""
    rows = []
    for engine in ("colormnet", "propagate"):
        with tempfile.TemporaryDirectory(prefix="gui-stall-") as folder:
            rows.append(measure(112 if quick else 224, engine, Path(folder)))
    worst = max(rows, key=lambda row: row["longest_stall_ms"])
    return {
        "rows": rows,
        "longest_stall_ms": worst["longest_stall_ms"],
        "ticks": sum(r["ticks"] for r in rows),
        "load": worst["load"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--process-size", type=int, default=224)
    parser.add_argument("--engine", default="colormnet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gui-stall-") as folder:
        result = measure(args.process_size, args.engine, Path(folder))
    print(json.dumps(result, indent=1))
    print(
        f"longest GUI-thread stall: {result['longest_stall_ms']:.1f} ms over {result['ticks']} ticks "
        f"({result['frames']}/{result['of_frames']} frames, {result['seconds']:.0f} s, {result['engine']} at "
        f"{result['process_size']})"
    )


if __name__ == "__main__":
    main()
