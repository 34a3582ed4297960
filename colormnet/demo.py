"""The demo: the bundled clip as a black-and-white film, its first frame's true colours pinned as a keyframe.

Used by ``colormnet demo OUTPUT`` and ``colormnet-studio --demo``. The engine is whichever is available: ColorMNet
when its weights are installed, otherwise the weights-free ``propagate`` engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colormnet.engines import available_engines
from colormnet.errors import ColorMNetError
from colormnet.session import Exemplar
from colormnet.video import VideoReader
from colormnet.weights import resolve_weights_path

DEMO_CLIP = "realshort.mp4"


def demo_video_path() -> Path:
    """The bundled demo clip (``resources/realshort.mp4``)."""
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "resources", here / "resources"):
        if (folder / DEMO_CLIP).is_file():
            return folder / DEMO_CLIP
    raise ColorMNetError(f"The demo clip {DEMO_CLIP} is missing from the installation's resources folder.")


def demo_exemplar(video: Path | None = None) -> Exemplar:
    """The true colours of the clip's first frame, pinned as a keyframe at frame 0."""
    with VideoReader(video or demo_video_path()) as reader:
        rgb = reader.read_upright(0)  # as seen, like every exemplar
    return Exemplar(frame=0, image=rgb.astype(np.float32) / 255.0, kind="keyframe", name="demo frame 0 (true colours)")


def demo_engine(weights: str | Path | None = None) -> str:
    """``colormnet`` when its weights are installed (or given), else ``propagate`` when available."""
    if resolve_weights_path(weights).is_file() or "propagate" not in available_engines():
        return "colormnet"
    return "propagate"
