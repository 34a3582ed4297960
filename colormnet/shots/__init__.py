"""Shots: cut detection, shot lists and their files, for the CLI, the session and the app.

Importing this package does not import torch (the learned detector loads it when used) nor Qt.
"""

from colormnet.shots.detect import DEFAULT_DETECTOR, DETECTORS, detect_shots
from colormnet.shots.model import (
    BOUNDARY_KINDS,
    Boundary,
    BoundaryKind,
    DetectionCancelledError,
    Shot,
    ShotListError,
    boundary_frames,
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
    "ShotListError",
    "boundary_frames",
    "detect_shots",
    "shots_from_boundaries",
    "timecode",
    "validate_shots",
]
