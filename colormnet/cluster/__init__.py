"""Rendering a film unit by unit: on a Ray cluster, or locally into a resumable work folder.

A run is split into independent *units* (today one per segment run: each starts from fresh memory seeded with its
exemplar, so no state is shared between units). Each unit is rendered into a lossless chunk (FFV1) inside a run
folder keyed by everything that determines the frames; a manifest records each finished chunk's inputs key and
content hash, so a killed run resumes by reusing every chunk that checks out. The driver then assembles the chunks
in frame order, with the source's audio, into the requested codec through the ordinary atomic writer.

Modules: :mod:`~colormnet.cluster.units` (the plan and the keys), :mod:`~colormnet.cluster.manifest`,
:mod:`~colormnet.cluster.chunks` (chunk files), :mod:`~colormnet.cluster.render` (one unit, anywhere),
:mod:`~colormnet.cluster.ray_backend` (tasks, retries, progress board), :mod:`~colormnet.cluster.driver` (the run).
"""
