"""Further reference images for an exemplar (deepexemplar engine): kept in the .cmnproj, shown in the panel,
offered only with that engine, and handed to the session."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from app.controller import Controller
from app.model.engine_settings import EngineSettings, transitions_for
from app.model.project import Project, files_dir_for
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


def test_the_memory_transition_is_offered_where_the_library_says_the_engine_holds_several_exemplars() -> None:
    from colormnet.engines import ENGINES, holds_several_exemplars

    for engine in ENGINES:
        assert ("memory" in transitions_for(engine)) == holds_several_exemplars(engine)
        stored = EngineSettings.from_dict({"engine": engine, "transition": "memory"})
        assert stored.transition == ("memory" if holds_several_exemplars(engine) else "blend")


def test_references_are_saved_copied_and_read_back(
    tmp_path: Path, colour_frames: dict[int, Path], realshort: Path
) -> None:
    project = Project.scratch(tmp_path / "scratch")
    project.video, project.frame_count = realshort.resolve(), 36
    project.add_exemplar(0, colour_frames[0])
    entry = project.add_reference(0, colour_frames[30])
    project.add_reference(0, colour_frames[4])
    assert all(path.parent == project.exemplars_dir for path in entry.references)  # copies, not the originals
    target = tmp_path / "film.cmnproj"
    project.save(target)
    references = project.exemplar_at(0).references  # type: ignore[union-attr]
    assert all(path.parent == files_dir_for(target) / "exemplars" and path.is_file() for path in references)
    data = json.loads(target.read_text())
    assert [Path(p).parent.name for p in data["exemplars"][0]["references"]] == ["exemplars", "exemplars"]
    assert Project.load(target).exemplar_at(0).references == references  # type: ignore[union-attr]
    # A project written before references existed opens with none.
    del data["exemplars"][0]["references"]
    target.write_text(json.dumps(data))
    assert Project.load(target).exemplar_at(0).references == []  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def de_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from colormnet.engines.deepexemplar import save_random_weights

    return save_random_weights(tmp_path_factory.mktemp("deepexemplar") / "weights", seed=0)


@pytest.fixture
def small_deepexemplar(de_weights: Path, small_deepexemplar_canvas: list[object],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The deepexemplar engine finds the random weights and runs on a small canvas."""
    monkeypatch.setenv("COLORMNET_DEEPEXEMPLAR_WEIGHTS", str(de_weights))


@pytest.mark.usefixtures("small_deepexemplar")
def test_add_reference_image_with_the_deepexemplar_engine(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path], monkeypatch
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    assert add_exemplar(qtbot, controller, colour_frames[0], 0, kind="reference")
    action = window.actions_by_name["add_reference"]
    window.exemplars.select_frame(0)
    assert not action.isEnabled()  # the colormnet engine takes one image per exemplar
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as done:
        controller.edits.add_reference_file(0, colour_frames[30])
    assert done.args == [False] and "Only the deepexemplar engine" in window.last_message.text()  # type: ignore[union-attr]

    with qtbot.waitSignal(
        controller.engine.sig_model_state, check_params_cb=lambda s: s == "ready", timeout=RUN_TIMEOUT_MS
    ):
        controller.edits.set_engine_settings(replace(controller.project.settings, engine="deepexemplar"))
    wait_for_segments(qtbot, controller, 1)
    plain_key = controller.segments[0].key
    assert action.isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(colour_frames[30]), ""))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as done:
        action.trigger()
    assert done.args == [True]
    assert len(controller.project.exemplar_at(0).references) == 1  # type: ignore[union-attr]
    assert "+1 reference" in window.exemplars.list.item(0).text()
    # The session got the reference: the segment's cache key now includes it.
    qtbot.waitUntil(lambda: controller.segments and controller.segments[0].key not in ("", plain_key),
                    timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_range(0, 2)
    assert finished.args == ["colorize", False] and controller.colorized[:2].all()
