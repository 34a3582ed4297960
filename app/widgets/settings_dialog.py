"""The settings dialog: engine, device, precision, processing size, transition, memory parameters, cache size and
the ColorMNet weights (see :mod:`app.widgets.weights_section`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from app.model.engine_settings import DEVICES, ENGINES, PRECISIONS, EngineSettings, transitions_for
from colormnet.config import InferenceConfig

_GIB = 1024**3
NO_CUDA = "No CUDA device on this machine"
_LABELS = {
    "colormnet": "ColorMNet (memory network, for the final render)",
    "propagate": "Propagate (optical flow, no weights, fast on the CPU)",
    "deepexemplar": "Deep Exemplar (Zhang et al. 2019, its own weights)",
    "auto": "Automatic",
    "cuda": "CUDA (GPU)",
    "cpu": "CPU",
    "fp32": "fp32 (full precision)",
    "fp16": "fp16 (CUDA only)",
    "bf16": "bf16 (CUDA, or a CPU with AMX / AVX512-BF16)",
    "blend": "Blend (forward and backward passes fused)",
    "cut": "Cut (each exemplar up to the next)",
    "memory": "Memory (one pass holding every exemplar of the shot)",
}
_MEMORY_FIELDS = (
    ("mem_every", "Memory frame every", 1, 100, "A frame joins the memory every this many frames"),
    ("top_k", "Top-k readout", 1, 1000, "How many memory entries each pixel reads from"),
    ("max_mid_term_frames", "Max working-memory frames", 3, 1000, "Working-memory size that triggers consolidation"),
    ("min_mid_term_frames", "Min working-memory frames", 2, 999, "Working-memory frames kept after consolidation"),
    ("num_prototypes", "Prototypes per consolidation", 1, 10000, "Long-term prototypes made per consolidation"),
    ("max_long_term_elements", "Long-term capacity", 2, 1_000_000, "Long-term entries kept before eviction"),
)


def _combo(parent: QWidget, values: tuple[str, ...], current: str, tooltip: str) -> QComboBox:
    combo = QComboBox(parent)
    for value in values:
        combo.addItem(_LABELS.get(value, value), value)
    combo.setCurrentIndex(values.index(current) if current in values else 0)
    combo.setToolTip(tooltip)
    return combo


class SettingsDialog(QDialog):
    """Edits :class:`~app.model.project.EngineSettings` and the cache size.

    Args:
        settings: The values to start from.
        cache_limit_bytes: The frame cache's size bound.
        engines: The engines this installation has (the library says which once it has loaded).
        parent: Parent widget.
        running: What runs now where it is not the engine chosen (the fallback, a step down); "" when it is.
        devices: The devices this machine has, once the library has said (None: all are offered).
    """

    def __init__(
        self,
        settings: EngineSettings,
        cache_limit_bytes: int,
        engines: Sequence[str] = ENGINES[:1],
        parent: QWidget | None = None,
        *,
        running: str = "",
        devices: Sequence[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setWindowIcon(icon("settings"))
        offered = tuple(engines) + ((settings.engine,) if settings.engine not in engines else ())
        self.engine = _combo(self, offered, settings.engine, "The colorization method")
        self.device = _combo(
            self, DEVICES, settings.device, "Where the model runs; Automatic picks CUDA when available"
        )
        if devices is not None and "cuda" not in devices:
            cuda = cast(QStandardItemModel, self.device.model()).item(DEVICES.index("cuda"))
            cuda.setEnabled(False)
            cuda.setToolTip(NO_CUDA)
            if settings.device == "cuda":
                self.device.setToolTip(f"{NO_CUDA}: the model runs on the CPU")
        self.precision = _combo(
            self, PRECISIONS, settings.precision,
            "Arithmetic precision. Automatic: fp16 on CUDA; on the CPU, bf16 previews where the CPU computes bf16 "
            "natively (AMX / AVX512-BF16) and fp32 exports. bf16 on a CPU without it runs in fp32.",
        )
        self.running = QLabel(running, self)
        self.running.setWordWrap(True)
        self.running.setVisible(bool(running))
        self.transition = _combo(
            self, transitions_for(settings.engine), settings.transition,
            "How two exemplars of one shot meet: Blend colours the frames between them from both, Cut lets each "
            "exemplar govern up to the next, Memory runs the shot once holding all its exemplars (engines with a "
            "memory only)",
        )
        self.engine.currentIndexChanged.connect(self._on_engine_index_changed)
        self.process_size = QSpinBox(self)
        self.process_size.setRange(112, 2160)
        self.process_size.setSingleStep(56)
        self.process_size.setSuffix(" px")
        self.process_size.setValue(settings.process_size)
        self.process_size.setToolTip("The short side of the frames the model sees; colour is upsampled to full size")
        self.cache_size = QDoubleSpinBox(self)
        self.cache_size.setRange(0.1, 1024)
        self.cache_size.setDecimals(1)
        self.cache_size.setSuffix(" GB")
        self.cache_size.setValue(cache_limit_bytes / _GIB)
        self.cache_size.setToolTip("Colorized frames kept on disk per project; the oldest go first")
        basic = QFormLayout()
        basic.addRow("Engine", self.engine)
        basic.addRow("", self.running)
        basic.addRow("Device", self.device)
        basic.addRow("Precision", self.precision)
        basic.addRow("Processing size", self.process_size)
        basic.addRow("Between exemplars", self.transition)
        basic.addRow("Frame cache", self.cache_size)
        self.show_advanced = QCheckBox("Show memory parameters (advanced)", self)
        self.advanced = QGroupBox("Memory", self)
        advanced = QFormLayout(self.advanced)
        self.memory: dict[str, QSpinBox] = {}
        for name, label, low, high, tip in _MEMORY_FIELDS:
            spin = QSpinBox(self.advanced)
            spin.setRange(low, high)
            spin.setValue(int(getattr(settings, name)))
            spin.setToolTip(tip)
            advanced.addRow(label, spin)
            self.memory[name] = spin
        self.advanced.setVisible(False)
        self.show_advanced.toggled.connect(self.advanced.setVisible)
        self.problem = QLabel("", self)
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults,
            self,
        )
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._on_defaults_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(basic)
        layout.addWidget(self.show_advanced)
        layout.addWidget(self.advanced)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self._layout = layout
        self.weights: QWidget | None = None

    def add_weights(self, section: QWidget) -> None:
        """Show the weights section (path, download, locate, licence) above the buttons; it acts at once."""
        section.setParent(self)
        self._layout.insertWidget(self._layout.count() - 2, section)
        self.weights = section

    def engine_settings(self) -> EngineSettings:
        """The settings as edited."""
        values = {name: spin.value() for name, spin in self.memory.items()}
        return replace(
            EngineSettings(),
            engine=str(self.engine.currentData()),
            device=str(self.device.currentData()),
            precision=str(self.precision.currentData()),
            process_size=self.process_size.value(),
            transition=str(self.transition.currentData()),
            **values,
        )

    def cache_limit_bytes(self) -> int:
        """The cache size bound as edited."""
        return int(self.cache_size.value() * _GIB)

    def problem_text(self) -> str:
        """Why the memory parameters are invalid ("" when they are fine)."""
        settings = self.engine_settings()
        try:
            InferenceConfig(**{name: getattr(settings, name) for name in self.memory})
        except ValueError as exc:
            return f"The memory parameters do not fit together: {exc}."
        return ""

    def _on_buttons_accepted(self) -> None:
        problem = self.problem_text()
        self.problem.setText(problem)
        if problem:
            self.show_advanced.setChecked(True)
            return
        self.accept()

    def _on_engine_index_changed(self, index: int) -> None:
        """Offer the transitions the newly chosen engine can run (keeping the one chosen where it still can)."""
        current = self.transition.currentData()
        offered = transitions_for(str(self.engine.currentData()))
        self.transition.clear()
        for value in offered:
            self.transition.addItem(_LABELS.get(value, value), value)
        self.transition.setCurrentIndex(offered.index(current) if current in offered else 0)

    def _on_defaults_clicked(self) -> None:
        defaults = EngineSettings()
        for combo, value in (
            (self.engine, defaults.engine),
            (self.device, defaults.device),
            (self.precision, defaults.precision),
            (self.transition, defaults.transition),
        ):
            combo.setCurrentIndex(combo.findData(value))
        self.process_size.setValue(defaults.process_size)
        for name, spin in self.memory.items():
            spin.setValue(int(getattr(defaults, name)))
