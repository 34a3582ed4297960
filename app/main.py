"""``colormnet-studio [VIDEO | PROJECT | --demo] [--weights PATH] [--screenshot PNG]``: parse arguments, start.

The window appears before torch is imported: the engine and the model load on the session worker's thread (``--demo``
imports torch first, to read the bundled clip's colours).
"""

from __future__ import annotations

import argparse
import importlib.resources
import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.binding_check import binding_fault, write_crashes_to
from app.controller import Controller
from app.gui_thread_gc import GuiThreadCollector
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.stale_pruning import StalePruner
from app.theme import apply_dark_theme
from app.unexpected_errors import UnexpectedErrors
from app.widgets.main_window import MainWindow
from app.widgets.window_placement import DEFAULT_SIZE
from colormnet import __version__
from colormnet.engines.host_memory import keep_freed_memory

logger = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_MS = 180_000
STALE_DAYS = 30  # frame caches, unsaved scratch projects and thumbnail sets untouched this long go at start-up
APP_ICON = "colormnet-studio.svg"
_SETTLE_MS = 300  # lets the last paint land before the window is grabbed
CRASH_FILE = "crash.log"  # beside the log: tracebacks of fatal errors


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``colormnet-studio``."""
    parser = argparse.ArgumentParser(
        prog="colormnet-studio",
        description="Colorize black-and-white film from exemplar images with ColorMNet.",
    )
    parser.add_argument(
        "path", nargs="?", type=Path, help="a video file, an image-sequence folder or a .cmnproj project"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the bundled clip in black and white with its first frame's true colours pinned as a keyframe",
    )
    parser.add_argument("--weights", type=Path, metavar="PATH", help="the ColorMNet checkpoint to use")
    parser.add_argument("--version", action="version", version=f"colormnet-studio {__version__}")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="save a 1400x860 picture of the window once the frame is shown, then exit",
    )
    args = parser.parse_args(argv)
    if args.demo and args.path is not None:
        parser.error("--demo opens the bundled clip; leave out the video or project path")
    return args


def app_icon_path() -> Path:
    """The program's icon (``app/resources/colormnet-studio.svg``, package data in every kind of install)."""
    try:
        return Path(str(importlib.resources.files("app") / "resources" / APP_ICON))
    except (TypeError, NotADirectoryError):  # a namespace package behind an editable-install finder (Python 3.11)
        return Path(__file__).resolve().parent / "resources" / APP_ICON


def setup_logging(log_file: Path) -> None:
    """Log to a rotating file (shown by Help > Show Log File) and warnings to stderr."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(file_handler)
    root.addHandler(console)


class ScreenshotWhenReady(QObject):
    """Saves a picture of the window once the frame under the playhead is shown, colorized if it is cached.

    Args:
        window: The main window.
        path: The PNG to write.
        on_done: Called after the picture is saved (or failed).
    """

    def __init__(self, window: MainWindow, path: Path, on_done: Callable[[], object]) -> None:
        super().__init__(window)
        self._window = window
        self._path = path
        self._on_done = on_done
        self._model_settled = False
        self._segments_seen = False
        self._taken = False
        c = window.controller
        c.engine.sig_model_state.connect(self._on_engine_model_state)
        c.sig_segments_changed.connect(self._on_controller_segments_changed)
        c.sig_frame_shown.connect(lambda *args: self._check())
        c.sig_error.connect(lambda message: self._check())
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, self.take)
        if window.controller.frame_count == 0 and not window.controller.files.opening:
            QTimer.singleShot(_SETTLE_MS, self.take)  # nothing is opening: the empty window is the picture

    def _on_engine_model_state(self, state: str) -> None:
        self._model_settled = state in ("ready", "missing", "failed")
        self._segments_seen = state in ("missing", "failed")  # no keys can come: nothing is cached
        self._check()

    def _on_controller_segments_changed(self) -> None:
        if self._model_settled:
            self._segments_seen = True
        self._check()

    def _check(self) -> None:
        c, viewer = self._window.controller, self._window.viewer
        if c.frame_count == 0 and not c.files.opening:  # the video asked for failed to open: the window as it is
            QTimer.singleShot(_SETTLE_MS, self.take)
            return
        if not (self._model_settled and self._segments_seen) or c.frame_count == 0:
            return
        if viewer.frame_index != c.current_frame:
            return
        if c.colorized[c.current_frame] and not viewer.has_color:
            return
        QTimer.singleShot(_SETTLE_MS, self.take)

    def take(self) -> None:
        """Grab the window now and save it."""
        if self._taken:
            return
        self._taken = True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if self._window.grab().save(str(self._path)):
            logger.info("screenshot saved to %s", self._path)
        else:
            logger.error("cannot save the screenshot to %s", self._path)
        self._on_done()


def build_window(args: argparse.Namespace, paths: AppPaths, settings: AppSettings) -> MainWindow:
    """Create the controller and the window, and open the path of the command line."""
    controller = Controller(settings, paths, weights=args.weights)
    window = MainWindow(controller)
    if args.screenshot is not None:  # the pictures of the docs come out alike whatever the screen or the last run
        window.resize(DEFAULT_SIZE)
    if args.demo:
        from app.demo import open_demo
        from colormnet.errors import ColorMNetError

        try:
            open_demo(controller)
        except ColorMNetError as exc:
            window.show_error(str(exc))
    elif args.path is not None:
        window.commands.open_path(args.path)
    return window


def after_start(window: MainWindow, args: argparse.Namespace) -> None:
    """What follows once the window is up: the screenshot of ``--screenshot``, else the offer to restore the project
    a crash left, whatever the app was started with ("Open with" a film, ``--demo``): the film just opened has no
    edits to lose if the user restores."""
    if args.screenshot is not None:
        ScreenshotWhenReady(window, args.screenshot, window.close)
    else:
        QTimer.singleShot(0, window.commands.offer_restore)


def start_cleanup(window: MainWindow, paths: AppPaths) -> StalePruner:
    """The clean-up of the app's folders: stale ones once the window is on screen, and those of each project the
    user replaces without saving it."""
    pruner = StalePruner(paths, STALE_DAYS, window.controller.files.folders_in_use)
    window.controller.files.sig_left_behind.connect(pruner.discard)
    QTimer.singleShot(0, pruner.start)
    return pruner


def main(argv: Sequence[str] | None = None) -> int:
    """Run ColorMNet Studio; returns the exit status."""
    args = parse_args(argv)
    keep_freed_memory()  # before Qt starts threads: the engine's worker thread then shares the heap that keeps frames
    paths = AppPaths.default()
    setup_logging(paths.log_file)
    write_crashes_to(paths.log_file.with_name(CRASH_FILE))
    fault = binding_fault()
    if fault is not None:
        print(f"colormnet-studio: error: {fault}", file=sys.stderr)
        logger.error(fault)
        return 1
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    GuiThreadCollector(app)  # cyclic garbage is freed on this thread only: Qt objects die where they live
    app.setApplicationName("ColorMNet Studio")
    app.setOrganizationName("ColorMNet")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(app_icon_path())))
    apply_dark_theme(app)
    window = build_window(args, paths, AppSettings())
    UnexpectedErrors(window).install()
    window.show()
    pruner = start_cleanup(window, paths)
    after_start(window, args)
    status = app.exec()
    pruner.stop()  # what is left of a large deletion goes at the next start rather than keep the program running
    pruner.wait()
    return status
