"""Project-wide contracts: the library never imports Qt or the app, and the code passes the linter."""

from __future__ import annotations

import ast
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


def _loaded_by(imports: str, watched: tuple[str, ...]) -> list[str]:
    """The top-level packages among ``watched`` that a fresh interpreter has loaded after running ``imports``."""
    code = f"import sys\n{imports}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({watched!r})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return list(ast.literal_eval(result.stdout))


def test_importing_the_library_loads_no_qt() -> None:
    code = "import sys, colormnet.session, colormnet.cli; print(any(m.startswith('PySide6') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_importing_the_app_model_loads_no_qt() -> None:
    imports = ("import pkgutil, importlib, app.model\n"
               "for m in pkgutil.iter_modules(app.model.__path__): importlib.import_module('app.model.' + m.name)")
    assert _loaded_by(imports, ("PySide6", "qtawesome", "shiboken6")) == []


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "colormnet", "app", "tests", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)  # packages: pyproject.toml
    assert result.returncode == 0, result.stdout


def test_the_engine_registry_imports_no_torch() -> None:
    """The command line's parser, the demo and the app's settings read the registry; none of them may pay for torch."""
    imports = ("import colormnet, colormnet.engines, colormnet.engines.registry\n"
               "assert colormnet.engines.available_engines()")
    assert _loaded_by(imports, ("torch", "torchvision", "cv2")) == []


def test_every_module_does_one_job_in_under_400_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for folder in ("colormnet", "app") for path in (ROOT / folder).rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"
