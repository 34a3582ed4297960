"""The export dialog's "Render on cluster…": a local Ray instance renders the export, same frames and output."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.controller import Controller
from app.model.engine_settings import EngineSettings
from app.settings import AppSettings
from app.widgets.export_dialog import ExportDialog
from app.widgets.main_window import MainWindow
from colormnet.video.frame_folder import MANIFEST
from tests.app.conftest import (  # noqa: F401 (fixtures)
    RUN_TIMEOUT_MS,
    add_exemplar,
    answers,
    app_paths,
    colour_frames,
    controller,
    no_qt_warnings,
    no_thread_left_running,
    open_video,
    wait_for_segments,
)
from tests.test_cluster import ray_address  # noqa: F401 (the session's two-CPU Ray instance)

pytest.importorskip("ray")


@pytest.fixture
def app_settings(tmp_path: Path) -> AppSettings:
    """The propagate engine at a tiny processing size."""
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_engine_settings(replace(EngineSettings(), engine="propagate", device="cpu", process_size=32))
    return settings


def _export(qtbot, dialog: ExportDialog, output: Path) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    progress: list[tuple[int, int]] = []
    dialog._controller.runs.sig_export_progress.connect(lambda done, total: progress.append((done, total)))
    dialog.path.setText(str(output))
    dialog.codec.setCurrentIndex(dialog.codec.findData("png"))
    dialog.path.setText(str(output))
    with qtbot.waitSignal(dialog._controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS) as finished:
        assert dialog.start_export()
    assert finished.args == [True, str(output)]
    assert "Exported to" in dialog.status.text()
    return progress


def test_render_on_cluster_matches_the_local_export(qtbot, ray_address: str,  # noqa: F811
                                                    controller: Controller,  # noqa: F811
                                                    colour_frames: dict[int, Path], realshort: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[4], 4)
    wait_for_segments(qtbot, controller, 2)
    controller.set_current_frame(0)
    controller.edits.set_in_point()
    controller.set_current_frame(6)
    controller.edits.set_out_point()

    dialog = ExportDialog(controller, window)
    qtbot.addWidget(dialog)
    assert not dialog.cluster.isChecked() and not dialog.cluster_address.isEnabled()
    dialog.cluster.setChecked(True)
    assert dialog.cluster_address.isEnabled() and dialog.cluster_address.text() == "local"
    dialog.cluster_workers.setValue(2)
    job = dialog.job(overwrite=False)
    assert (job.cluster, job.workers, job.start, job.stop) == ("local", 2, 0, 7)
    on_cluster = tmp_path / "cluster"
    progress = _export(qtbot, dialog, on_cluster)
    assert progress and progress[-1][0] == progress[-1][1] and progress[-1][1] >= 7
    assert not controller.colorized[:7].any()  # rendered on the cluster, not through the app's frame cache

    dialog.cluster.setChecked(False)
    local = tmp_path / "local"
    _export(qtbot, dialog, local)
    names = sorted(p.name for p in local.glob("*.png"))
    assert len(names) == 7 and names == sorted(p.name for p in on_cluster.glob("*.png"))
    for name in names:
        assert (local / name).read_bytes() == (on_cluster / name).read_bytes(), name
    # each folder of frames holds its export's record and the list of its frames, and nothing else
    for folder in (local, on_cluster):
        assert sorted(p.name for p in folder.iterdir() if p.suffix != ".png") == [
            MANIFEST, f"{folder.name}.colormnet.json"]
    records = {folder.name: json.loads((folder / f"{folder.name}.colormnet.json").read_text())["engine"]
               for folder in (local, on_cluster)}
    assert records["local"]["rendered_on"] == "this machine" and records["local"]["device"] == "cpu"
    assert records["cluster"]["rendered_on"] == "the Ray cluster at local"  # not the app's machine
    assert not list(tmp_path.glob(".cluster*")) and not list(tmp_path.glob("colormnet-run-*"))


def test_a_cluster_export_takes_the_shots_and_the_links_chosen_by_hand(monkeypatch, tmp_path: Path) -> None:
    """The chunked run gets the session's shot list and its hand-made links, as a local export would use them."""
    import threading
    from types import SimpleNamespace

    from app.cluster_export import export_on_cluster
    from app.jobs import ExportJob
    from colormnet.cluster import driver

    seen: list[driver.ChunkedRun] = []
    monkeypatch.setattr(driver, "run_chunked", lambda run, **_: seen.append(run))
    session = SimpleNamespace(video_path=tmp_path / "film.mp4", exemplars=[], config=None, weights=None,
                              shots=[(0, 8), (8, 20)], shot_links={8: 2})
    job = ExportJob(path=tmp_path / "out.mp4", codec="h264", start=0, stop=20, audio=False, overwrite=False,
                    cluster="local")
    export_on_cluster(session, job, threading.Event(), lambda done, total: None)  # type: ignore[arg-type]
    assert len(seen) == 1 and seen[0].shots == [(0, 8), (8, 20)] and seen[0].links == {8: 2}


def test_a_cluster_export_hands_the_workers_the_projects_own_device(monkeypatch, tmp_path: Path) -> None:
    """A project set to CUDA previews on this machine's CPU where it has no CUDA device; the workers, on their own
    machines, get CUDA as the project asks."""
    import threading
    from types import SimpleNamespace

    from app.cluster_export import export_on_cluster
    from app.jobs import ExportJob
    from colormnet.cluster import driver
    from colormnet.session import SessionConfig

    seen: list[driver.ChunkedRun] = []
    monkeypatch.setattr(driver, "run_chunked", lambda run, **_: seen.append(run))
    session = SimpleNamespace(video_path=tmp_path / "film.mp4", exemplars=[], config=SessionConfig(device="cpu"),
                              weights=None, shots=[(0, 20)], shot_links={})
    job = ExportJob(path=tmp_path / "out.mp4", codec="h264", start=0, stop=20, audio=False, overwrite=False,
                    cluster="local")
    for device, expected in (("cuda", "cuda"), (None, "cpu")):
        export_on_cluster(session, job, threading.Event(), lambda done, total: None,  # type: ignore[arg-type]
                          device=device)
        assert seen[-1].config.device == expected and session.config.device == "cpu"
