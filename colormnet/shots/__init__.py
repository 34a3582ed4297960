"""Shots: cut detection, shot lists and their files, for the CLI, the session and the app.

``shots_for_video(path)`` gives a video's shots (cached per user); ``detect_shots`` runs a detector without the
cache; ``load_shot_list`` / ``save_shot_list`` read and write the JSON, CSV and EDL forms (``load_shot_file``: with
the hand-chosen links, which ``check_links`` checks). Importing this package
does not import torch (the learned detector loads it when used) nor Qt.
"""

from colormnet.shots.cache import content_key, shots_for_video
from colormnet.shots.detect import DEFAULT_DETECTOR, DETECTORS, detect_shots
from colormnet.shots.formats import ShotFile, check_links, load_shot_file, load_shot_list, save_shot_list
from colormnet.shots.model import (
    BOUNDARY_KINDS,
    Boundary,
    BoundaryKind,
    DetectionCancelledError,
    Shot,
    ShotListError,
    boundary_frames,
    shot_index,
    shots_from_boundaries,
    timecode,
    validate_shots,
)

__all__ = [
    "BOUNDARY_KINDS",
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Boundary",
    "BoundaryKind",
    "DetectionCancelledError",
    "Shot",
    "ShotFile",
    "ShotListError",
    "boundary_frames",
    "check_links",
    "content_key",
    "detect_shots",
    "load_shot_file",
    "load_shot_list",
    "save_shot_list",
    "shot_index",
    "shots_for_video",
    "shots_from_boundaries",
    "timecode",
    "validate_shots",
]
