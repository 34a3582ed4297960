"""The exemplar panel: thumbnails with frame numbers, the edit actions, the kind of the selected exemplar and its
further reference images.

Names too long for the panel are shortened in the middle (the extension stays; the tooltip has the whole name) and
shortened again when the panel is resized; where "Frame 250 · auto → keyframe" does not fit beside the thumbnail, the
kind goes on a line of its own, so every row fits the panel's width and the list never scrolls sideways. An
exemplar set to ``auto`` shows what the session chose for it ("auto → keyframe"). Further references (and the "+N
references" badge) are shown only while the engine uses them; they can be removed and put in another order there.
Thumbnails are decoded off the GUI thread (:mod:`app.image_loader`) and appear when ready.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from app.image_loader import ImageLoader
from app.model.project import KINDS, ExemplarEntry
from app.widgets.dock_share import DockShare

THUMB_SIZE = QSize(112, 63)
REFERENCE_SIZE = QSize(56, 32)
_TEXT_MARGIN = 28  # pixels of a row that are neither icon nor text (spacing, frame, scroll bar slack)
_KIND_HELP = {
    "auto": "Auto: keyframe when the image matches its frame, else reference",
    "keyframe": "Keyframe: the image is this frame in colour",
    "reference": "Reference: the image only shows the colours (another shot, a painting)",
}


def kind_label(entry: ExemplarEntry, resolved: dict[int, tuple[str, float]]) -> str:
    """The exemplar's kind as the panel shows it: ``auto → keyframe`` once the session has chosen."""
    chosen = resolved.get(entry.frame) if entry.kind == "auto" else None
    return f"auto → {chosen[0]}" if chosen is not None else entry.kind


def dock_exemplar_panel(panel: ExemplarPanel, window: QMainWindow) -> QDockWidget:
    """Put ``panel`` in a dock on the right of ``window``; the dock keeps its share of the window's width when the
    window is resized (:class:`~app.widgets.dock_share.DockShare`), so that a larger window shows longer names."""
    dock = QDockWidget("Exemplars", window)
    dock.setObjectName("exemplar_dock")  # the key of its place and width in the saved window state
    dock.setWidget(panel)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    )
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    DockShare(window, dock)
    return dock


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
    sig_reference_removed = Signal(int, int)
    """The user removed a further reference: the exemplar's frame and the reference's index."""
    sig_reference_moved = Signal(int, int, int)
    """The user moved a further reference: the exemplar's frame, the reference's index and its new index."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icons = ImageLoader(self)
        self.icons.sig_ready.connect(self._show_icons)
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
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows are fitted to the width
        self.list.viewport().installEventFilter(self)  # names are shortened to the width the list has
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
        self.references = QListWidget(self)
        self.references.setObjectName("reference_list")
        self.references.setIconSize(REFERENCE_SIZE)
        self.references.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.references.setMaximumHeight(3 * (REFERENCE_SIZE.height() + 6))
        self.references.currentRowChanged.connect(lambda row: self._sync_reference_buttons())
        self.reference_buttons: dict[str, QToolButton] = {}
        reference_row = QHBoxLayout()
        reference_row.addWidget(QLabel("Further references", self), 1)
        for name, glyph, tip in (("up", "move_up", "Match this reference earlier"),
                                 ("down", "move_down", "Match this reference later"),
                                 ("remove", "remove_exemplar", "Remove this reference image")):
            button = QToolButton(self)
            button.setIcon(icon(glyph))
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(lambda checked=False, n=name: self._on_reference_button(n))
            reference_row.addWidget(button)
            self.reference_buttons[name] = button
        self.reference_box = QWidget(self)
        box = QVBoxLayout(self.reference_box)
        box.setContentsMargins(0, 4, 0, 0)
        box.addLayout(reference_row)
        box.addWidget(self.references)
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)  # in the list's place: "Use as" stays at the foot of the panel
        layout.addLayout(form)
        layout.addWidget(self.reference_box)
        self._entries: list[ExemplarEntry] = []
        self._resolved: dict[int, tuple[str, float]] = {}
        self._takes_references = False
        self.reference_box.hide()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """As wide with no exemplars as with some: the dock does not widen (and the viewer shift) as the first
        exemplar comes, nor narrow as the last goes."""
        hint = super().sizeHint()
        margins = self.contentsMargins() + self._layout.contentsMargins()
        listed = self.list.sizeHint().width() + margins.left() + margins.right()
        return QSize(max(hint.width(), listed), hint.height())

    def selected_frame(self) -> int | None:
        """The frame of the selected exemplar."""
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def frames(self) -> set[int]:
        """The frames of the exemplars shown."""
        return {entry.frame for entry in self._entries}

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
            item = QListWidgetItem(self.icons.icon(entry.image, THUMB_SIZE), "")
            item.setData(Qt.ItemDataRole.UserRole, entry.frame)
            self.list.addItem(item)
        self._relabel()
        self.list.blockSignals(False)
        self.empty.setVisible(not entries)
        self.list.setVisible(bool(entries))
        if selected is not None:
            self.select_frame(selected)
        if self.list.currentItem() is None and entries:
            self.list.setCurrentRow(0)
        self._sync_kind()

    def set_takes_references(self, takes: bool) -> None:
        """Whether the engine uses further references (else they and their badge are not shown)."""
        if takes != self._takes_references:
            self._takes_references = takes
            self._relabel()
            self._sync_kind()

    def set_resolved_kinds(self, kinds: dict[int, tuple[str, float]]) -> None:
        """What the session chose for the ``auto`` exemplars: frame -> (kind, luminance similarity)."""
        self._resolved = dict(kinds)
        self._relabel()
        self._sync_kind()

    def item_lines(self, row: int) -> list[str]:
        """The lines of text shown for the exemplar in ``row``."""
        return self.list.item(row).text().split("\n")

    def _relabel(self) -> None:
        """Write each row's text, names shortened in the middle to the width the list has now."""
        metrics = self.list.fontMetrics()
        width = max(40, self.list.viewport().width() - THUMB_SIZE.width() - _TEXT_MARGIN)
        heads = [(f"Frame {entry.frame}", kind_label(entry, self._resolved)) for entry in self._entries]
        # one layout for every row (the list sizes all rows alike): the kind on its own line where one row needs it
        apart = any(metrics.horizontalAdvance(f"{frame} · {kind}") > width for frame, kind in heads)
        for row, (entry, (frame, kind)) in enumerate(zip(self._entries, heads, strict=True)):
            item = self.list.item(row)
            if item is None:
                continue
            extra = _references_label(entry) if self._takes_references else ""
            name = metrics.elidedText(entry.name, Qt.TextElideMode.ElideMiddle, width)
            head = f"{frame}\n{kind}" if apart else f"{frame} · {kind}"
            item.setText(f"{head}\n{name}" + (f"\n{extra}" if extra else ""))
            more = f" ({extra}, matched jointly)" if extra else ""
            score = self._resolved.get(entry.frame, ("", float("nan")))[1] if entry.kind == "auto" else float("nan")
            why = f" (luminance similarity {score:.2f})" if score == score else ""
            item.setToolTip(f"{entry.name}{more}\nframe {entry.frame}, used as {kind}{why}\n"
                            "Double-click to go to the frame")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            self._relabel()
        return super().eventFilter(watched, event)

    def _show_icons(self) -> None:
        """Thumbnails decoded since the rows were made: put them in."""
        for row, entry in enumerate(self._entries[: self.list.count()]):
            self.list.item(row).setIcon(self.icons.icon(entry.image, THUMB_SIZE))
        selected = next((e for e in self._entries if e.frame == self.selected_frame()), None)
        if selected is not None:
            for row, path in enumerate(selected.references[: self.references.count()]):
                self.references.item(row).setIcon(self.icons.icon(path, REFERENCE_SIZE))

    def _sync_kind(self) -> None:
        frame = self.selected_frame()
        entry = next((e for e in self._entries if e.frame == frame), None)
        self.kind.setEnabled(entry is not None)
        chosen = self._resolved.get(frame) if frame is not None else None
        self.kind.setItemText(0, f"Auto → {chosen[0]}" if chosen is not None else "Auto")
        if entry is not None:
            self.kind.setCurrentIndex(KINDS.index(entry.kind))
        self._sync_references(entry)

    def _sync_references(self, entry: ExemplarEntry | None) -> None:
        row = self.references.currentRow()
        self.references.clear()
        shown = entry is not None and self._takes_references and bool(entry.references)
        self.reference_box.setVisible(shown)
        if entry is not None and shown:
            for k, path in enumerate(entry.references):
                item = QListWidgetItem(self.icons.icon(path, REFERENCE_SIZE), f"{k + 1}. {path.name}")
                item.setToolTip(str(path))
                self.references.addItem(item)
            self.references.setCurrentRow(min(max(0, row), self.references.count() - 1))
        self._sync_reference_buttons()

    def _sync_reference_buttons(self) -> None:
        row, count = self.references.currentRow(), self.references.count()
        self.reference_buttons["up"].setEnabled(row > 0)
        self.reference_buttons["down"].setEnabled(0 <= row < count - 1)
        self.reference_buttons["remove"].setEnabled(0 <= row < count)

    def _on_reference_button(self, name: str) -> None:
        frame, row = self.selected_frame(), self.references.currentRow()
        if frame is None or row < 0:
            return
        if name == "remove":
            self.sig_reference_removed.emit(frame, row)
        else:
            self.sig_reference_moved.emit(frame, row, row - 1 if name == "up" else row + 1)
            self.references.setCurrentRow(row - 1 if name == "up" else row + 1)

    def _on_list_current_changed(self, current: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        self._sync_kind()
        self.sig_selected.emit(int(current.data(Qt.ItemDataRole.UserRole)) if current is not None else -1)

    def _on_list_double_clicked(self, item: QListWidgetItem) -> None:
        self.sig_activated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_kind_activated(self, index: int) -> None:
        frame = self.selected_frame()
        if frame is not None:
            self.sig_kind_changed.emit(frame, str(self.kind.itemData(index)))
