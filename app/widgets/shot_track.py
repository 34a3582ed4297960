"""Shots on the timeline: the cuts across the track, a strip under it coloured by each shot's state, the shot
detection's progress in the status bar, and the Shots menu's actions wired to the controller.

The strip says where each shot's colours come from: green for its own exemplar(s), amber for one borrowed from
another shot (a thin line joins it to the exemplar it borrows), red for none. A dissolve or fade is shaded over its
frames. Right-clicking a shot without an exemplar of its own offers "Take Colours From", the exemplars of the other
shots and "Automatic": a link chosen by hand, undoable and kept by the project. Shots ▸ Take Colours From (Ctrl+L
opens it at the playhead) offers the same choices for the shot under the playhead, from the keyboard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QProgressBar, QStatusBar, QToolButton, QWidget

from app.model.shot_list import ShotState

if TYPE_CHECKING:
    from app.controller import Controller
    from app.widgets.timeline import Timeline

STRIP_HEIGHT = 6
"""Height of the shot-state strip in pixels."""
CUT = QColor(255, 196, 60)
"""Colour of a cut across the track."""
STATE_COLOURS = {"own": QColor(90, 180, 100), "borrowed": QColor(220, 160, 50), "none": QColor(210, 70, 60)}
"""Colour of a shot in the strip by state."""
_TRANSITION = QColor(255, 196, 60, 60)
HAS_OWN_EXEMPLAR = "Only a shot without an exemplar of its own takes its colours from another shot's."
"""Why a shot offers no exemplar to take its colours from."""


def state_of(shot: ShotState) -> str:
    """own, borrowed or none."""
    if shot.own:
        return "own"
    return "borrowed" if shot.borrowed is not None else "none"


def paint_shots(
    painter: QPainter, shots: Sequence[ShotState], x_of: Callable[[float], float], track: QRectF, strip_top: float
) -> None:
    """Draw ``shots``: cuts and transitions over ``track``, the state strip at ``strip_top``.

    Args:
        painter: The timeline's painter.
        shots: The shots with their states.
        x_of: The timeline's horizontal position of a frame's left edge.
        track: The timeline's track rectangle.
        strip_top: Top of the state strip.
    """
    for shot in shots:
        x0, x1 = x_of(shot.start), x_of(shot.stop)
        painter.fillRect(QRectF(x0 + 1, strip_top, max(1.0, x1 - x0 - 2), STRIP_HEIGHT), STATE_COLOURS[state_of(shot)])
        if shot.borrowed is not None:  # a thin line under the strip towards the exemplar it borrows
            painter.setPen(QPen(STATE_COLOURS["borrowed"], 1, Qt.PenStyle.DotLine))
            y = strip_top + STRIP_HEIGHT + 2
            middle = (x0 + x1) / 2
            target = x_of(shot.borrowed + 0.5)
            painter.drawLine(QPointF(middle, y), QPointF(target, y))
            painter.drawLine(QPointF(target, y - 2), QPointF(target, y + 2))
        if shot.transition is not None:
            a, b = shot.transition
            painter.fillRect(QRectF(x_of(a), track.top(), x_of(b) - x_of(a), track.height()), _TRANSITION)
    painter.setPen(QPen(CUT, 2))
    for shot in shots[1:]:
        x = x_of(shot.start)
        painter.drawLine(QPointF(x, track.top() - 3), QPointF(x, strip_top + STRIP_HEIGHT))


def shot_at(shots: Sequence[ShotState], frame: int) -> int | None:
    """Index of the shot holding ``frame`` (None when no shot does)."""
    return next((k for k, s in enumerate(shots) if s.start <= frame < s.stop), None)


class ShotDetectionIndicator(QWidget):
    """Status-bar widget: "Finding shots…", a progress bar and a button that stops it.

    Args:
        stop: The action that cancels the detection.
        parent: Parent widget.
    """

    def __init__(self, stop: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Finding shots…", self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.button = QToolButton(self)
        self.button.setDefaultAction(stop)
        self.button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.button):
            layout.addWidget(widget)
        self.setVisible(False)

    def show_progress(self, done: int, total: int) -> None:
        """Frames read of ``total``; ``done`` below 0 hides the indicator (detection ended)."""
        if done < 0:
            self.setVisible(False)
            return
        self.setVisible(True)
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.label.setText(f"Finding shots… {100 * done // total} %")
        else:
            self.bar.setRange(0, 0)
            self.label.setText("Finding shots…")


class ShotsPresenter(QObject):
    """Wires the shots of the controller to the window: timeline, Shots menu actions and status-bar indicator.

    Args:
        controller: The application controller.
        timeline: The window's timeline.
        actions: The window's actions by name.
        status_bar: Where the detection's progress shows.
    """

    def __init__(
        self, controller: Controller, timeline: Timeline, actions: dict[str, QAction], status_bar: QStatusBar
    ) -> None:
        super().__init__(timeline)
        self.controller, self.timeline, self.actions = controller, timeline, actions
        self.indicator = ShotDetectionIndicator(actions["stop_shots"], status_bar)
        status_bar.insertPermanentWidget(0, self.indicator)
        c = controller
        for name, slot in {
            "add_cut": c.shot_edits.add_cut_at_playhead,
            "remove_cut": c.shot_edits.remove_cut_at_playhead,
            "next_shot_without_exemplar": c.shot_edits.go_to_next_shot_without_exemplar,
            "colorize_shot": c.runs.colorize_shot,
            "find_shots": c.shot_edits.find_shots_again,
            "stop_shots": c.shot_edits.cancel_shot_detection,
        }.items():
            actions[name].triggered.connect(slot)
        c.shot_edits.sig_shots_changed.connect(self.refresh)
        c.sig_project_changed.connect(self.refresh)
        c.shot_edits.sig_shot_progress.connect(self._on_progress)
        self.menu: QMenu | None = None  # the shot menu last shown (kept for tests and to close it)
        timeline.bar.sig_shot_menu.connect(self.show_shot_menu)
        self.take_menu = QMenu(timeline)  # Shots ▸ Take Colours From: for the shot under the playhead
        self.take_menu.setObjectName("take_colours_menu")
        self.take_menu.aboutToShow.connect(lambda: self.fill_take_colours(self.take_menu, c.current_frame))
        actions["take_colours"].setMenu(self.take_menu)
        actions["take_colours"].triggered.connect(self.show_take_colours_at_playhead)
        for signal in (c.runs.sig_run_started, c.runs.sig_run_finished, c.sig_video_opened):
            signal.connect(lambda *args: self.update_enabled())
        c.sig_current_frame_changed.connect(lambda frame: self._update_take_colours())  # the shot under the playhead
        self.refresh()

    def refresh(self) -> None:
        """Show the controller's shots and their states."""
        self.timeline.set_shots(self.controller.shot_edits.shot_states())
        self.update_enabled()

    def update_enabled(self) -> None:
        """Enable the shot actions that can act now."""
        c, a = self.controller, self.actions
        has_shots = self._has_shots()
        for name in ("add_cut", "remove_cut", "next_shot_without_exemplar"):
            a[name].setEnabled(has_shots)
        a["colorize_shot"].setEnabled(c.frame_count > 0 and not c.runs.busy and bool(c.project.exemplars))
        a["find_shots"].setEnabled(c.frame_count > 0 and not c.shot_edits.detection.running)
        a["stop_shots"].setEnabled(c.shot_edits.detection.running)
        self._update_take_colours()

    def _update_take_colours(self) -> None:
        """Take Colours From acts on the shot under the playhead: enabled where that shot may borrow."""
        c = self.controller
        self.actions["take_colours"].setEnabled(self._has_shots() and bool(c.shot_edits.link_choices(c.current_frame)))

    def _has_shots(self) -> bool:
        return self.controller.frame_count > 0 and bool(self.controller.shot_edits.shots)

    def _on_progress(self, done: int, total: int) -> None:
        self.indicator.show_progress(done, total)
        self.update_enabled()

    def build_shot_menu(self, frame: int, parent: QWidget | None = None) -> QMenu:
        """The context menu of the shot holding ``frame``: where its colours come from, chosen by hand."""
        menu = QMenu(parent)
        menu.setObjectName("shot_menu")
        take = menu.addMenu("Take Colours From…")
        take.setObjectName("take_colours_menu")
        self.fill_take_colours(take, frame)
        return menu

    def fill_take_colours(self, take: QMenu, frame: int) -> None:
        """Fill ``take`` with the choices of the shot holding ``frame``: "Automatic" and the exemplars of the other
        shots, the one in use checked, each an undoable edit (``take`` is disabled when the shot has its own)."""
        edits = self.controller.shot_edits
        take.clear()
        for old in take.findChildren(QActionGroup):
            old.deleteLater()
        choices = edits.link_choices(frame)
        take.setEnabled(bool(choices))
        take.setToolTip("" if choices else HAS_OWN_EXEMPLAR)
        linked = edits.link_of(frame)
        group = QActionGroup(take)
        named = ((f, f"Frame {f} – {name.replace('&', '&&')}") for f, name in choices)  # & is no mnemonic here
        for option, text in [(None, "&Automatic"), *named]:
            action = take.addAction(text)
            action.setObjectName("colours_automatic" if option is None else f"colours_from_{option}")
            action.setCheckable(True)
            action.setChecked(option == linked)
            action.triggered.connect(lambda *_, option=option: edits.link_shot(frame, option))
            group.addAction(action)
            if option is None:
                take.addSeparator()

    def show_take_colours_at_playhead(self) -> None:
        """Open Take Colours From (for the shot under the playhead) on the timeline, under the playhead."""
        bar = self.timeline.bar
        x = round(bar.x_of(self.controller.current_frame + 0.5))
        self.take_menu.popup(bar.mapToGlobal(QPoint(x, bar.height())))  # filled as it shows
        chosen = [a for a in self.take_menu.actions() if a.isChecked()]
        if chosen:  # the keys start from the choice in use: Up/Down pick another, Enter takes it
            self.take_menu.setActiveAction(chosen[0])

    def show_shot_menu(self, frame: int, where: QPoint) -> None:
        """Show the context menu of the shot holding ``frame`` at ``where`` (global coordinates)."""
        if not self.controller.shot_edits.shots:
            return
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = self.build_shot_menu(frame)
        self.menu.popup(where)
