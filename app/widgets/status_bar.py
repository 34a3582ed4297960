"""The status bar: facts about the video, the device in use, and the progress of a run with its cancel button."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from app.model.engine_settings import FALLBACK_NOTICE
from app.progress import Progress, format_duration

if TYPE_CHECKING:
    from colormnet.video import VideoInfo

_MODEL_TEXTS = {
    "idle": "Engine idle",
    "loading": "Loading model…",
    "missing": "No weights installed",
    "failed": "Model failed to load",
}


_PREVIEW_PRECISION_TIP = (
    "Previews run in bf16, which this CPU computes natively (about twice as fast); exports are computed again in "
    "full fp32. Choose the precision in Settings."
)


def describe_video(info: VideoInfo) -> str:
    """One line about a video: frames, rate, size, duration and bit depth."""
    kind = "image sequence" if info.is_image_sequence else Path(info.path).suffix.lstrip(".")
    return (
        f"{info.frame_count} frames · {float(info.fps):.3f} fps · {info.width}×{info.height} · "
        f"{format_duration(info.duration)} · {info.bit_depth}-bit {kind}"
    )


def describe_progress(progress: Progress) -> str:
    """``12/21 frames · 40/49 computed (+28 to reach them) · 2.10 fps · ETA 0:05``.

    The first count is of the frames asked for; the computed count, shown when it differs, holds every frame the
    engine runs, including those between the exemplar and the range.
    """
    eta = format_duration(progress.eta_seconds) if progress.eta_seconds is not None else "–"
    frames_total = progress.frames_total or progress.total
    frames_done = progress.frames_done if progress.frames_total else progress.done
    parts = [f"{frames_done}/{frames_total} frames"]
    if progress.extra_steps:
        parts.append(f"{progress.done}/{progress.total} computed (+{progress.extra_steps} to reach them)")
    parts += [f"{progress.fps:.2f} fps" if progress.fps > 0 else "– fps", f"ETA {eta}"]
    return " · ".join(parts)


class StudioStatusBar(QStatusBar):
    """The main window's status bar.

    Args:
        cancel: The action that cancels a run (shown as a button while one goes on).
        parent: Parent widget.
    """

    def __init__(self, cancel: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video_label = QLabel("No video", self)
        self.device_label = QLabel("Engine loading…", self)
        self.progress_label = QLabel("", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setDefaultAction(cancel)
        self.cancel_button.setAutoRaise(True)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button, self.video_label, self.device_label):
            self.addPermanentWidget(widget)
        self._show_run(False)

    def show_video(self, info: VideoInfo | None) -> None:
        """Describe the open video (None: no video)."""
        self.video_label.setText(describe_video(info) if info is not None else "No video")

    def show_model_state(
        self, state: str, device: str, random_weights: bool, *, stand_in: str = "", precision: str = ""
    ) -> None:
        """Show the model's state, and the device and precision once it is loaded.

        Args:
            state: idle, loading, ready, missing or failed.
            device: The device in use (when ready).
            random_weights: Whether the checkpoint holds random weights.
            stand_in: The engine standing in for ColorMNet without its weights ("" when none).
            precision: What the model computes in (as
                :func:`app.model.engine_settings.describe_precision` puts it; "" when not known).
        """
        shown = f"{device.upper()} · {precision}" if precision else device.upper()
        if state == "ready" and stand_in:
            text = f"{stand_in.capitalize()} engine (no ColorMNet weights) · {shown}"
        elif state == "ready":
            text = f"Device: {shown}" + (" (random weights)" if random_weights else "")
        else:
            text = _MODEL_TEXTS.get(state, state)
        self.device_label.setText(text)
        tips = [FALLBACK_NOTICE] if state == "ready" and stand_in else []
        if state == "ready" and "preview" in precision:
            tips.append(_PREVIEW_PRECISION_TIP)
        self.device_label.setToolTip("\n".join(tips))

    def run_started(self, kind: str) -> None:
        """Show a busy bar and the cancel button."""
        self._show_run(True)
        self.progress_label.setText("Exporting…" if kind == "export" else "Colorizing…")
        self.progress_bar.setRange(0, 0)

    def show_progress(self, progress: Progress) -> None:
        """Show the frames of the range delivered, the frames computed beyond it, the rate and the time left."""
        if not progress.total:
            return
        self.progress_bar.setRange(0, progress.total)
        self.progress_bar.setValue(progress.done)
        self.progress_label.setText(describe_progress(progress))
        extra = progress.extra_steps
        self.progress_label.setToolTip(
            f"{progress.total} frames computed for the {progress.frames_total} frames asked for: {extra} more are "
            "computed to reach them from their exemplar (the exemplar's own frame runs in both directions)."
            if extra
            else ""
        )

    def run_finished(self, kind: str, cancelled: bool, notice: str = "") -> None:
        """Hide the progress and say how the run ended.

        Args:
            kind: colorize or export.
            cancelled: Whether the run was cancelled.
            notice: Something the user must be told about the run (a fallback after the GPU ran out of memory);
                it stays in the status bar until the next message, where the end of a run alone goes in 8 seconds.
        """
        self._show_run(False)
        notes = {"colorize": "Colorization finished.", "export": "Export finished."}
        ended = "Cancelled." if cancelled else notes.get(kind, "Finished.")
        if notice:
            self.showMessage(f"{ended} {notice}")
        else:
            self.showMessage(ended, 8000)

    def _show_run(self, visible: bool) -> None:
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(visible)
