"""The demo: the bundled clip as a black-and-white film, its first frame's true colours pinned as a keyframe.

Used by ``colormnet demo OUTPUT`` and ``colormnet-studio --demo``. The engine is whichever is available: ColorMNet
when its weights are installed, otherwise the weights-free ``propagate`` engine.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np

from colormnet.engines import FALLBACK_ENGINE, available_engines
from colormnet.errors import ColorMNetError
from colormnet.session import Exemplar
from colormnet.video import VideoReader

DEMO_CLIP = "realshort.mp4"


def demo_video_path() -> Path:
    """The bundled demo clip (``colormnet/data/demo/realshort.mp4``, package data in every kind of install)."""
    try:
        clip = importlib.resources.files("colormnet") / "data" / "demo" / DEMO_CLIP
    except (TypeError, NotADirectoryError):  # a namespace package behind an editable-install finder (Python 3.11)
        clip = Path(__file__).resolve().parent / "data" / "demo" / DEMO_CLIP
    # The app opens the clip by path, so it must be a file on disk (a wheel unpacked, a PyInstaller folder), not a
    # member of a zip archive.
    if isinstance(clip, Path) and clip.is_file():
        return clip
    raise ColorMNetError(f"The demo clip {DEMO_CLIP} is missing from the installation's colormnet/data/demo folder.")


def demo_exemplar(video: Path | None = None) -> Exemplar:
    """The true colours of the clip's first frame, pinned as a keyframe at frame 0."""
    with VideoReader(video or demo_video_path()) as reader:
        rgb = reader.read_upright(0)  # as seen, like every exemplar
    return Exemplar(frame=0, image=rgb.astype(np.float32) / 255.0, kind="keyframe", name="demo frame 0 (true colours)")


def demo_engine(weights: str | Path | None = None) -> str:
    """``colormnet`` when its weights are installed (or given), else the fallback (``propagate``) when available."""
    from colormnet.engines.colormnet.weights import resolve_weights_path  # torch: not before the command needs it
    if resolve_weights_path(weights).is_file() or FALLBACK_ENGINE not in available_engines():
        return "colormnet"
    return FALLBACK_ENGINE
