"""Project-wide contracts: the library never imports Qt or the app, and the code passes the linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed (pip install -e '.[dev]')"
    return found


def test_library_never_imports_qt_or_the_app() -> None:
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_library_loads_no_qt() -> None:
    code = "import sys, colormnet.session, colormnet.cli; print(any(m.startswith('PySide6') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_importing_the_app_model_loads_no_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, app.model\n"
        "for m in pkgutil.iter_modules(app.model.__path__): importlib.import_module('app.model.' + m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qtawesome', 'shiboken6')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "colormnet", "app", "tests", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)  # packages: pyproject.toml
    assert result.returncode == 0, result.stdout
