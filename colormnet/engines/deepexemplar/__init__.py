"""Deep Exemplar-based Video Colorization (Zhang et al., CVPR 2019) as a second engine.

Our own implementation from the project's specification, loading the official release files unchanged
(``vgg19_conv.pth``, ``nonlocal_net_iter_76000.pth``, ``colornet_iter_76000.pth``). The session reaches it through
:func:`load_backend`; the CLI's weights commands through :func:`download_weights` and :func:`save_random_weights`.
"""

from __future__ import annotations

from colormnet.engines.deepexemplar.backend import DeepExemplarBackend, load_backend
from colormnet.engines.deepexemplar.engine import DeepExemplarEngine, DeepExemplarOptions
from colormnet.engines.deepexemplar.framing import Framing
from colormnet.engines.deepexemplar.weights import (
    WEIGHT_FILES,
    WEIGHTS_LICENCE,
    default_weights_dir,
    download_weights,
    load_weights,
    save_random_weights,
)

__all__ = [
    "WEIGHTS_LICENCE",
    "WEIGHT_FILES",
    "DeepExemplarBackend",
    "DeepExemplarEngine",
    "DeepExemplarOptions",
    "Framing",
    "default_weights_dir",
    "download_weights",
    "load_backend",
    "load_weights",
    "save_random_weights",
]
