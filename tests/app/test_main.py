"""The command line: arguments, start-up without torch, and --screenshot from a real run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from app.main import parse_args

ROOT = Path(__file__).parents[2]


def test_parse_args() -> None:
    args = parse_args(["film.mp4", "--weights", "w.pth", "--screenshot", "shot.png"])
    assert (args.path, args.weights, args.screenshot) == (Path("film.mp4"), Path("w.pth"), Path("shot.png"))
    assert parse_args([]).path is None


def test_the_window_modules_do_not_import_torch() -> None:
    code = (
        "import sys; import app.main, app.widgets.export_dialog, app.widgets.settings_dialog, "
        "app.widgets.weights_dialog, app.widgets.help_dialogs; "
        "assert 'torch' not in sys.modules, 'torch imported on the start-up path'"
    )
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    )


def test_screenshot_of_a_project_with_a_colorized_frame(
    tmp_path: Path, random_weights: Path, realshort: Path, colour_frames: dict[int, Path]
) -> None:
    """Colorize one frame from the command line's own entry point, then screenshot the saved project."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    make_project = f"""
import sys
from pathlib import Path
from dataclasses import replace
from PySide6.QtWidgets import QApplication
from app.controller import Controller
from app.paths import AppPaths
from app.project import EngineSettings
from app.settings import AppSettings
app = QApplication([])
settings = AppSettings()
settings.set_engine_settings(replace(EngineSettings(), device="cpu", process_size=56))
c = Controller(settings, AppPaths.default(), weights=Path({str(random_weights)!r}))
c.sig_error.connect(lambda m: (print(m), app.exit(2)))
c.sig_segments_changed.connect(lambda: c.segments and c.segments[0].key and not c.busy and c.colorize_range(0, 2))
project = {str(tmp_path / "p.cmnproj")!r}
c.sig_run_finished.connect(lambda kind, cancelled: (c.set_current_frame(1), c.save_project(project), app.exit(0)))
c.sig_video_opened.connect(lambda info: c.add_exemplar_file(Path({str(colour_frames[0])!r}), frame=0))
c.open_video(Path({str(realshort)!r}))
code = app.exec()
c.shutdown()
sys.exit(code)
"""
    subprocess.run([sys.executable, "-c", make_project], cwd=ROOT, env=env, check=True, timeout=300)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            str(tmp_path / "p.cmnproj"),
            "--weights",
            str(random_weights),
            "--screenshot",
            str(shot),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    with Image.open(shot) as image:
        assert image.size[0] >= 800 and image.size[1] >= 500
        pixels = image.convert("RGB")
        # Somewhere in the right half (the colorized pane) there is colour; the chrome around it is neutral gray.
        width, height = pixels.size
        coloured = sum(
            1
            for x in range(width // 2, width * 3 // 4, 8)
            for y in range(height // 4, height * 3 // 4, 8)
            if max(pixels.getpixel((x, y))) - min(pixels.getpixel((x, y))) > 12
        )
        assert coloured > 50
        assert pixels.getpixel((5, height - 5))[0] == pixels.getpixel((5, height - 5))[2]
