"""The command line: arguments, start-up without torch, and --screenshot from a real run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from PIL import Image

from app.controller import Controller
from app.main import parse_args
from app.model.paths import APP_NAME, AppPaths
from app.settings import AppSettings
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments

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
    qtbot,
    tmp_path: Path,
    app_settings: AppSettings,
    random_weights: Path,
    realshort: Path,
    colour_frames: dict[int, Path],
) -> None:
    """Colorize a frame and save the project here, then screenshot it with ``python -m app --screenshot``."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    # fp32 in the project: the screenshot process reads the cache under the same keys whatever bf16 its CPU has
    app_settings.set_engine_settings(replace(app_settings.engine_settings(), precision="fp32"))
    paths = AppPaths.under(tmp_path / "studio")
    paths = replace(paths, cache=tmp_path / "cache" / APP_NAME / "frames")  # where the subprocess looks
    controller = Controller(app_settings, paths, weights=random_weights)
    try:
        open_video(qtbot, controller, realshort)
        assert add_exemplar(qtbot, controller, colour_frames[0], 0)
        wait_for_segments(qtbot, controller, 1)
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
            controller.runs.colorize_range(0, 2)
        controller.set_current_frame(1)
        assert controller.files.save_project(tmp_path / "p.cmnproj")
    finally:
        controller.shutdown()
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
        pixels = image.convert("RGB")
    width, height = pixels.size
    assert width >= 800 and height >= 500
    # The colorized pane (right of the middle) holds colour; the placeholder would be neutral gray.
    coloured = sum(
        1
        for x in range(width // 2, width * 3 // 4, 8)
        for y in range(height // 4, height * 3 // 4, 8)
        if max(pixels.getpixel((x, y))) - min(pixels.getpixel((x, y))) > 12
    )
    assert coloured > 50
    red, green, blue = pixels.getpixel((5, height - 5))  # the status bar: neutral gray
    assert red == green == blue
