"""Bad videos opened in the window: each ends in a one-line message, never a traceback, and the app stays usable.

Every bad input is generated in the test's folder. A video that cannot be opened changes nothing: the project open
before (its video, exemplars, playhead, unsaved-changes mark and the frame on screen) stays exactly as it was and
goes on working, or the window stays empty; the bad file does not join Recent files. The same holds for a project
file whose video is missing or unreadable. A clip cut short but with its index at the front opens with the frames
that survive, without a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

import colormnet.video
from app.controller import Controller
from app.widgets.main_window import MainWindow
from colormnet.video import VideoReader
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, show_empty_main_window, wait_for_segments
from tests.test_reliability import make_bad_video

REALSHORT_FRAMES = 36
PLAYHEAD = 7  # where the open project's playhead is when the bad file is asked for

# kind -> what the message must name (make_bad_video's names; the mixed folder's message names the odd image)
UNOPENABLE = {
    "zero-byte": "empty.mp4",
    "text": "notes.mp4",
    "audio-only": "sound.wav",
    "no-images": "notes",
    "mixed-sizes": "f0002.png",
    "truncated": "truncated.mp4",
}


@pytest.fixture(scope="module")
def frames(realshort: Path) -> list[np.ndarray]:
    with VideoReader(realshort) as reader:
        return [reader.read(i) for i in range(2)]


@pytest.fixture
def window(qtbot, controller: Controller) -> MainWindow:
    return show_empty_main_window(qtbot, controller)


def make_unopenable(kind: str, folder: Path, realshort: Path, frames: list[np.ndarray]) -> Path:
    """The bad input of ``kind`` inside ``folder``."""
    if kind == "truncated":  # the first half of the clip: its index (moov) is at the end, so it is lost
        data = realshort.read_bytes()
        (path := folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
        return path
    return make_bad_video(kind, folder, frames)


def open_good(qtbot, window: MainWindow, path: Path) -> None:
    """Open ``path`` through the window and wait until its first frame is on screen."""
    with qtbot.waitSignal(window.controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        window.commands.open_path(path)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 0, timeout=10_000)


def open_bad(qtbot, window: MainWindow, path: Path) -> str:
    """Open ``path`` through the window, expecting it to fail; the text of the message shown.

    Nothing may announce a new video or a changed project on the way.
    """
    controller = window.controller
    announced: list[object] = []
    signals = (controller.sig_video_opened, controller.sig_project_changed, controller.files.sig_file_opened)
    for signal in signals:
        signal.connect(announced.append)
    try:
        with qtbot.waitSignal(controller.sig_error, timeout=RUN_TIMEOUT_MS) as error:
            window.commands.open_path(path)
        qtbot.wait(50)  # anything the failure might still set off arrives now
    finally:
        for signal in signals:
            signal.disconnect(announced.append)
    assert announced == [], f"opening {path.name} announced {announced}"
    assert not controller.files.opening
    box = window.last_message
    assert box is not None and box.isVisible()
    assert box.text() == error.args[0]
    return box.text()


def assert_one_line_about(text: str, needle: str) -> None:
    assert needle in text, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert "\n" not in text.strip() and text.strip(), repr(text)
    assert len(text) < 300, text


@dataclass
class Snapshot:
    """What the user sees of the open project and what the controller holds of it."""

    project: object
    project_id: str
    video: Path | None
    frame_count: int
    exemplars: list[tuple[int, str, Path, str]]
    exemplar_items: list[str]
    dirty: bool
    modified: bool
    title: str
    playhead: int
    current_frame: int
    segments: list[Any]
    status: str
    frame_label: str
    viewer_frame: int
    viewer: QImage
    enabled: dict[str, bool]
    recent: list[Path]
    scratch: list[str]

    @classmethod
    def of(cls, window: MainWindow) -> Snapshot:
        c, project, items = window.controller, window.controller.project, window.exemplars.list
        return cls(
            project=project,
            project_id=project.project_id,
            video=project.video,
            frame_count=c.frame_count,
            exemplars=[(e.frame, e.kind, e.image, e.name) for e in project.exemplars],
            exemplar_items=[items.item(row).text() for row in range(items.count())],
            dirty=project.dirty,
            modified=window.isWindowModified(),
            title=window.windowTitle(),
            playhead=project.playhead,
            current_frame=c.current_frame,
            segments=list(c.segments),
            status=window.status.video_label.text(),
            frame_label=window.timeline.frame_label.text(),
            viewer_frame=window.viewer.frame_index,
            viewer=window.viewer.grab().toImage(),
            enabled={name: action.isEnabled() for name, action in window.actions_by_name.items()},
            recent=c.settings.recent_files(),
            scratch=sorted(p.name for p in c.paths.scratch.iterdir()) if c.paths.scratch.exists() else [],
        )


def assert_unchanged(window: MainWindow, before: Snapshot) -> None:
    after = Snapshot.of(window)
    assert after.project is before.project  # the very same project object, not a copy
    for name in before.__dataclass_fields__:
        if name != "project":
            assert getattr(after, name) == getattr(before, name), name


def assert_no_video(window: MainWindow) -> None:
    """The window shows an empty project that the user can leave by opening something else."""
    controller, actions = window.controller, window.actions_by_name
    assert controller.project.video is None and controller.video_info is None
    assert controller.frame_count == 0 and controller.segments == []
    assert window.viewer.frame_index == -1
    assert not controller.runs.busy
    assert window.status.video_label.text() == "No video"
    assert window.timeline.frame_label.text() == "No video open" and window.timeline.goto.isHidden()
    assert window.windowTitle().startswith("Untitled")
    for name in ("play", "save", "add_exemplar", "colorize_all", "export"):
        assert not actions[name].isEnabled(), name
    for name in ("open_video", "open_folder", "open_project"):
        assert actions[name].isEnabled(), name
    assert controller._loader_thread.thread.isRunning() and controller._session_thread.thread.isRunning()


def assert_shows_realshort(window: MainWindow, realshort: Path) -> None:
    controller = window.controller
    assert controller.project.video == realshort.resolve()
    assert controller.frame_count == REALSHORT_FRAMES
    assert window.status.video_label.text().startswith(f"{REALSHORT_FRAMES} frames")
    assert window.timeline.goto.text() == str(controller.current_frame)
    assert window.timeline.frame_label.text() == f"of 0–{REALSHORT_FRAMES - 1}"
    assert window.windowTitle().startswith("realshort.mp4")
    assert window.actions_by_name["play"].isEnabled()


def open_with_work(qtbot, window: MainWindow, video: Path, exemplar: Path) -> Snapshot:
    """Open ``video``, pin an exemplar (unsaved) and move the playhead; the state once everything has settled."""
    controller = window.controller
    open_good(qtbot, window, video)
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    assert add_exemplar(qtbot, controller, exemplar, 0)
    wait_for_segments(qtbot, controller, 1)
    controller.set_current_frame(PLAYHEAD)
    qtbot.waitUntil(lambda: window.viewer.frame_index == PLAYHEAD, timeout=10_000)
    qtbot.wait(50)
    before = Snapshot.of(window)
    assert before.dirty and before.modified and before.exemplars and before.frame_count == REALSHORT_FRAMES
    assert before.playhead == before.current_frame == PLAYHEAD
    return before


def assert_still_usable(qtbot, window: MainWindow) -> None:
    """The project left open still shows its frames: the frame loader kept its video."""
    controller = window.controller
    last = controller.frame_count - 1
    controller.set_current_frame(last)
    qtbot.waitUntil(lambda: window.viewer.frame_index == last, timeout=10_000)
    assert window.timeline.frame_label.text() == f"of 0–{last}" and window.timeline.goto.text() == str(last)


@pytest.mark.parametrize("kind", list(UNOPENABLE))
def test_a_bad_video_leaves_the_open_project_as_it_was(
    qtbot,
    window: MainWindow,
    realshort: Path,
    frames: list[np.ndarray],
    colour_frames: dict[int, Path],
    tmp_path: Path,
    answers,
    kind: str,
) -> None:
    controller = window.controller
    before = open_with_work(qtbot, window, realshort, colour_frames[0])
    assert window.last_message is None
    assert before.recent == [realshort.resolve()]
    bad = make_unopenable(kind, tmp_path, realshort, frames)

    text = open_bad(qtbot, window, bad)

    assert answers.asked == ["Unsaved changes"]  # answered Discard: the open went ahead, and failed
    assert_one_line_about(text, UNOPENABLE[kind])
    assert_unchanged(window, before)
    assert bad.resolve() not in controller.settings.recent_files()
    assert controller.engine.model_state == "ready"
    assert_still_usable(qtbot, window)
    open_good(qtbot, window, realshort)  # the user can still move on to another video
    assert_shows_realshort(window, realshort)
    assert controller.project is not before.project and controller.project.exemplars == []
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    box = window.last_message
    assert box is not None and box.text() == text  # no new message came with the good video


def test_bad_videos_one_after_another_in_an_empty_window(
    qtbot, window: MainWindow, realshort: Path, frames: list[np.ndarray], tmp_path: Path
) -> None:
    controller = window.controller
    empty = Snapshot.of(window)
    assert empty.recent == []
    boxes: list[QMessageBox] = []
    for kind, needle in UNOPENABLE.items():
        folder = tmp_path / kind
        folder.mkdir()
        text = open_bad(qtbot, window, make_unopenable(kind, folder, realshort, frames))
        assert_one_line_about(text, needle)
        assert_no_video(window)
        assert_unchanged(window, empty)  # the recent files too, and no scratch folder left behind
        assert window.last_message is not None
        boxes.append(window.last_message)
    assert all(not box.isVisible() for box in boxes[:-1])  # each message replaced the one before
    assert boxes[-1].isVisible() and len(set(map(id, boxes))) == len(boxes)
    assert controller.engine.model_state == "idle"  # no session was started on any of them
    open_good(qtbot, window, realshort)
    assert_shows_realshort(window, realshort)
    assert controller.settings.recent_files() == [realshort.resolve()]  # a video that opens joins Recent files
    controller.set_current_frame(REALSHORT_FRAMES - 1)
    qtbot.waitUntil(lambda: window.viewer.frame_index == REALSHORT_FRAMES - 1, timeout=10_000)


@pytest.mark.parametrize("damage", ["unreadable", "missing"])
def test_a_project_whose_video_is_bad_leaves_the_open_project_as_it_was(
    qtbot,
    window: MainWindow,
    realshort: Path,
    colour_frames: dict[int, Path],
    tmp_path: Path,
    damage: str,
) -> None:
    controller = window.controller
    reel = tmp_path / "reel.mp4"
    reel.write_bytes(realshort.read_bytes())
    open_with_work(qtbot, window, reel, colour_frames[4])
    saved = tmp_path / "reel.cmnproj"
    assert controller.files.save_project(saved)  # the controller's save: Recent files keep only what was opened
    before = open_with_work(qtbot, window, realshort, colour_frames[0])
    assert before.recent == [realshort.resolve(), reel.resolve()]
    if damage == "unreadable":
        reel.write_text("this was a film once\n")
    else:
        reel.unlink()

    text = open_bad(qtbot, window, saved)

    assert_one_line_about(text, "reel.mp4")
    assert_unchanged(window, before)
    assert saved.resolve() not in controller.settings.recent_files()
    assert_still_usable(qtbot, window)


def test_an_unexpected_error_while_opening_is_a_one_line_message(
    qtbot,
    window: MainWindow,
    realshort: Path,
    colour_frames: dict[int, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in the reader (not a ColorMNetError) must not leave the window half-switched or say nothing."""
    cursed = tmp_path / "cursed.mp4"
    cursed.write_bytes(realshort.read_bytes())  # a good clip: only the reader's bug makes it fail
    real_reader = colormnet.video.VideoReader

    def reader(path: Path, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == cursed.name:
            raise RuntimeError("decoder exploded\nat line 2")
        return real_reader(path, *args, **kwargs)

    before = open_with_work(qtbot, window, realshort, colour_frames[0])
    monkeypatch.setattr(colormnet.video, "VideoReader", reader)

    with caplog.at_level(logging.ERROR, logger="app.frame_loader"):
        text = open_bad(qtbot, window, cursed)

    assert_one_line_about(text, "cursed.mp4")
    assert "decoder exploded" in text and "log file" in text
    assert_unchanged(window, before)
    logged = [r for r in caplog.records if r.name == "app.frame_loader" and r.exc_info is not None]
    assert logged and "cursed.mp4" in logged[0].getMessage()  # the traceback went to the log
    assert_still_usable(qtbot, window)


def faststart_copy(source: Path, dest: Path) -> Path:
    """``source`` remuxed with its index (moov) ahead of the media data, as web-ready MP4s have it."""
    with av.open(str(source)) as src, av.open(str(dest), "w", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        for packet in src.demux():
            if packet.dts is None or packet.stream.index not in streams:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dest


def test_a_truncated_clip_with_its_index_first_opens_with_the_frames_that_survive(
    qtbot, window: MainWindow, realshort: Path, tmp_path: Path
) -> None:
    controller = window.controller
    whole = faststart_copy(realshort, tmp_path / "whole.mp4")
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # the index really is first
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    errors: list[str] = []
    controller.sig_error.connect(errors.append)

    open_good(qtbot, window, cut)

    count = controller.frame_count
    assert 1 <= count < REALSHORT_FRAMES
    assert window.status.video_label.text().startswith(f"{count} frames")
    assert window.timeline.frame_label.text() == f"of 0–{count - 1}" and window.timeline.goto.text() == "0"
    controller.set_current_frame(count - 1)  # every frame it claims can be shown, the last one too
    qtbot.waitUntil(lambda: window.viewer.frame_index == count - 1, timeout=10_000)
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    assert errors == [] and window.last_message is None
    open_good(qtbot, window, realshort)
    assert_shows_realshort(window, realshort)


# hostile project files (see tests/app/test_project_file.py) -> what the message must name
HOSTILE_PROJECTS = {
    "nested-100000-deep": "nested too deeply",
    "1e999-playhead": "damaged",
    "nan-setting": "damaged",
    "negative-frame": "frame number",
    "wrong-types": "damaged",
    "id-absolute": "id",
    "id-dotdot": "id",
    "not-utf8": "damaged",
    "huge-setting": "out of range",
}


def test_hostile_project_files_leave_the_open_project_as_it_was(
    qtbot,
    window: MainWindow,
    realshort: Path,
    colour_frames: dict[int, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.model.project import Project
    from tests.app.test_project_file import HOSTILE

    hostile = {**HOSTILE, "wrong-types": HOSTILE["exemplars-as-object"]}
    before = open_with_work(qtbot, window, realshort, colour_frames[0])
    for case, needle in HOSTILE_PROJECTS.items():
        path = tmp_path / f"{case}.cmnproj"
        path.write_bytes(hostile[case])
        text = open_bad(qtbot, window, path)
        assert_one_line_about(text, needle)
        assert_unchanged(window, before)
        assert path.resolve() not in window.controller.settings.recent_files()

    def broken_load(path: Path) -> Project:
        raise RuntimeError("loader bug\nsecond line")

    monkeypatch.setattr(Project, "load", staticmethod(broken_load))
    with caplog.at_level(logging.ERROR, logger="app.project_files"):
        text = open_bad(qtbot, window, tmp_path / "id-dotdot.cmnproj")  # a bug, not a bad file: still one line
    assert_one_line_about(text, "id-dotdot.cmnproj")
    assert "log file" in text
    assert any(r.exc_info is not None for r in caplog.records if r.name == "app.project_files")
    assert_unchanged(window, before)
    assert_still_usable(qtbot, window)
