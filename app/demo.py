"""``colormnet-studio --demo``: the bundled clip as a black-and-white film, ready to colorize.

The clip's first frame, in its true colours, is pinned as a keyframe exemplar at frame 0, so one click on
"Colorize all" shows what the engine does. ColorMNet runs when its checkpoint is installed; otherwise the
weights-free engine stands in (the controller's fallback, which says so and still offers the download). Nothing is
colorized until the user asks.

The library's demo module imports torch, so building the demo costs the torch import on the GUI thread (once, at
start-up, only with ``--demo``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from app.model.engine_settings import CHECKPOINT_ENGINE, EngineSettings
from app.model.png_codec import encode_png
from app.model.project import Project

if TYPE_CHECKING:
    from app.controller import Controller
    from app.model.paths import AppPaths

logger = logging.getLogger(__name__)


def build_demo_project(paths: AppPaths, settings: EngineSettings) -> Project:
    """A new unsaved project on the bundled clip with its first frame's true colours pinned as a keyframe.

    The exemplar image is written as a PNG into the project's scratch folder, as an image pinned from the clipboard
    would be; the project starts without unsaved changes (the user has made none yet).

    Args:
        paths: The app's folders (the project's files go under ``paths.scratch``).
        settings: The project's engine settings.

    Raises:
        ColorMNetError: The bundled clip is missing or cannot be read.
    """
    from colormnet.demo import demo_exemplar, demo_video_path

    video = demo_video_path()
    exemplar = demo_exemplar(video)
    project = Project.scratch(paths.scratch)
    project.settings = settings
    project.video = video.resolve()
    image = project.new_image_path(".png")
    rgb = np.clip(np.rint(np.asarray(exemplar.image) * 255.0), 0, 255).astype(np.uint8)  # H x W x 3
    image.write_bytes(encode_png(rgb))
    project.add_exemplar(exemplar.frame, image, kind=exemplar.kind, name=exemplar.name, copy=False)
    project.dirty = False
    return project


def open_demo(controller: Controller) -> str:
    """Make the demo the controller's project, on whichever engine this installation can run now.

    Args:
        controller: The application controller (its weights path decides the engine).

    Returns:
        The engine the demo colorizes with: ``colormnet`` with a checkpoint, else the weights-free ``propagate``.

    Raises:
        ColorMNetError: The bundled clip is missing or cannot be read.
    """
    from colormnet.demo import demo_engine
    from colormnet.engines.colormnet.weights import resolve_weights_path

    weights = controller.engine.weights_path()
    engine = demo_engine(weights)
    settings = replace(controller.settings.engine_settings(), engine=CHECKPOINT_ENGINE)
    project = build_demo_project(controller.paths, settings)
    controller.files.adopt_project(project)  # the demo becomes the project once its clip has opened
    if engine != CHECKPOINT_ENGINE:
        reason = f"No ColorMNet weights at {resolve_weights_path(weights)}; download them or locate the file."
        controller.engine.use_fallback_engine(reason)
    logger.info("demo opened on %s with the %s engine", project.video, engine)
    return engine
