"""The session: the one API with which the CLI and the GUI colorize a video.

A session holds a video and its exemplars (colour images pinned to frames) and colorizes any set of frames as a
plain generator of :class:`FrameResult` that stops between frames when a cancel event is set::

    from colormnet.exemplar import load_exemplar_image
    from colormnet.session import Exemplar, Session

    with Session("film.mp4", weights="colormnet.pth") as session:
        session.set_exemplars([Exemplar(frame=0, image=load_exemplar_image("still.png"))])
        for result in session.colorize():
            save(result.index, result.to_uint8())

**Segments.** An exemplar governs the frames from its own frame up to the next exemplar's frame; the frames before
the first exemplar are colorized backwards from it. Each segment starts from fresh memory seeded with its exemplar,
so a segment's frames never depend on the other segments: changing one exemplar changes only its own segment.

**Resolution.** The model runs at the source size up to ``process_size`` on the short side; the predicted chroma is
upsampled and combined with the source's own full-resolution luminance.

**Modules.** :mod:`~colormnet.session.types` (exemplars, settings, results), :mod:`~colormnet.session.core` (the
:class:`Session`: planning, cache keys, exemplar kinds, the colorize loop and its recovery when the GPU runs out of
memory), :mod:`~colormnet.session.run` (one engine run) and :mod:`~colormnet.session.fusion` (two passes fused,
chroma resized). The package does not import torch: the engines do their tensor work themselves (see
:mod:`colormnet.engines.base`).
"""

from colormnet.plan import Run
from colormnet.session.core import Session
from colormnet.session.fusion import CONFIDENCE_FLOOR, fusion_weight
from colormnet.session.types import Exemplar, ExemplarKind, FrameResult, SessionConfig, process_shape

__all__ = [
    "CONFIDENCE_FLOOR",
    "Exemplar",
    "ExemplarKind",
    "FrameResult",
    "Run",
    "Session",
    "SessionConfig",
    "fusion_weight",
    "process_shape",
]
