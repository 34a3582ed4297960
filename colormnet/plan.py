"""Which engine passes colorize which frames: shots, exemplars and the transitions between them.

Pure planning (no torch, no decoding): the session turns a plan into engine runs.

**Shots bound the memory.** A pass never crosses a shot boundary (except into the frames of a gradual transition,
which belong to both shots). Within a shot its own exemplars govern it; a shot without one borrows an exemplar of
another shot, used as a ``reference`` from the shot's first frame.

**Passes.** A pass is one engine run from fresh memory, seeded with one exemplar at its anchor frame, going forward
or backward. Every frame is the fusion of one or two passes:

* before a shot's first exemplar: a backward pass from it;
* after a shot's last exemplar: a forward pass from it;
* between two exemplars ``a < b`` of one shot: ``cut`` runs forward from ``a`` only (the behaviour of a video
  without shots); ``blend`` fuses a forward pass from ``a`` with a backward pass from ``b``, the latter's weight
  rising smoothly from 0 at ``a`` (so ``a`` stays exactly what its exemplar gives) towards 1 at ``b``; ``memory``
  runs one pass over the shot from its first exemplar with every other exemplar of the shot held too (the
  engine's memory, or joint references);
* inside a dissolve or fade ``[t0, t1)``: the previous shot's pass cross-faded into the next shot's.

**Segments** are the units of caching and of "colorize this segment": maximal frame ranges of one shot whose
frames depend on the same exemplars. Changing an exemplar changes only the segments that name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Transition = Literal["blend", "memory", "cut"]
TRANSITIONS: tuple[Transition, ...] = ("blend", "memory", "cut")


class ShotLike(Protocol):
    """A shot as the planner reads it: frames ``[start, stop)``, opened by the transition ``[t0, t1)`` if any."""

    @property
    def start(self) -> int: ...

    @property
    def stop(self) -> int: ...

    @property
    def transition(self) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class ShotSpan:
    """A shot, normalised for planning: ``[start, stop)`` and its opening transition ``[t0, t1)`` (or None)."""

    start: int
    stop: int
    transition: tuple[int, int] | None = None


@dataclass(frozen=True)
class Pass:
    """One engine run from fresh memory.

    Attributes:
        exemplar: index of its exemplar (in frame order).
        anchor: the frame it starts from (the exemplar's frame, or a shot's first frame when borrowed).
        forward: direction.
        borrowed: the exemplar belongs to another shot and is used as a ``reference``.
        extras: the further exemplars held from the start (``memory`` transition), by index.
    """

    exemplar: int
    anchor: int
    forward: bool
    borrowed: bool = False
    extras: tuple[int, ...] = ()


@dataclass(frozen=True)
class Piece:
    """Frames ``[start, stop)`` computed alike: one pass, or two fused along a ramp.

    With two passes, ``passes[0]`` is the earlier (forward) one and the weight of ``passes[1]`` at frame ``f`` is
    ``ramp_weight(f)``.
    """

    start: int
    stop: int
    passes: tuple[Pass, ...]
    ramp: tuple[int, int] | None = None  # (lo, hi): the second pass's weight goes from 0 at lo to 1 at hi
    smooth: bool = True  # smoothstep (between exemplars) or linear (a dissolve)

    def weight(self, frame: int) -> float:
        """The second pass's share of ``frame`` (0 with a single pass)."""
        if len(self.passes) < 2 or self.ramp is None:
            return 0.0
        lo, hi = self.ramp
        if self.smooth:
            t = (frame - lo) / (hi - lo)
            return t * t * (3.0 - 2.0 * t)
        return (frame - lo + 0.5) / (hi - lo)


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, stop)`` of one shot that depend on the same exemplars: a unit of caching.

    Attributes:
        exemplar: the exemplar that governs it (its first pass's).
        start, stop: its frames.
        anchor: that exemplar's pass anchor.
        shot: index of its shot.
        partner: the second exemplar blended in (between two exemplars), or None.
        borrowed: its exemplar is borrowed from another shot.
    """

    exemplar: int
    start: int
    stop: int
    anchor: int
    shot: int = 0
    partner: int | None = None
    borrowed: bool = False
    pieces: tuple[Piece, ...] = field(default=(), repr=False, compare=False)

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    def passes(self) -> list[Pass]:
        """Every pass its frames depend on, in a stable order."""
        seen: list[Pass] = []
        for piece in self.pieces:
            seen.extend(p for p in piece.passes if p not in seen)
        return seen


def normalise_shots(shots: Sequence[ShotLike] | None, frame_count: int) -> list[ShotSpan]:
    """Checks that ``shots`` tile ``[0, frame_count)`` and returns them as :class:`ShotSpan` (one shot when None).

    Raises:
        ValueError: a gap, an overlap, or a transition that does not straddle its shot's first frame.
    """
    if not shots:
        return [ShotSpan(0, frame_count)]
    spans = [ShotSpan(int(s.start), int(s.stop), _transition(s)) for s in shots]
    spans.sort(key=lambda s: s.start)
    expected = 0
    for i, span in enumerate(spans):
        if span.start != expected or span.stop <= span.start:
            raise ValueError(f"The shot list does not tile the video: shot {i + 1} covers frames "
                             f"{span.start}-{span.stop - 1}, expected a shot starting at frame {expected}.")
        expected = span.stop
        if span.transition is not None:
            t0, t1 = span.transition
            prev_start = spans[i - 1].start if i else 0
            if i == 0 or not prev_start < t0 <= span.start < t1 <= span.stop:
                raise ValueError(f"The transition {t0}-{t1 - 1} does not straddle the start of shot {i + 1} "
                                 f"(frame {span.start}).")
    if expected != frame_count:
        raise ValueError(f"The shot list covers frames 0-{expected - 1}, but the video has {frame_count} frames.")
    return spans


def _transition(shot: ShotLike) -> tuple[int, int] | None:
    transition = getattr(shot, "transition", None)
    if transition is None:
        return None
    t0, t1 = transition
    return int(t0), int(t1)


def plan_segments(
    shots: Sequence[ShotSpan],
    exemplar_frames: Sequence[int],
    *,
    transition: Transition = "blend",
    donors: dict[int, int] | None = None,
) -> list[Segment]:
    """The segments of a video, in frame order.

    Args:
        shots: the shots (see :func:`normalise_shots`).
        exemplar_frames: the frames the exemplars are pinned to, ascending.
        transition: how consecutive exemplars of one shot meet (``blend``, ``memory`` or ``cut``).
        donors: for shots without an exemplar of their own, shot index -> index of the exemplar it borrows.
    """
    donors = donors or {}
    pieces_by_shot: list[list[tuple[Piece, int]]] = []  # (piece, shot index) of each shot, in frame order
    for s, shot in enumerate(shots):
        own = [i for i, f in enumerate(exemplar_frames) if shot.start <= f < shot.stop]
        if own:
            passes = [(i, exemplar_frames[i], False) for i in own]
        elif s in donors:
            passes = [(donors[s], shot.start, True)]
        else:
            passes = []
        pieces_by_shot.append([(p, s) for p in _shot_pieces(shot, passes, transition)])
    _cross_fade(shots, pieces_by_shot)
    return _group([item for items in pieces_by_shot for item in items])


def _shot_pieces(shot: ShotSpan, passes: list[tuple[int, int, bool]], transition: Transition) -> list[Piece]:
    """The pieces of one shot from its (exemplar, anchor, borrowed) list, before any cross-fade."""
    if not passes:
        return []
    pieces = []
    first_ex, first_anchor, borrowed = passes[0]
    extras = tuple(ex for ex, _, _ in passes[1:]) if transition == "memory" else ()
    if shot.start < first_anchor:
        pieces.append(Piece(shot.start, first_anchor, (Pass(first_ex, first_anchor, False, borrowed, extras),)))
    if extras:  # one pass over the rest of the shot, every exemplar held
        return [*pieces, Piece(first_anchor, shot.stop, (Pass(first_ex, first_anchor, True, borrowed, extras),))]
    for (ex, anchor, borrowed), nxt in zip(passes, [*passes[1:], None], strict=True):
        stop = shot.stop if nxt is None else nxt[1]
        forward = Pass(ex, anchor, True, borrowed)
        if nxt is None or transition != "blend" or stop - anchor < 2:
            pieces.append(Piece(anchor, stop, (forward,)))
        else:
            backward = Pass(nxt[0], nxt[1], False, nxt[2])
            pieces.append(Piece(anchor, stop, (forward, backward), ramp=(anchor, stop)))
    return pieces


def _cross_fade(shots: Sequence[ShotSpan], pieces_by_shot: list[list[tuple[Piece, int]]]) -> None:
    """Extends the passes on both sides of each gradual transition over it and cross-fades them there.

    The outgoing pass is the previous shot's last forward pass; the incoming one is the next shot's first pass
    (backward from its first exemplar, or both ways from the shot's first frame when the exemplar is pinned there
    or borrowed). An exemplar pinned inside the transition makes it a plain cut.
    """
    for s, shot in enumerate(shots):
        if shot.transition is None or s == 0 or not pieces_by_shot[s] or not pieces_by_shot[s - 1]:
            continue
        t0, t1 = shot.transition
        last, prev_shot = pieces_by_shot[s - 1][-1]
        first, _ = pieces_by_shot[s][0]
        if len(last.passes) != 1 or len(first.passes) != 1 or not (last.start < t0 and t1 <= first.stop):
            continue
        outgoing, incoming = last.passes[0], first.passes[0]
        if not outgoing.forward:
            continue
        if not incoming.forward:
            before = after = incoming
        elif incoming.anchor == shot.start:
            before, after = Pass(incoming.exemplar, incoming.anchor, False, incoming.borrowed), incoming
        else:
            continue
        pieces_by_shot[s - 1][-1:] = [
            (Piece(last.start, t0, last.passes), prev_shot),
            (Piece(t0, shot.start, (outgoing, before), ramp=(t0, t1), smooth=False), prev_shot),
        ]
        head = Piece(shot.start, t1, (outgoing, after), ramp=(t0, t1), smooth=False)
        tail = [Piece(t1, first.stop, first.passes)] if t1 < first.stop else []
        pieces_by_shot[s][0:1] = [(p, s) for p in (head, *tail)]


def _exemplars_of(piece: Piece) -> frozenset[int]:
    return frozenset(i for p in piece.passes for i in (p.exemplar, *p.extras))


def _group(items: list[tuple[Piece, int]]) -> list[Segment]:
    """Merges consecutive pieces of one shot that depend on the same exemplars into segments."""
    segments: list[Segment] = []
    for piece, shot in items:
        prev = segments[-1] if segments else None
        if prev is not None and prev.shot == shot and prev.stop == piece.start and \
                _exemplars_of(prev.pieces[-1]) == _exemplars_of(piece):
            segments[-1] = Segment(prev.exemplar, prev.start, piece.stop, prev.anchor, shot, prev.partner,
                                   prev.borrowed, (*prev.pieces, piece))
            continue
        main = next((p for p in piece.passes if p.anchor <= piece.start or not p.forward), piece.passes[0])
        others = [p.exemplar for p in piece.passes if p.exemplar != main.exemplar]
        segments.append(Segment(main.exemplar, piece.start, piece.stop, main.anchor, shot,
                                others[0] if others else None, main.borrowed, (piece,)))
    return segments


@dataclass
class Run:
    """One pass executed over consecutive frames, in processing order (``frames[0]`` is the anchor).

    Attributes:
        pass_: the pass.
        frames: the frames the engine steps through.
        emit: frames whose result is this pass alone, yielded as computed -> their segment index.
        stash: frames kept for fusion with a later run (this pass is the second of their piece).
        fuse: frames fused with a stashed result -> (segment index, weight of the stashed pass).
    """

    pass_: Pass
    frames: list[int]
    emit: dict[int, int] = field(default_factory=dict)
    stash: set[int] = field(default_factory=set)
    fuse: dict[int, tuple[int, float]] = field(default_factory=dict)


def plan_runs(segments: Sequence[Segment], wanted: set[int]) -> list[Run]:
    """The engine runs that produce ``wanted`` frames, ordered so that a stashed result precedes its fusion."""
    uses: dict[Pass, Run] = {}
    first_use: dict[Pass, int] = {}

    def use(p: Pass) -> Run:
        if p not in uses:
            uses[p] = Run(p, [])
            first_use[p] = index
        return uses[p]

    for index, segment in enumerate(segments):
        for piece in segment.pieces:
            for f in range(piece.start, piece.stop):
                if f not in wanted:
                    continue
                w = piece.weight(f)
                if len(piece.passes) == 1 or w <= 0.0:
                    use(piece.passes[0]).emit[f] = index
                elif w >= 1.0:
                    use(piece.passes[1]).emit[f] = index
                else:
                    use(piece.passes[1]).stash.add(f)  # the second pass first: its result waits for the fusion
                    use(piece.passes[0]).fuse[f] = (index, w)
    # segment by segment, each anchor's forward frames before its backward ones
    order = sorted(first_use, key=lambda p: (first_use[p], not p.forward))
    runs = []
    for p in _stash_first(order, uses):
        run = uses[p]
        touched = [*run.emit, *run.stash, *run.fuse]
        if p.forward:
            run.frames = list(range(p.anchor, max(touched) + 1))
        else:
            run.frames = list(range(p.anchor, min(touched) - 1, -1))
        runs.append(run)
    return runs


def _stash_first(order: list[Pass], uses: dict[Pass, Run]) -> list[Pass]:
    """``order`` with every stashing run moved before the first run that fuses its frames."""
    stashers = {f: p for p in order for f in uses[p].stash}
    result: list[Pass] = []
    for p in order:
        for f in sorted(uses[p].fuse):
            q = stashers[f]
            if q not in result:
                result.append(q)
        if p not in result:
            result.append(p)
    return result
