"""The exemplar panel: thumbnails with frame numbers, the edit actions and the kind of the selected exemplar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.model.project import KINDS, ExemplarEntry

THUMB_SIZE = QSize(112, 63)
_KIND_HELP = {
    "auto": "Auto: keyframe when the image matches its frame, else reference",
    "keyframe": "Keyframe: the image is this frame in colour",
    "reference": "Reference: the image only shows the colours (another shot, a painting)",
}


def _references_label(entry: ExemplarEntry) -> str:
    """``+2 references`` for an exemplar with further reference images, else empty."""
    count = len(entry.references)
    return f"+{count} reference{'s' if count > 1 else ''}" if count else ""


class ExemplarPanel(QWidget):
    """Lists the project's exemplars.

    Args:
        actions: Edit actions shown as buttons above the list (add, paste, pin, replace, move, remove).
    """

    sig_selected = Signal(int)
    """An exemplar was selected; carries its frame (-1 when the selection is cleared)."""
    sig_activated = Signal(int)
    """An exemplar was double-clicked; carries its frame."""
    sig_kind_changed = Signal(int, str)
    """The user chose a kind for the selected exemplar: its frame and the kind."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbs: dict[tuple[Path, float], QIcon] = {}
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for action in actions:
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.list = QListWidget(self)
        self.list.setIconSize(THUMB_SIZE)
        self.list.setSpacing(2)
        self.list.setUniformItemSizes(True)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.list.itemDoubleClicked.connect(self._on_list_double_clicked)
        self.kind = QComboBox(self)
        for kind in KINDS:
            self.kind.addItem(kind.capitalize(), kind)
            self.kind.setItemData(self.kind.count() - 1, _KIND_HELP[kind], Qt.ItemDataRole.ToolTipRole)
        self.kind.setToolTip("How the selected exemplar is used")
        self.kind.setEnabled(False)
        self.kind.activated.connect(self._on_kind_activated)
        self.empty = QLabel(
            "No exemplars yet.\nAdd one at the current frame (Ctrl+E),\nor drop an image on the viewer.", self
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Use as", self.kind)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addLayout(form)
        self._entries: list[ExemplarEntry] = []

    def selected_frame(self) -> int | None:
        """The frame of the selected exemplar."""
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select_frame(self, frame: int) -> None:
        """Select the exemplar at ``frame`` (if there is one)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == frame:
                self.list.setCurrentRow(row)
                return

    def set_exemplars(self, entries: list[ExemplarEntry]) -> None:
        """Show ``entries``, keeping the selection on the same frame where possible."""
        selected = self.selected_frame()
        self._entries = list(entries)
        self.list.blockSignals(True)
        self.list.clear()
        for entry in entries:
            extra = _references_label(entry)
            text = f"Frame {entry.frame}\n{entry.kind} · {entry.name}" + (f" · {extra}" if extra else "")
            item = QListWidgetItem(self._thumbnail(entry.image), text)
            item.setData(Qt.ItemDataRole.UserRole, entry.frame)
            more = f" ({extra}, matched jointly)" if extra else ""
            item.setToolTip(f"{entry.name}{more}\nframe {entry.frame}, used as {entry.kind}\n"
                            "Double-click to go to the frame")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.empty.setVisible(not entries)
        self.list.setVisible(bool(entries))
        if selected is not None:
            self.select_frame(selected)
        if self.list.currentItem() is None and entries:
            self.list.setCurrentRow(0)
        self._sync_kind()

    def _thumbnail(self, path: Path) -> QIcon:
        try:
            stamp = path.stat().st_mtime
        except OSError:
            stamp = -1.0
        key = (path, stamp)
        if key not in self._thumbs:
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)
            size = reader.size()
            if size.isValid():  # decode at thumbnail size: fast for large JPEGs, whose decoder can scale
                reader.setScaledSize(size.scaled(THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            self._thumbs[key] = QIcon() if image.isNull() else QIcon(QPixmap.fromImage(image))
        return self._thumbs[key]

    def _sync_kind(self) -> None:
        frame = self.selected_frame()
        entry = next((e for e in self._entries if e.frame == frame), None)
        self.kind.setEnabled(entry is not None)
        if entry is not None:
            self.kind.setCurrentIndex(KINDS.index(entry.kind))

    def _on_list_current_changed(self, current: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        self._sync_kind()
        self.sig_selected.emit(int(current.data(Qt.ItemDataRole.UserRole)) if current is not None else -1)

    def _on_list_double_clicked(self, item: QListWidgetItem) -> None:
        self.sig_activated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_kind_activated(self, index: int) -> None:
        frame = self.selected_frame()
        if frame is not None:
            self.sig_kind_changed.emit(frame, str(self.kind.itemData(index)))
