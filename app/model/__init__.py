"""The app's Qt-free model: the project and its file, engine settings, autosave snapshots, folders, the frame cache.

Nothing here imports Qt (an import-linter contract in ``pyproject.toml``), so it is tested and used without a
QApplication; the Qt side (``app.controller`` and the objects it owns) wraps it and tells the views what changed.
"""
