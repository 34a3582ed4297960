"""Shared fixtures: the full-size network with the golden random weights, a random checkpoint file, real clips."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# per-user caches (shot lists, ...) of this test run only: the user's own stay untouched
_CACHE_HOME = tempfile.mkdtemp(prefix="colormnet-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME

DATA = Path(__file__).parent / "data"
CLIPS = DATA / "clips"
GOLDEN = DATA / "golden"


def pytest_configure(config: pytest.Config) -> None:
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


_gui_collector: list[object] = []  # the GUI-thread collector while tests that use Qt run


@pytest.fixture(autouse=True)
def qt_garbage_freed_on_the_gui_thread(request: pytest.FixtureRequest) -> None:
    """As in the app, cyclic garbage is collected on the GUI thread only while tests that use Qt run (see
    app.gui_thread_gc); the first test without Qt after them collects what they left, on this thread, and gives
    collecting back to the interpreter, so no other thread ever frees one of their Qt objects."""
    if "qapp" in request.fixturenames:
        if not _gui_collector:
            request.getfixturevalue("qapp")
            from app.gui_thread_gc import GuiThreadCollector

            _gui_collector.append(GuiThreadCollector())
    elif _gui_collector:
        _gui_collector.pop().stop()  # type: ignore[attr-defined]


_exit_status: list[int] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)
    # After the GUI tests, PySide objects that outlive the test session are destroyed during the interpreter's
    # finalization, when Python's thread state is already gone, and the process aborts ("PyThreadState_Get ... the
    # GIL is released") although every test passed. The report is written by now: end the process with its status.
    if _exit_status and "PySide6.QtCore" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def golden_state_dict() -> dict[str, torch.Tensor]:
    """The deterministic random weights the golden outputs were computed with (seed 0 of the manifest rule)."""
    from colormnet.engines.colormnet.weights import random_state_dict

    return random_state_dict(seed=0)


@pytest.fixture(scope="session")
def golden_network(golden_state_dict: dict[str, torch.Tensor]):
    """The full-size network with the golden weights, built once per test run."""
    from colormnet.engines.colormnet.model.network import ColorMNet

    network = ColorMNet().eval()
    network.load_state_dict(golden_state_dict, strict=True)
    for p in network.parameters():
        p.requires_grad_(False)
    return network


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random checkpoint file of the real architecture (seed 0), written once per test run."""
    from colormnet.engines.colormnet.weights import save_random_weights

    return save_random_weights(tmp_path_factory.mktemp("weights") / "random.pth", seed=0)


@pytest.fixture
def emulated_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPU bf16 runs as asked whatever this CPU has: without native bf16 the engine runs fp32 instead, but the
    numerics of the bf16 path are the same emulated, and on the tests' tiny frames only slower."""
    from colormnet.engines import precision

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: True)


def literal_path(module: torch.nn.Module) -> None:
    """Switches ``module`` and everything in it to the literal path (what ``ColorMNet.fast = False`` does)."""
    for m in module.modules():
        if hasattr(m, "fast"):
            m.fast = False


SMALL_DEEPEXEMPLAR_CANVAS = (96, 160)  # networks at 48 x 80: the smallest shape family the official nets accept


@pytest.fixture
def small_deepexemplar_canvas(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Deep Exemplar backends loaded during the test (by a session, the CLI or the app) run on a small canvas, their
    other options kept; yields the options each load got, and fails the test if nothing was loaded through it."""
    from dataclasses import replace

    from colormnet.engines.deepexemplar import backend
    from colormnet.engines.deepexemplar.engine import DeepExemplarOptions

    original = backend.load_backend
    loaded: list[object] = []

    def load(weights: object = None, *, options: DeepExemplarOptions | None = None, **kwargs: object) -> object:
        options = replace(options or DeepExemplarOptions(), canvas=SMALL_DEEPEXEMPLAR_CANVAS)
        loaded.append(options)
        return original(weights, options=options, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backend, "load_backend", load)  # where the engine registry looks it up, at each load
    yield loaded
    assert loaded, "no Deep Exemplar backend was loaded, so the small canvas was never used"


@pytest.fixture(scope="session")
def realshort() -> Path:
    """320x240, 36 frames, with audio (BSD-2-Clause, see tests/data/README.md)."""
    return CLIPS / "realshort.mp4"
