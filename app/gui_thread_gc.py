"""Python's cyclic garbage collector, run on the GUI thread only.

The automatic collector runs on whichever thread happens to allocate when a threshold is crossed: a worker thread
(the thumbnails', the frame loader's, the session's) can then free Qt objects owned by the GUI thread. Freeing one
disconnects its signals while holding Qt's connection lock and asks for the interpreter lock from inside; the GUI
thread, holding the interpreter lock, meanwhile waits for that Qt lock (a widget shown connects an animation): both
wait for ever. So the app turns the automatic collector off and collects from a timer on the GUI thread, the
generations due by the collector's own thresholds, as the automatic collector would; reference counting frees
everything that is not in a cycle at once, as before.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # how often the GUI thread looks whether a collection is due


class GuiThreadCollector(QObject):
    """While it lives (and until :meth:`stop`), cyclic garbage is collected on the thread that created it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int:
        """Collects the oldest generation whose threshold is crossed, with the younger ones (what was freed)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [gen for gen in range(3) if thresholds[gen] and counts[gen] > thresholds[gen]]
        return gc.collect(max(due)) if due else 0

    def stop(self) -> None:
        """Stops collecting here and gives collecting back to the interpreter (as it was before).

        What is garbage by now is collected first, here: given back with Qt objects still waiting in a cycle, the
        interpreter would free them on whichever thread next crossed a threshold.
        """
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
