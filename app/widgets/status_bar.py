"""The status bar: facts about the video, the engine running and its device, and the progress of a run with its
cancel button."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from app.model.engine_settings import FALLBACK_NOTICE, engine_label
from app.progress import ExportMeter, Progress, format_duration

if TYPE_CHECKING:
    from app.engine_choice import EngineStatus
    from colormnet.video import VideoInfo

STARTING_TEXT = "Starting the engine…"  # torch is being imported
_LOADING = "Loading the model…"  # a run waiting for the model, until it is ready
_NARROWEST_LABEL = 48  # pixels a readout keeps on a small screen; its tooltip holds the whole text


_PREVIEW_PRECISION_TIP = (
    "Previews run in bf16, which this CPU computes natively (about twice as fast); exports are computed again in "
    "full fp32. Choose the precision in Settings."
)


def describe_video(info: VideoInfo) -> str:
    """One line about a video: frames, rate, size, duration and the bit depth it is stored at."""
    kind = "image sequence" if info.is_image_sequence else Path(info.path).suffix.lstrip(".")
    return (
        f"{info.frame_count} frames · {float(info.fps):.3f} fps · {info.width}×{info.height} · "
        f"{format_duration(info.duration)} · {info.bits_per_component}-bit {kind}"
    )


def describe_progress(progress: Progress) -> str:
    """``12/21 frames · ETA 0:05 · 2.10 fps · 40/49 computed, 28 of them pre-roll``.

    The first count is of the frames asked for; the computed count, shown when it differs, holds every frame the
    engine runs, including those between the exemplar and the range. The time left comes first after it: where the
    status bar is too narrow for the whole line, its end is cut off.
    """
    eta = format_duration(progress.eta_seconds) if progress.eta_seconds is not None else "–"
    frames_total = progress.frames_total or progress.total
    frames_done = progress.frames_done if progress.frames_total else progress.done
    rate = f"{progress.fps:.2f} fps" if progress.fps > 0 else "– fps"
    parts = [f"{frames_done}/{frames_total} frames", f"ETA {eta}", rate]
    if progress.extra_steps:
        parts.append(f"{progress.done}/{progress.total} computed, {progress.extra_steps} of them pre-roll")
    return " · ".join(parts)


def describe_engine(status: EngineStatus) -> str:
    """``ColorMNet · CPU · fp32``, ``Propagate · CPU · fp32 — fallback: no usable ColorMNet weights``, and the like.

    Before a video opens, what the engine waits for; while the model loads, which engine loads.
    """
    chosen = engine_label(status.chosen)
    if status.state == "idle":
        return f"{chosen} · waiting for a video" if status.engines_known else STARTING_TEXT
    if status.state == "loading":
        return f"Loading {engine_label(status.running)}…"
    if status.state == "missing":
        return f"{chosen}: no weights installed"
    if status.state == "failed":
        return f"{chosen} failed to load"
    parts = [engine_label(status.running), status.device.upper()] + ([status.precision] if status.precision else [])
    text = " · ".join(parts) + (" (random weights)" if status.random_weights else "")
    return f"{text} — {status.why}" if status.why else text


class StudioStatusBar(QStatusBar):
    """The main window's status bar.

    Args:
        cancel: The action that cancels a run (shown as a button while one goes on).
        parent: Parent widget.
    """

    note_ms = 8000  # how long a passing note (a run's end, a confirmation) stays

    def __init__(self, cancel: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video_label = QLabel("No video", self)
        self.device_label = QLabel(STARTING_TEXT, self)
        self.progress_label = QLabel("", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setDefaultAction(cancel)
        self.cancel_button.setAutoRaise(True)
        self._cancelling = False
        self._kind = "colorize"
        self._writing = ExportMeter()  # an export's frames written, for its rate and time left
        for widget in (self.progress_label, self.progress_bar, self.cancel_button, self.video_label, self.device_label):
            self.addPermanentWidget(widget)
        for label in (self.progress_label, self.video_label, self.device_label):
            # the whole text where there is room, else cut off: a readout as long as its text would hold the window
            # wider than a small screen (Qt grows a window to its layout's minimum)
            label.setMinimumWidth(_NARROWEST_LABEL)
        self._show_run(False)
        self.messageChanged.connect(self._on_message_changed)

    def _on_message_changed(self, message: str) -> None:
        """A message gets the room of the video's description while it shows (which comes back when the message
        goes), and its whole text as the tooltip where even that is too narrow."""
        self._show_video_label()
        self.setToolTip(message)

    def _show_video_label(self) -> None:
        """The video's description, unless a message or a run's progress needs its room (on a laptop's screen the
        progress would else be cut off before the time left)."""
        self.video_label.setVisible(not self.currentMessage() and self.progress_bar.isHidden())

    def show_video(self, info: VideoInfo | None) -> None:
        """Describe the open video (None: no video)."""
        self.video_label.setText(describe_video(info) if info is not None else "No video")
        self.video_label.setToolTip(self.video_label.text())

    def show_engine(self, status: EngineStatus) -> None:
        """Show the engine actually running, its device and precision, and why it is not the one chosen."""
        self.device_label.setText(describe_engine(status))
        tips = [self.device_label.text()] + ([status.detail] if status.detail else [])
        if status.state == "ready" and status.why.startswith("fallback"):
            tips.append(FALLBACK_NOTICE)
        if status.state == "ready" and "preview" in status.precision:
            tips.append(_PREVIEW_PRECISION_TIP)
        self.device_label.setToolTip("\n".join(tips))

    def run_started(self, kind: str, *, loading: bool = False) -> None:
        """Show a busy bar and the cancel button; ``loading``: the model is still loading, which the run waits for."""
        self._show_run(True)
        self._kind = kind
        self._writing.start()
        if not self._cancelling:  # Esc may come before the run's start is shown
            self.progress_label.setText(_LOADING if loading else self._running_text())
        self.progress_bar.setRange(0, 0)  # busy until the first progress

    def show_model_state(self, state: str) -> None:
        """Once the model a run waited for is ``ready``, the run goes on (its progress follows with its first frame)."""
        if state == "ready" and self.progress_label.text() == _LOADING:
            self.progress_label.setText(self._running_text())

    def _running_text(self) -> str:
        return "Exporting…" if self._kind == "export" else "Colorizing…"

    def cancelling(self) -> None:
        """Say at once that the run is stopping: it ends within one frame, which takes seconds on a CPU."""
        self._cancelling = True
        self.progress_label.setText("Cancelling… (the frame in progress finishes first)")

    def show_progress(self, progress: Progress) -> None:
        """Show the frames of the range delivered, the frames computed beyond it, the rate and the time left.

        An export's colorizing goes segment by segment, each with counts of its own: an export shows the frames it
        has written instead (:meth:`show_export_progress`).
        """
        if not progress.total or self._cancelling or self._kind == "export":
            return
        self.progress_bar.setRange(0, progress.total)
        self.progress_bar.setValue(progress.done)
        self.progress_label.setText(describe_progress(progress))
        extra = progress.extra_steps
        self.progress_label.setToolTip(
            self.progress_label.text()
            + (
                f"\n{progress.total} frames are computed for the {progress.frames_total} asked for: the {extra} more "
                "(pre-roll) carry the exemplar's colours from its frame up to them, and the exemplar's own frame runs "
                "in both directions."
                if extra
                else ""
            )
        )

    def show_export_progress(self, written: int, total: int) -> None:
        """Show the frames an export has written of those it writes, its rate and the time left."""
        if not total or self._cancelling or self._kind != "export":
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(written)
        self.progress_label.setText(describe_progress(self._writing.written(written, total)))
        self.progress_label.setToolTip(self.progress_label.text() + "\nFrames written to the export")

    def withdraw(self, text: str) -> None:
        """Take the note ``text`` away if it is still shown (what it said no longer holds)."""
        if self.currentMessage() == text:
            self.clearMessage()

    def forget_run(self) -> None:
        """The open project was replaced or closed: the progress of its run goes (the run stops unseen), and so does
        any note about it or its runs."""
        self._show_run(False)
        self._cancelling = False
        self.clearMessage()

    def run_finished(
        self, kind: str, cancelled: bool, notice: str = "", *, failed: bool = False, ended: str = ""
    ) -> None:
        """Hide the progress and say how the run ended.

        Args:
            kind: colorize or export.
            cancelled: Whether the run was cancelled.
            notice: Something the user must be told about the run (a fallback after the GPU ran out of memory);
                it stays in the status bar until the next message, where the end of a run alone goes after ``note_ms``.
            failed: Whether the run stopped on an error or was refused (its message was shown).
            ended: What the run's end says in place of the usual note, when it neither failed nor was cancelled
                (every frame it was asked for was colorized already).
        """
        self._show_run(False)
        self._cancelling = False
        notes = {"colorize": "Colorization finished.", "export": "Export finished."}
        if failed:
            notes = {"colorize": "Colorization stopped on an error.", "export": "Export stopped on an error."}
        said = "Cancelled." if cancelled else notes.get(kind, "Stopped on an error." if failed else "Finished.")
        if ended and not (cancelled or failed):
            said = ended
        if notice:
            self.showMessage(f"{said} {notice}")
        else:
            self.showMessage(said, self.note_ms)

    def _show_run(self, visible: bool) -> None:
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(visible)
        self._show_video_label()
