"""The export dialog: output path, format, range and audio; then progress with cancel."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.controller import Controller
from app.icons import icon
from app.jobs import ExportJob
from app.model.engine_settings import EXPORT_PRECISION_NOTE
from app.model.paths import a_place_to_write, user_folder
from app.progress import ExportMeter, Progress, format_duration
from colormnet.errors import OutputError
from colormnet.sidecar import sidecar_path
from colormnet.video.codecs import CODECS, DEFAULT_CODEC, check_output_path


def default_output(video: Path, codec: str, elsewhere: Path | None = None) -> Path:
    """A sensible output next to the source: ``film_colorized.mp4`` or a ``film_colorized`` folder.

    Where the source's folder is no place to write (read-only archive media, or the program's own bundled clip),
    the output goes to ``elsewhere`` (the user's videos folder) when given.
    """
    spec = CODECS[codec]
    folder = video.parent
    if elsewhere is not None and not a_place_to_write(folder):
        folder = elsewhere
    stem = folder / f"{video.stem}_colorized"
    return stem if spec.is_image_sequence else stem.with_suffix(spec.extensions[0])


class ExportDialog(QDialog):
    """Collects an export's settings, checks the output path and follows the export's progress.

    Args:
        controller: The application controller (it runs the export).
        parent: Parent widget.
    """

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export colorized video")
        self.setWindowIcon(icon("export"))
        self.setMinimumWidth(560)
        self._controller = controller
        self._running = False
        self._job: ExportJob | None = None  # the export started last
        self._colorizing: Progress | None = None  # the colorizing of the segment in turn, while the export runs
        self._written: Progress | None = None  # frames written of frames to write, with the export's time left
        self._writing = ExportMeter()
        video = controller.project.video or Path("output")
        self.codec = QComboBox(self)
        for name, spec in CODECS.items():
            self.codec.addItem(f"{name} — {spec.description}", name)
        self.codec.setCurrentIndex(list(CODECS).index(DEFAULT_CODEC))
        self.codec.currentIndexChanged.connect(self._on_codec_changed)
        self.path = QLineEdit(str(default_output(video, DEFAULT_CODEC, user_folder("videos"))), self)
        self.path.textChanged.connect(self._on_path_changed)
        self.browse = QPushButton(icon("open_project"), "Browse…", self)
        self.browse.clicked.connect(self._on_browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        project = controller.project
        has_range = project.in_point is not None or project.out_point is not None
        self.range_all = QRadioButton(f"All frames (0 – {max(0, controller.frame_count - 1)})", self)
        start, stop = project.export_range()
        self.range_in_out = QRadioButton(f"In to out ({start} – {stop - 1})", self)
        self.range_in_out.setEnabled(has_range)
        (self.range_in_out if has_range else self.range_all).setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.range_all)
        group.addButton(self.range_in_out)
        self.audio = QCheckBox(self)  # its state and text: _update_audio, once the format is chosen
        self._audio_wanted = True  # ticked by default where it can be
        self.audio.toggled.connect(self._on_audio_toggled)
        self.cluster = QCheckBox("Render on cluster…", self)
        self.cluster.setToolTip("Render the units as Ray tasks on render nodes and assemble them here (needs ray)")
        self.cluster_address = QLineEdit("local", self)
        self.cluster_address.setPlaceholderText("local, or the head node's host:port")
        self.cluster_workers = QSpinBox(self)
        self.cluster_workers.setRange(0, 4096)
        self.cluster_workers.setSpecialValueText("one per GPU (else CPU)")
        cluster_row = QHBoxLayout()
        cluster_row.addWidget(self.cluster)
        cluster_row.addWidget(self.cluster_address, 1)
        cluster_row.addWidget(QLabel("Workers", self))
        cluster_row.addWidget(self.cluster_workers)
        self.cluster.toggled.connect(self._on_cluster_toggled)
        self._on_cluster_toggled(False)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Format", self.codec)
        form.addRow("Output", path_row)
        form.addRow("Range", self.range_all)
        form.addRow("", self.range_in_out)
        form.addRow("Audio", self.audio)
        form.addRow("Where", cluster_row)
        form.addRow("Precision", QLabel(EXPORT_PRECISION_NOTE, self, wordWrap=True))
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setIcon(icon("export"))
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setIcon(icon("cancel"))
        self.export_button.clicked.connect(self._on_export_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        controller.runs.sig_export_progress.connect(self._on_controller_export_progress)
        controller.runs.sig_progress.connect(self._on_controller_progress)
        controller.runs.sig_export_finished.connect(self._on_controller_export_finished)
        self._start_where_the_last_export_went(controller.project.video)
        self._update_audio()

    def _start_where_the_last_export_went(self, video: Path | None) -> None:
        """The last export of this film again (output and format), or the folder of the last export of any film."""
        settings = self._controller.settings
        remembered = settings.last_export(video) if video is not None else None
        if remembered is not None and remembered[1] in CODECS:
            output, codec = remembered
            self.codec.setCurrentIndex(self.codec.findData(codec))
            self.path.setText(str(output))
            return
        folder = settings.last_folder("export")
        if video is not None and folder is not None and a_place_to_write(folder):
            self.path.setText(str(folder / default_output(video, self.selected_codec()).name))

    def selected_codec(self) -> str:
        """The chosen format's name."""
        return str(self.codec.currentData())

    def job(self, overwrite: bool) -> ExportJob:
        """The export described by the dialog."""
        start, stop = (
            self._controller.project.export_range()
            if self.range_in_out.isChecked()
            else (0, self._controller.frame_count)
        )
        cluster = (self.cluster_address.text().strip() or "local") if self.cluster.isChecked() else None
        return ExportJob(
            Path(self.path.text()).expanduser(), self.selected_codec(), start, stop, self.audio.isChecked(), overwrite,
            cluster=cluster, workers=self.cluster_workers.value() or None,
        )

    def start_export(self) -> bool:
        """Check the output and start the export; False when the user must change something first."""
        output = Path(self.path.text()).expanduser()
        if not self.path.text().strip():
            self._show_problem("Choose where to write the export.")
            return False
        video = self._controller.project.video
        inputs = [video] if video else []
        try:  # all but an existing output, which is asked about: the source film, an unusable folder, ...
            check_output_path(output, inputs=inputs, codec=self.selected_codec(), overwrite=True)
        except OutputError as exc:
            self._show_problem(str(exc))
            return False
        overwrite = False
        record = sidecar_path(output, folder=not CODECS[self.selected_codec()].extensions)
        existing = output if output.exists() and not (output.is_dir() and not any(output.iterdir())) else None
        if existing is None and record.is_file():
            existing = record  # a record left from an earlier export would be replaced
        if existing is not None:
            answer = QMessageBox.question(
                self,
                "Replace file?",
                f"{existing} already exists. Replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            overwrite = True  # the writer checks the path once more as the export starts
        job = self.job(overwrite)
        if job.stop <= job.start:
            self._show_problem("The range is empty; set the in and out points again.")
            return False
        self._job = job
        self._set_running(True)
        self.status.setText("Preparing…")
        self._controller.runs.export(job)
        if not self._controller.runs.busy:  # refused (a message was shown)
            self._set_running(False)
            return False
        if video is not None:  # the next export of this film starts from here
            self._controller.settings.set_last_export(video, output, job.codec)
        self._controller.settings.set_last_folder("export", output.absolute().parent)
        return True

    def _show_problem(self, message: str) -> None:
        self.status.setText(f"<b>{html.escape(message)}</b>")
        self.adjustSize()  # a message of two lines or more gets its room instead of overlapping the notes

    def _audio_available(self) -> bool:
        """Whether the audio box may be ticked: the source has audio and the format can carry it."""
        spec = CODECS[self.selected_codec()]
        return not spec.is_image_sequence and bool(getattr(self._controller.video_info, "has_audio", False))

    def _update_audio(self) -> None:
        """Enable the audio box where it can be ticked, as the user last left it; where not, it is unticked and its
        text says why."""
        available = self._audio_available()
        self.audio.setEnabled(available and not self._running)
        self.audio.blockSignals(True)  # not the user's choice
        self.audio.setChecked(available and self._audio_wanted)
        self.audio.blockSignals(False)
        if available:
            self.audio.setText("Include the source's audio")
        elif not getattr(self._controller.video_info, "has_audio", False):
            self.audio.setText("None: the source has no audio")
        else:
            self.audio.setText("None: a folder of images carries no audio")

    def _on_audio_toggled(self, checked: bool) -> None:
        self._audio_wanted = checked

    def _set_running(self, running: bool) -> None:
        self._running = running
        self._colorizing = None
        self._written = None
        self._writing.start()
        for widget in (self.codec, self.path, self.browse, self.range_all, self.export_button, self.cluster):
            widget.setEnabled(not running)
        self._update_audio()
        self._on_cluster_toggled(self.cluster.isChecked() and not running)
        project = self._controller.project
        self.range_in_out.setEnabled(not running and (project.in_point is not None or project.out_point is not None))
        self.progress.setVisible(running)
        if running:  # "Close" after an earlier export would read as leaving the export to run on; it stops it
            self.cancel_button.setText("Cancel")
            self.cancel_button.setIcon(icon("cancel"))
        self.adjustSize()  # room for the progress bar: the word-wrapped notes above keep their lines

    def _on_cluster_toggled(self, checked: bool) -> None:
        self.cluster_address.setEnabled(checked)
        self.cluster_workers.setEnabled(checked)

    def _on_path_changed(self, text: str) -> None:
        """What was said about the output before (a problem with it, where the last export went) is out of date."""
        if not self._running:
            self.status.setText("")

    def _on_codec_changed(self, index: int) -> None:
        if not self._running:
            self.status.setText("")  # a problem with the format before is out of date
        video = self._controller.project.video or Path("output")
        current = Path(self.path.text())
        spec = CODECS[self.selected_codec()]
        if spec.is_image_sequence:
            self.path.setText(str(current.with_suffix("") if current.suffix else current))
        elif current.suffix.lower() not in spec.extensions:
            base = (
                current.with_suffix("")
                if current.suffix
                else default_output(video, self.selected_codec(), user_folder("videos")).with_suffix("")
            )
            self.path.setText(str(base.with_suffix(spec.extensions[0])))
        self._update_audio()

    def _on_browse_clicked(self) -> None:
        spec = CODECS[self.selected_codec()]
        if spec.is_image_sequence:
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the images", self.path.text())
        else:
            patterns = " ".join(f"*{ext}" for ext in spec.extensions)
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), f"Video ({patterns})")
        if chosen:
            self.path.setText(chosen)

    def _on_export_clicked(self) -> None:
        if not self._running:
            self.start_export()

    def _on_cancel_clicked(self) -> None:
        if self._running:
            self.status.setText("Cancelling…")
            self._controller.runs.cancel()
        else:
            self.reject()

    def _on_controller_progress(self, progress: Progress) -> None:
        if self._running and progress.total:
            self._colorizing = progress
            self._show_progress()

    def _on_controller_export_progress(self, written: int, total: int) -> None:
        if self._running:
            self.progress.setMaximum(max(1, total))
            self.progress.setValue(written)
            self._written = self._writing.written(written, total)
            self._show_progress()

    def _show_progress(self) -> None:
        """One time left, the whole export's: from the frames written (the colorizing of each segment has counts of
        its own, and runs in step with the writing); before it, what the export does now."""
        written = self._written
        if written is None:
            return
        text = f"{written.done} / {written.total} frames written"
        if written.eta_seconds:
            text += f", {format_duration(written.eta_seconds)} left"
        doing = self._doing_now(written.done)
        self.status.setText(f"{doing} · {text}" if doing else text)

    def _doing_now(self, written: int) -> str:
        """``Colorizing frames 92–199`` while the export colorizes the segment it writes in, else ""."""
        colorizing, job = self._colorizing, self._job
        if colorizing is None or colorizing.done >= colorizing.total or job is None:
            return ""
        turn = job.start + written  # the frame the writer waits for: the segment colorized is the one holding it
        segment = next((s for s in self._controller.segments if s.start <= turn < s.stop), None)
        if segment is None:
            return "Colorizing"
        return f"Colorizing frames {max(job.start, segment.start)}–{min(job.stop, segment.stop) - 1}"

    def _on_controller_export_finished(self, ok: bool, message: str) -> None:
        self._set_running(False)
        self.status.setText(f"Exported to {message}" if ok else message)
        # Nothing runs any more, done, failed or cancelled: the button closes the dialog (not a stop sign)
        self.cancel_button.setText("Close")
        self.cancel_button.setIcon(icon("close"))

    def reject(self) -> None:
        if self._running:
            self._controller.runs.cancel()
            return
        super().reject()
