"""Run progress: rate, time left, timecodes."""

from __future__ import annotations

import pytest

from app.progress import RunMeter, format_duration, format_timecode


def test_rate_and_eta_follow_the_processed_frames() -> None:
    now = [100.0]
    meter = RunMeter(clock=lambda: now[0])
    start = meter.start()
    assert start.fps == 0 and start.eta_seconds is None
    for done in range(1, 5):
        now[0] += 0.5
        progress = meter.update(done, 20)
    assert progress.fps == pytest.approx(2.0)
    assert progress.eta_seconds == pytest.approx(8.0)
    assert progress.fraction == pytest.approx(0.2)
    now[0] += 0.5
    progress = meter.update(7, 20)  # two frames at once (frames computed only to reach a requested one)
    assert progress.fps == pytest.approx(7 / 2.5)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3725, "1:02:05")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("frame", "fps", "text"), [(0, 25, "00:00:00:00"), (26, 25, "00:00:01:01"), (30 * 3600, 29.97, "01:00:00:00")]
)
def test_format_timecode(frame: int, fps: float, text: str) -> None:
    assert format_timecode(frame, fps) == text
