"""The program's icons: one table from action names to qtawesome glyphs, drawn in the theme's neutral grays."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtGui import QIcon

_NORMAL = "#d4d4d4"
_DISABLED = "#6e6e6e"

ICONS: dict[str, str] = {
    "open_video": "mdi6.file-video",
    "open_folder": "mdi6.folder-multiple-image",
    "open_project": "mdi6.folder-open",
    "close_project": "mdi6.close-box-outline",
    "recent": "mdi6.history",
    "save": "mdi6.content-save",
    "save_as": "mdi6.content-save-edit",
    "export": "mdi6.export",
    "quit": "mdi6.exit-to-app",
    "settings": "mdi6.cog",
    "play": "mdi6.play",
    "pause": "mdi6.pause",
    "next_frame": "mdi6.step-forward",
    "previous_frame": "mdi6.step-backward",
    "forward_ten": "mdi6.chevron-double-right",
    "back_ten": "mdi6.chevron-double-left",
    "first_frame": "mdi6.page-first",
    "last_frame": "mdi6.page-last",
    "in_point": "mdi6.alpha-i-box-outline",
    "out_point": "mdi6.alpha-o-box-outline",
    "clear_in_out": "mdi6.close",
    "add_exemplar": "mdi6.image-plus",
    "paste_exemplar": "mdi6.clipboard-arrow-down",
    "pin_frame": "mdi6.pin",
    "replace_exemplar": "mdi6.image-edit",
    "add_reference": "mdi6.image-multiple",
    "move_exemplar": "mdi6.image-move",
    "remove_exemplar": "mdi6.delete",
    "colorize_segment": "mdi6.palette",
    "colorize_from_here": "mdi6.motion-play",
    "colorize_all": "mdi6.palette-swatch",
    "colorize_in_out": "mdi6.ray-start-end",
    "colorize_shot": "mdi6.palette-outline",
    "add_cut": "mdi6.content-cut",
    "remove_cut": "mdi6.vector-combine",
    "next_shot_without_exemplar": "mdi6.debug-step-over",
    "take_colours": "mdi6.link-variant",
    "find_shots": "mdi6.movie-search",
    "stop_shots": "mdi6.stop",
    "goto_frame": "mdi6.numeric",
    "shuttle_reverse": "mdi6.rewind",
    "shuttle_stop": "mdi6.stop-circle-outline",
    "shuttle_forward": "mdi6.fast-forward",
    "undo": "mdi6.undo",
    "redo": "mdi6.redo",
    "cancel": "mdi6.stop",
    "follow": "mdi6.crosshairs-gps",
    "side_by_side": "mdi6.view-split-vertical",
    "wipe": "mdi6.compare",
    "color_only": "mdi6.image",
    "compare_before": "mdi6.compare-horizontal",
    "keep_before": "mdi6.history",
    "keep_now": "mdi6.check",
    "show_exemplar": "mdi6.image-filter-center-focus",
    "move_up": "mdi6.arrow-up",
    "move_down": "mdi6.arrow-down",
    "fit": "mdi6.fit-to-screen",
    "actual_size": "mdi6.numeric-1-box",
    "zoom_in": "mdi6.magnify-plus",
    "zoom_out": "mdi6.magnify-minus",
    "log": "mdi6.text-box",
    "about": "mdi6.information",
    "download": "mdi6.download",
    "weights": "mdi6.download-box",
    "locate": "mdi6.file-find",
    "help": "mdi6.help-circle",
    "toolbar_overflow": "mdi6.chevron-double-right",
    "toolbar_overflow_vertical": "mdi6.chevron-double-down",
    "dock_float": "mdi6.window-restore",
    "dock_close": "mdi6.close",
    "close": "mdi6.close",  # a dialog's Close button
}


def icon(name: str) -> QIcon:
    """The icon for an action name of :data:`ICONS`.

    Raises:
        KeyError: The name is not in the table (a programming error).
    """
    return qta.icon(ICONS[name], color=_NORMAL, color_disabled=_DISABLED)
