"""``propagate``: a colorization engine without learned weights, fast enough for an instant preview on a CPU.

It carries the exemplar's chroma through a segment with dense optical flow on the luminance, checks every step
with a forward-backward consistency test, re-reads the colour from the exemplar wherever the motion chain still
holds, fills occlusions by luminance-texture matching against the exemplar, and refines the chroma with a guided
filter on the luminance (see :mod:`~.propagate.engine`). A reference photo is first brought onto the anchor
frame by a global correspondence step (:mod:`colormnet.engines.propagate.reference`).

Usage::

    from colormnet.session import Session, SessionConfig

    with Session("film.mp4", config=SessionConfig(engine="propagate")) as session:
        ...
"""

from __future__ import annotations

from colormnet.engines.propagate.backend import PropagateBackend, load_backend
from colormnet.engines.propagate.config import PropagateConfig
from colormnet.engines.propagate.engine import PropagationEngine

__all__ = ["PropagateBackend", "PropagateConfig", "PropagationEngine", "load_backend"]
