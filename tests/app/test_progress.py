"""Run progress: rate, time left, timecodes."""

from __future__ import annotations

import pytest

from app.progress import Progress, RunMeter, format_duration, format_timecode
from app.widgets.status_bar import describe_progress


def test_rate_and_eta_follow_the_processed_frames() -> None:
    now = [100.0]
    meter = RunMeter(clock=lambda: now[0])
    start = meter.start(20)
    assert start.fps == 0 and start.eta_seconds is None
    for done in range(1, 5):
        now[0] += 0.5
        progress = meter.update(done, 20)
    assert progress.fps == pytest.approx(2.0)
    assert progress.eta_seconds == pytest.approx(8.0)
    assert progress.fraction == pytest.approx(0.2)
    assert (progress.frames_done, progress.frames_total) == (4, 20)
    now[0] += 0.5
    progress = meter.update(7, 20)  # three steps at once (frames computed only to reach a requested one)
    seconds_per_step = 0.5 + 0.25 * (0.5 / 3 - 0.5)  # the moving average moves a quarter of the way
    assert progress.fps == pytest.approx(1 / seconds_per_step)
    assert progress.eta_seconds == pytest.approx(13 * seconds_per_step)


def test_the_first_eta_leaves_out_the_model_load() -> None:
    now = [0.0]
    meter = RunMeter(clock=lambda: now[0])
    meter.start(100)
    now[0] += 30.0  # the model loads, then the first frame comes
    first = meter.update(1, 100)
    assert first.eta_seconds is None  # no rate yet: the 30 s are not a frame's time
    for done in range(2, 6):
        now[0] += 0.1
        progress = meter.update(done, 100)
    assert progress.eta_seconds == pytest.approx(95 * 0.1)
    assert progress.fps == pytest.approx(10.0)


def test_the_rate_is_smoothed_over_a_slow_frame() -> None:
    now = [0.0]
    meter = RunMeter(clock=lambda: now[0])
    meter.start(50)
    meter.update(1, 50)
    for done in range(2, 10):
        now[0] += 1.0
        steady = meter.update(done, 50)
    now[0] += 5.0  # one slow frame
    slow = meter.update(10, 50)
    assert steady.eta_seconds == pytest.approx(41.0)
    assert 41.0 < slow.eta_seconds < 40 * 5.0 / 2  # moves, but far less than the raw 5 s per frame would


def test_steps_before_the_range_move_the_progress_and_the_rate() -> None:
    now = [0.0]
    meter = RunMeter(clock=lambda: now[0])
    meter.start(10)
    for done in range(1, 6):  # the pre-roll: steps, no requested frame yet
        now[0] += 0.5
        progress = meter.step(done, 15)
    assert (progress.done, progress.total, progress.frames_done) == (5, 15, 0)
    assert progress.fps == pytest.approx(2.0) and progress.eta_seconds == pytest.approx(5.0)
    now[0] += 0.5
    meter.step(6, 15)
    progress = meter.update(6, 15)  # the step's frame is a requested one: counted once, as a frame
    assert (progress.done, progress.frames_done) == (6, 1)
    assert progress.fps == pytest.approx(2.0)
    restarted = meter.step(1, 4)  # an export's next segment counts its steps anew
    assert (restarted.done, restarted.total) == (1, 4)


@pytest.mark.parametrize(
    ("progress", "text"),
    [
        (Progress(3, 3, 2.0, 0.0, 3, 3), "3/3 frames · ETA 0:00 · 2.00 fps"),
        (
            Progress(111, 167, 30.0, 1.9, 110, 166),
            "110/166 frames · ETA 0:02 · 30.00 fps · 111/167 computed, 1 of them pre-roll",
        ),
        (Progress(40, 49, 2.1, None, 12, 21), "12/21 frames · ETA – · 2.10 fps · 40/49 computed, 28 of them pre-roll"),
    ],
)
def test_progress_says_frames_of_the_range_and_frames_computed(progress: Progress, text: str) -> None:
    assert describe_progress(progress) == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3725, "1:02:05")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("frame", "fps", "text"), [(0, 25, "00:00:00:00"), (26, 25, "00:00:01:01"), (30 * 3600, 29.97, "01:00:00:00")]
)
def test_format_timecode(frame: int, fps: float, text: str) -> None:
    assert format_timecode(frame, fps) == text
