"""Which frames still have a render from before the last exemplar change, and under which cache key.

The frame cache keys every render by its segment's inputs (see :mod:`app.model.frame_cache`), so an edit that swaps,
moves or re-kinds an exemplar leaves the earlier renders of the frames it affects in the cache under their old keys.
:class:`BeforeRenders` compares each new list of segments with the one before it and remembers, for the frames whose
key changed and that had been rendered, the old key: that is the render "before this change". Only a change of the
exemplars (or of the exemplar a shot takes its colours from by hand) starts a comparison; keys that change for
another reason (the shots were found or edited, the settings changed) end it, since the renders before and after
would differ in more than the exemplar. Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.jobs import SegmentInfo


@dataclass(frozen=True)
class BeforeRun:
    """Frames ``[start, stop)`` whose render from before the change is cached under ``key``."""

    start: int
    stop: int
    key: str


class BeforeRenders:
    """The renders from before the last change of the segments' keys."""

    def __init__(self) -> None:
        self.runs: list[BeforeRun] = []
        self._previous: list[SegmentInfo] = []
        self._ignore_next = False

    def reset(self) -> None:
        """Forget everything (another video opened)."""
        self.runs = []
        self._previous = []
        self._ignore_next = False

    def forget(self) -> None:
        """End the comparison; the renders stay in the cache (the restorer kept the new ones)."""
        self.runs = []

    def ignore_next_change(self) -> None:
        """The next change of keys starts no comparison (it puts back the earlier renders: nothing to compare)."""
        self.runs = []
        self._ignore_next = True

    def update(
        self, segments: list[SegmentInfo], cached: Callable[[str], frozenset[int]], *, exemplars_edited: bool = True
    ) -> bool:
        """Take the session's new segments; whether the comparison changed.

        Args:
            segments: The segments now, sorted by their first frame.
            cached: The frames cached under a key.
            exemplars_edited: Whether the exemplars changed since the segments before (else no comparison starts).
        """
        if any(not s.key for s in segments):
            return False  # keys are not known until the model is loaded: wait for them
        previous, self._previous = self._previous, list(segments)
        if [(s.start, s.stop, s.key) for s in previous] == [(s.start, s.stop, s.key) for s in segments]:
            return False
        runs: list[BeforeRun] = []
        for now in segments:
            for old in previous:
                start, stop = max(now.start, old.start), min(now.stop, old.stop)
                if start >= stop or old.key == now.key:
                    continue
                runs.extend(_before_runs(start, stop, old, cached))
        if self._ignore_next or not exemplars_edited:
            self._ignore_next = False
            runs = []
        changed = runs != self.runs
        self.runs = runs
        return changed

    def key_at(self, frame: int) -> str:
        """The cache key of ``frame``'s render before the change ("" when there is none)."""
        return next((run.key for run in self.runs if run.start <= frame < run.stop), "")

    def describe(self) -> str:
        """The frames that have a render from before the change, for people (``frames 0–17, 30–35``)."""
        merged: list[list[int]] = []
        for run in sorted(self.runs, key=lambda r: r.start):
            if merged and merged[-1][1] == run.start:
                merged[-1][1] = run.stop
            else:
                merged.append([run.start, run.stop])
        spans = [f"{a}" if b - a == 1 else f"{a}–{b - 1}" for a, b in merged]
        return ("frame " if len(spans) == 1 and "–" not in spans[0] else "frames ") + ", ".join(spans)


def _before_runs(start: int, stop: int, old: SegmentInfo, cached: Callable[[str], frozenset[int]]) -> list[BeforeRun]:
    """The runs of ``[start, stop)`` shown from ``old``'s renders (none when none of these frames was rendered): each
    frame from the export precision's render where an export made one, else from the preview's."""
    held = [frozenset(f for f in cached(key) if start <= f < stop) for key in old.keys]
    if not any(held):
        return []
    runs: list[BeforeRun] = []
    for frame in range(start, stop):
        key = next((k for k, frames in zip(old.keys, held, strict=True) if frame in frames), old.key)
        if runs and runs[-1].key == key:
            runs[-1] = BeforeRun(runs[-1].start, frame + 1, key)
        else:
            runs.append(BeforeRun(frame, frame + 1, key))
    return runs
