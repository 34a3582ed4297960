"""Every action of the main window: text, icon, shortcut and a tooltip that names the shortcut."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QUndoStack

from app.icons import icon


@dataclass(frozen=True)
class ActionSpec:
    """How one action looks."""

    name: str  # also the icon name
    text: str
    shortcut: str = ""
    tip: str = ""
    checkable: bool = False
    label: str = ""  # text beside the icon in the toolbar ("" shows the icon alone)


SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("open_video", "&Open Video…", "Ctrl+O", "Open a video file"),
    ActionSpec("open_folder", "Open &Image Sequence…", "Ctrl+Shift+O", "Open a folder of numbered images"),
    ActionSpec("open_project", "Open &Project…", "Ctrl+Alt+O", "Open a .cmnproj project"),
    ActionSpec("close_project", "&Close Project", "Ctrl+W", "Close the film and its project"),
    ActionSpec("save", "&Save Project", "Ctrl+S", "Save the project"),
    ActionSpec("save_as", "Save Project &As…", "Ctrl+Shift+S", "Save the project under a new name"),
    ActionSpec("export", "&Export…", "Ctrl+Shift+E", "Export the colorized film"),
    ActionSpec("settings", "Se&ttings…", "Ctrl+,", "Engine, device, precision and memory settings"),
    ActionSpec("weights", "ColorMNet &Weights…", "",
               "Where the ColorMNet checkpoint is, download it, locate one you have, its licence"),
    ActionSpec("quit", "&Quit", "Ctrl+Q", "Quit ColorMNet Studio"),
    ActionSpec("play", "&Play", "Space", "Play or pause at the source's frame rate", checkable=True),
    ActionSpec("previous_frame", "Previous Frame", "Left", "One frame back"),
    ActionSpec("next_frame", "Next Frame", "Right", "One frame forward"),
    ActionSpec("back_ten", "Back 10 Frames", "Shift+Left", "Ten frames back"),
    ActionSpec("forward_ten", "Forward 10 Frames", "Shift+Right", "Ten frames forward"),
    ActionSpec("first_frame", "First Frame", "Home", "Go to the first frame"),
    ActionSpec("last_frame", "Last Frame", "End", "Go to the last frame"),
    ActionSpec("in_point", "Set &In Point", "I", "Start the In→Out range here (colorize and export)", label="In"),
    ActionSpec("out_point", "Set &Out Point", "O", "End the In→Out range here (colorize and export)", label="Out"),
    ActionSpec("goto_frame", "&Go to Frame…", "Ctrl+G",
               "Type a frame number, a timecode HH:MM:SS:FF or seconds (12.5s)"),
    ActionSpec("shuttle_reverse", "Shuttle &Reverse", "J", "Play backwards; press again for 2x, 4x, 8x"),
    ActionSpec("shuttle_stop", "Shuttle S&top", "K", "Stop playing"),
    ActionSpec("shuttle_forward", "Shuttle &Forward", "L", "Play forwards; press again for 2x, 4x, 8x"),
    ActionSpec("clear_in_out", "Clear In/Out", "Alt+X", "Export the whole film again"),
    ActionSpec("add_exemplar", "&Add Exemplar…", "Ctrl+E", "Pin a colour image at the current frame"),
    ActionSpec("paste_exemplar", "&Paste Exemplar", "Ctrl+Shift+V", "Pin the clipboard's image at the current frame"),
    ActionSpec("pin_frame", "Pin &Colorized Frame", "Ctrl+P", "Pin the colorized current frame as a keyframe exemplar"),
    ActionSpec("replace_exemplar", "&Replace Image…", "Ctrl+R", "Swap the selected exemplar's image"),
    ActionSpec("add_reference", "Add Reference &Image…", "",
               "Give the selected exemplar a further reference image (Deep Exemplar engine only)"),
    ActionSpec("move_exemplar", "&Move to Frame…", "Ctrl+Shift+G", "Move the selected exemplar to another frame"),
    ActionSpec("remove_exemplar", "Remo&ve Exemplar", "Delete", "Remove the selected exemplar"),
    ActionSpec("colorize_segment", "Colorize &Segment", "F5", "Colorize the segment under the playhead",
               label="Colorize Segment"),
    ActionSpec("colorize_shot", "Colorize S&hot", "Alt+F5", "Colorize the shot under the playhead",
               label="Colorize Shot"),
    ActionSpec("colorize_in_out", "Colorize &In→Out", "Ctrl+Shift+F5",
               "Colorize from the In to the Out point (reached from the exemplar of the segment it starts in)",
               label="Colorize In→Out"),
    ActionSpec("colorize_from_here", "Colorize &From Here", "Shift+F5", "Colorize from the playhead to the out point"),
    ActionSpec("colorize_all", "Colorize &All", "Ctrl+F5", "Colorize every frame", label="Colorize All"),
    ActionSpec("add_cut", "&Add Cut at Playhead", "Ctrl+K", "Start a new shot at the current frame"),
    ActionSpec("remove_cut", "&Remove Cut", "Ctrl+Shift+K",
               "Remove the cut that opens the shot under the playhead (it joins the shot before)"),
    ActionSpec("next_shot_without_exemplar", "&Next Shot Without an Exemplar", "N",
               "Go to the next shot that has no exemplar of its own"),
    ActionSpec("take_colours", "&Take Colours From", "Ctrl+L",
               "Choose the exemplar of another shot whose colours the shot under the playhead takes (a shot without "
               "an exemplar of its own), or Automatic"),
    ActionSpec("find_shots", "&Find Shots Again", "", "Forget the edited cuts and detect the shots again"),
    ActionSpec("stop_shots", "&Stop Finding Shots", "", "Stop detecting the shots (the film stays one shot)"),
    ActionSpec("cancel", "&Cancel", "Esc", "Stop colorizing (within one frame)", label="Cancel"),
    ActionSpec("follow", "Follow &Playhead", "F",
               "Move the playhead to each frame as it is colorized; moving the playhead yourself turns it off",
               checkable=True, label="Follow"),
    ActionSpec("side_by_side", "&Side by Side", "1", "Source and colorized frame side by side", checkable=True),
    ActionSpec("wipe", "&Wipe", "2", "One frame with a draggable divider", checkable=True),
    ActionSpec("color_only", "&Colorized Only", "3", "Only the colorized frame", checkable=True),
    ActionSpec("compare_before", "Compare &Before/Now", "B",
               "Show the render from before the last exemplar change against the render now (in Colorized Only: "
               "flip between them)", checkable=True, label="Before/Now"),
    ActionSpec("keep_before", "Keep Befo&re", "Shift+B", "Undo the change and keep the earlier renders",
               label="Keep Before"),
    ActionSpec("keep_now", "Keep &Now", "Shift+N", "Keep the renders after the change", label="Keep Now"),
    ActionSpec("show_exemplar", "Show &Exemplar", "E",
               "Show the exemplar pinned to this frame in the source's place, against the colorized frame",
               checkable=True),
    ActionSpec("fit", "&Fit to Window", "Ctrl+0", "Scale the frame to the window"),
    ActionSpec("actual_size", "&100 %", "Ctrl+1", "One image pixel per screen pixel"),
    ActionSpec("zoom_in", "Zoom &In", "Ctrl+=", "Zoom in"),
    ActionSpec("zoom_out", "Zoom &Out", "Ctrl+-", "Zoom out"),
    ActionSpec("log", "Show &Log File", "", "Show the log file"),
    ActionSpec("about", "&About", "", "Versions and the weights' licence"),
)


def create_actions(parent: QObject) -> dict[str, QAction]:
    """Create every action of :data:`SPECS`, keyed by name."""
    actions: dict[str, QAction] = {}
    for spec in SPECS:
        action = QAction(icon(spec.name), spec.text, parent)
        action.setObjectName(spec.name)
        action.setCheckable(spec.checkable)
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.shortcut:
            sequence = QKeySequence(spec.shortcut)
            action.setShortcut(sequence)
            tip = f"{tip} ({sequence.toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if spec.label:
            action.setIconText(spec.label)
        else:  # a toolbar that shows text beside icons leaves it out for low-priority actions
            action.setPriority(QAction.Priority.LowPriority)
        actions[spec.name] = action
    return actions


def create_history_actions(stack: QUndoStack, parent: QObject) -> dict[str, QAction]:
    """Edit ▸ Undo and Redo for ``stack``, with the standard shortcuts (their text names the edit)."""
    shortcuts = {
        "undo": [QKeySequence(QKeySequence.StandardKey.Undo)],
        "redo": [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
    }
    actions = {"undo": stack.createUndoAction(parent, "&Undo"), "redo": stack.createRedoAction(parent, "&Redo")}
    for name, action in actions.items():
        action.setObjectName(name)
        action.setPriority(QAction.Priority.LowPriority)  # the toolbar shows the icon alone
        action.setIcon(icon(name))
        action.setShortcuts(shortcuts[name])
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in shortcuts[name])
        tip = f"{name.capitalize()} the last edit ({keys})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return actions


MENUS: dict[str, list[str | None]] = {
    "&File": [
        "open_video", "open_folder", "open_project", "close_project", None, "save", "save_as", None, "export", None,
        "settings", "weights", None, "quit",
    ],
    "&Edit": ["undo", "redo"],
    "Exe&mplars": [
        "add_exemplar", "paste_exemplar", "pin_frame", None, "replace_exemplar", "add_reference", "move_exemplar",
        "remove_exemplar",
    ],
    "&Colorize": [
        "colorize_segment", "colorize_shot", "colorize_in_out", "colorize_from_here", "colorize_all", "cancel", None,
        "follow",
    ],
    "&Shots": [
        "add_cut", "remove_cut", None, "next_shot_without_exemplar", "take_colours", None, "find_shots", "stop_shots",
    ],
    "&Playback": [
        "play", "shuttle_reverse", "shuttle_stop", "shuttle_forward", None, "previous_frame", "next_frame",
        "back_ten", "forward_ten", "first_frame", "last_frame", "goto_frame", None, "in_point", "out_point",
        "clear_in_out",
    ],
    "&View": ["side_by_side", "wipe", "color_only", None, "show_exemplar", "compare_before", "keep_before", "keep_now",
              None, "fit", "actual_size", "zoom_in", "zoom_out"],
    "&Help": ["log", "about"],
}
"""The menu bar: action names by menu, None for a separator."""

TOOLBAR: list[str | None] = [
    "open_video", "open_project", "save", "export", None, "undo", "redo", None, "first_frame", "previous_frame",
    "play", "next_frame", "last_frame", None, "in_point", "out_point", None, "colorize_segment", "colorize_shot",
    "colorize_in_out", "colorize_all", "cancel", "follow", None, "side_by_side", "wipe", "color_only", "fit",
    "actual_size", None, "settings",
]
"""The main toolbar (actions with a toolbar label show it beside their icon)."""

LABELS_GIVEN_UP: tuple[tuple[str, ...], ...] = (
    ("follow",), ("cancel",), ("in_point", "out_point"), ("colorize_in_out",), ("colorize_segment",),
    ("colorize_shot",), ("colorize_all",),
)
"""The toolbar's labels in the order they go where the window is too narrow for them all (least needed first; the
labels of a group go together)."""
