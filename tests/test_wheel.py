"""The wheel works on its own: built from the sources, installed (not editable) and run with the source tree off the
path, it carries everything the programs read at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import colormnet

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "colormnet", "app")
RUNTIME_FILES = (  # what the programs open by path or through importlib.resources
    "colormnet/data/state_dict_keys.tsv",
    "colormnet/data/deepexemplar_state_dict_keys.tsv",
    "colormnet/data/demo/realshort.mp4",
    "colormnet/data/demo/LICENSE.realshort.txt",
    "app/resources/colormnet-studio.svg",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources and installed into a folder of its own (``pip --target``)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy, so the build leaves nothing (build/, *.egg-info) in the checkout
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", base / "dist", source], check=True)
    (wheel,) = (base / "dist").glob("colormnet_studio-*.whl")
    assert wheel.name.startswith(f"colormnet_studio-{colormnet.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    missing = [f for f in RUNTIME_FILES if f not in names]
    assert not missing, f"the wheel lacks {missing}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel lacks the project's licence"
    assert not any(n.startswith(("tests/", "benchmarks/", "packaging/")) for n in names)
    target = base / "target"
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    return target


def run_installed(target: Path, script: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a console script of the installed wheel with only the install and the dependencies on the path."""
    home = cwd / "home"  # no checkpoint, settings or caches of the person running the tests
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]),
    }
    return subprocess.run(
        [sys.executable, str(target / "bin" / script), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_install_runs_from_outside_the_source_tree(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import colormnet, app; print(colormnet.__file__); print(app.__file__)"],
        cwd=tmp_path, env={"PYTHONPATH": str(installed)}, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed) for p in where), where

    for script in ("colormnet", "colormnet-studio"):
        result = run_installed(installed, script, "--version", cwd=tmp_path)
        assert (result.returncode, result.stdout.strip()) == (0, f"{script} {colormnet.__version__}"), result.stderr


def test_colormnet_demo_from_the_install(installed: Path, tmp_path: Path) -> None:
    result = run_installed(installed, "colormnet", "demo", "demo.mp4", "--engine", "propagate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = run_installed(installed, "colormnet", "info", "demo.mp4", "--json", cwd=tmp_path)
    assert json.loads(info.stdout)["frame_count"] == 36


def test_studio_demo_screenshot_from_the_install(installed: Path, tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    result = run_installed(installed, "colormnet-studio", "--demo", "--screenshot", shot, cwd=tmp_path)
    assert result.returncode == 0 and shot.is_file(), result.stderr
    image = Image.open(shot).convert("RGB")
    small = np.asarray(image.resize((image.width // 4, image.height // 4))).reshape(-1, 3)
    assert len(np.unique(small, axis=0)) > 200, "the window shows no video frame"
