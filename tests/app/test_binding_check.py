"""The installed Qt binding keeps ``None`` alive, the check finds a binding that does not, and fatal errors of the
app land in a file beside its log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from app import binding_check
from app.binding_check import binding_fault


def test_calls_without_a_result_keep_none_alive(qapp) -> None:
    image = QImage(16, 16, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for _ in range(500):  # what the timeline's painting does hundreds of times per repaint
        painter.setPen(QColor(1, 2, 3))
        painter.drawLine(QPointF(0, 0), QPointF(5, 5))
        painter.fillRect(QRectF(0, 0, 4, 4), QColor(4, 5, 6))
    painter.end()
    assert sys.getrefcount(None) >= before - 50  # a faulty binding loses 1500 here
    assert binding_fault() is None


def test_a_binding_that_loses_none_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = iter([10_000, 10_000 - binding_check._PROBE_CALLS])  # before and after the probe's calls
    monkeypatch.setattr(binding_check.sys, "getrefcount", lambda obj: next(counts))
    message = binding_fault()
    assert message is not None and "\n" not in message
    assert "loses a reference to None" in message and "PySide6-Essentials<6.12" in message


def test_a_fatal_error_is_written_beside_the_log(tmp_path: Path) -> None:
    crash = tmp_path / "logs" / "crash.log"
    code = (f"from pathlib import Path; from app.binding_check import write_crashes_to; "
            f"write_crashes_to(Path({str(crash)!r})); import faulthandler; faulthandler._sigsegv()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Fatal Python error" in crash.read_text() and "Segmentation fault" in crash.read_text()
