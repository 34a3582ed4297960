"""Shot list files: JSON, CSV and CMX3600 EDL, written atomically and read back with strict checks.

JSON: ``{"shots": [{"start", "stop", "boundary", "start_timecode", "transition"}, ...]}`` (``transition`` is
``[a, b]`` for a dissolve or a fade, else null). CSV: the same fields as columns under a header row (names in any case;
commas, or a spreadsheet's semicolons or tabs, between them), the transition as ``transition_start`` and
``transition_stop`` (empty for none). Only ``start`` and ``stop`` are required: without
``boundary`` (no such key in JSON, no such column in CSV) the first shot is the ``start`` and every other opens at a
hard ``cut``, as a list written by hand or kept in a spreadsheet means; by hand, JSON may also be the bare list of
shots, each an object or a ``[start, stop]`` pair. Both forms may give a shot without an
exemplar of its own a ``colours_from`` field: the frame of the exemplar it takes its colours from, chosen by hand
(absent, null or empty: chosen automatically); :func:`load_shot_file` returns these as links for
:meth:`~colormnet.session.Session.set_shots`, and :func:`check_links` holds them against the exemplars.

EDL: one event per shot, record timecodes at the video's frame rate; a dissolve or fade is a ``D`` event whose
duration is the transition's length, and a comment line keeps what a plain EDL cannot say (fade rather than dissolve,
the exact transition range). An EDL carries no links.

Every file read is untrusted: size and count are bounded, every field is checked, and any fault is one
:class:`ShotListError` sentence. ``start_timecode`` is derived on writing and ignored on reading.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from colormnet.fileio import write_bytes_atomic
from colormnet.shots.model import (
    BoundaryKind,
    Shot,
    ShotListError,
    as_kind,
    parse_timecode,
    timecode,
    validate_shots,
)

#: Largest shot list file read, in bytes.
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Most shots in one list.
MAX_SHOTS = 200_000
FORMATS = ("json", "csv", "edl")
CSV_FIELDS = ("start", "stop", "boundary", "start_timecode", "transition_start", "transition_stop")
#: The fields (JSON) or columns (CSV) a shot list cannot do without; the others are optional.
REQUIRED_FIELDS = ("start", "stop")
#: The optional field (JSON) or column (CSV) of a hand-chosen link.
LINK_FIELD = "colours_from"
_EVENT = re.compile(r"^(\d{1,6})\s+(\S+)\s+(V|A|B|AA|AA/V|A/V)\s+(C|D)\s*(\d{1,4})?\s+"
                    r"(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
_NOTE = re.compile(r"^\*\s*COLORMNET SHOT (\d+) (\w+)(?: (\d+) (\d+))?\s*$")


def format_of(path: Path) -> str:
    """The format named by a file's extension."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ShotListError(f"{path.name}: a shot list is a .json, .csv or .edl file.")
    return suffix


def shot_record(shot: Shot, fps: Fraction | float) -> dict[str, Any]:
    """The JSON object of one shot."""
    return {"start": shot.start, "stop": shot.stop, "boundary": shot.boundary,
            "start_timecode": timecode(shot.start, fps),
            "transition": list(shot.transition) if shot.transition else None}


class ShotFile(NamedTuple):
    """What a shot list file holds: the shots, and the links chosen by hand (a shot's first frame -> the frame of
    the exemplar it takes its colours from)."""

    shots: list[Shot]
    links: dict[int, int]


def to_json(shots: Sequence[Shot], fps: Fraction | float, links: dict[int, int] | None = None) -> str:
    """The JSON text of a shot list (``colours_from`` on the shots ``links`` names)."""
    links = links or {}
    records = [shot_record(s, fps) | ({LINK_FIELD: links[s.start]} if s.start in links else {}) for s in shots]
    return json.dumps({"shots": records}, indent=1)


def to_csv(shots: Sequence[Shot], fps: Fraction | float, links: dict[int, int] | None = None) -> str:
    """The CSV text of a shot list: a header row, one row a shot, and the ``colours_from`` column always (empty:
    chosen automatically), so that a shot's colours can be linked by hand in a spreadsheet without knowing its name."""
    links = links or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CSV_FIELDS, LINK_FIELD))
    for s in shots:
        a, b = s.transition if s.transition else ("", "")
        writer.writerow([s.start, s.stop, s.boundary, timecode(s.start, fps), a, b, links.get(s.start, "")])
    return out.getvalue()


def to_edl(shots: Sequence[Shot], fps: Fraction | float, title: str = "SHOTS") -> str:
    """The CMX3600 EDL text of a shot list, one event a shot (source and record timecodes alike)."""
    clean_title = re.sub(r"[^\w .-]", "_", title)[:60] or "SHOTS"
    lines = [f"TITLE: {clean_title}", "FCM: NON-DROP FRAME", ""]
    for number, s in enumerate(shots, start=1):
        tc_in, tc_out = timecode(s.start, fps), timecode(s.stop, fps)
        kind = "C   " if s.transition is None else f"D {len(range(*s.transition)):03d}"
        lines.append(f"{number:03d}  AX       V     {kind}    {tc_in} {tc_out} {tc_in} {tc_out}")
        note = f"* COLORMNET SHOT {number} {s.boundary}"
        lines.append(note + (f" {s.transition[0]} {s.transition[1]}" if s.transition else ""))
    return "\n".join(lines) + "\n"


def save_shot_list(path: str | Path, shots: Sequence[Shot], fps: Fraction | float,
                   links: dict[int, int] | None = None) -> Path:
    """Writes ``shots`` to ``path`` atomically, in the format its extension names (``links`` in JSON and CSV only)."""
    path = Path(path)
    kind = format_of(path)
    write = {"json": to_json, "csv": to_csv}.get(kind)
    text = write(shots, fps, links) if write is not None else to_edl(shots, fps, path.stem)
    write_bytes_atomic(path, text.encode("utf-8"))
    return path


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ShotListError(f"{what} must be a frame number, not {value!r}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        number = int(value)
    else:
        raise ShotListError(f"{what} must be a frame number, not {str(value)[:40]!r}.")
    if not 0 <= number < 10**12:
        raise ShotListError(f"{what} is out of range ({number}).")
    return number


def _unstated_boundary(number: int) -> BoundaryKind:
    """The boundary of shot ``number`` (from 1) in a file that gives none: ``start`` for the first, else a hard cut."""
    return "start" if number == 1 else "cut"


def _shot(start: Any, stop: Any, boundary: Any, transition: tuple[Any, Any] | None, where: str) -> Shot:
    if not isinstance(boundary, str):
        raise ShotListError(f"{where}: the boundary must be text, not {str(boundary)[:40]!r}.")
    span = None
    if transition is not None:
        span = (_int(transition[0], f"{where}: transition start"), _int(transition[1], f"{where}: transition stop"))
    first, last = _int(start, f"{where}: start"), _int(stop, f"{where}: stop")  # their messages name the row
    try:
        return Shot(first, last, as_kind(boundary), span)
    except ShotListError as exc:
        raise ShotListError(f"{where}: {exc}") from None


def parse_json(text: str) -> list[Shot]:
    """Reads the JSON form (its links are ignored)."""
    return parse_json_file(text).shots


def parse_json_file(text: str) -> ShotFile:
    """Reads the JSON form with its links."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ShotListError(f"The shot list is not valid JSON ({exc}).") from None
    if isinstance(data, list):  # written by hand: the list of shots alone
        data = {"shots": data}
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        raise ShotListError('The shot list JSON must be a list of shots, or an object with a list "shots".')
    shots, links = [], {}
    for number, item in enumerate(data["shots"][:MAX_SHOTS + 1], start=1):
        where = f"shot {number}"
        if isinstance(item, list) and len(item) == 2:  # [start, stop]
            item = dict(zip(REQUIRED_FIELDS, item, strict=True))
        if not isinstance(item, dict):
            raise ShotListError(f"{where} must be an object with start and stop, or [start, stop].")
        missing = [k for k in REQUIRED_FIELDS if k not in item]
        if missing:
            raise ShotListError(f"{where} has no {', '.join(missing)}.")
        span = item.get("transition")
        if span is not None and (not isinstance(span, list) or len(span) != 2):
            raise ShotListError(f"{where}: the transition must be [first, last + 1] or null.")
        boundary = item["boundary"] if "boundary" in item else _unstated_boundary(number)
        shots.append(_shot(item["start"], item["stop"], boundary, tuple(span) if span else None, where))
        if item.get(LINK_FIELD) is not None:
            links[shots[-1].start] = _int(item[LINK_FIELD], f"{where}: {LINK_FIELD}")
    return ShotFile(shots, links)


def parse_csv(text: str) -> list[Shot]:
    """Reads the CSV form (header row; extra columns and links are ignored)."""
    return parse_csv_file(text).shots


def parse_csv_file(text: str) -> ShotFile:
    """Reads the CSV form with its links (header row; extra columns are ignored, ``boundary`` may be left out)."""
    try:
        rows = csv.DictReader(io.StringIO(text), delimiter=_csv_delimiter(text))
        columns = {f.strip().lower() for f in rows.fieldnames or ()}
        if not set(REQUIRED_FIELDS) <= columns:
            raise ShotListError("The shot list CSV needs a header row with at least the columns start and stop.")
        shots, links = [], {}
        for number, row in enumerate(rows, start=1):
            if number > MAX_SHOTS:
                break
            row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()}
            a, b = row.get("transition_start", ""), row.get("transition_stop", "")
            span = (a, b) if a or b else None
            boundary = row.get("boundary", "") if "boundary" in columns else _unstated_boundary(number)
            shots.append(_shot(row.get("start", ""), row.get("stop", ""), boundary, span, f"row {number + 1}"))
            if row.get(LINK_FIELD):
                links[shots[-1].start] = _int(row[LINK_FIELD], f"row {number + 1}: {LINK_FIELD}")
        return ShotFile(shots, links)
    except csv.Error as exc:
        raise ShotListError(f"The shot list CSV is malformed ({exc}).") from None


def _csv_delimiter(text: str) -> str:
    """The separator of a CSV's header row: a comma, or the semicolon or tab a spreadsheet writes in locales whose
    decimal mark is a comma."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in header:
        return ","
    return next((mark for mark in (";", "\t") if mark in header), ",")


def parse_edl(text: str, fps: Fraction | float) -> list[Shot]:
    """Reads a CMX3600 EDL: each video event's record in and out become a shot."""
    shots: list[Shot] = []
    notes: dict[int, tuple[str, tuple[int, int] | None]] = {}
    events: list[tuple[int, int, int, str, int]] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if len(events) > MAX_SHOTS:
            break
        line = line.strip()
        if not line or line.startswith(("TITLE:", "FCM:")):
            continue
        if note := _NOTE.match(line):
            span = (int(note[3]), int(note[4])) if note[3] else None
            notes[int(note[1])] = (note[2], span)
        elif event := _EVENT.match(line):
            if event[3] != "V":
                continue
            record_in = parse_timecode(event[8], fps)
            record_out = parse_timecode(event[9], fps)
            events.append((int(event[1]), record_in, record_out, event[4], int(event[5] or 0)))
        elif not line.startswith(("*", "M2", ">>>")):
            raise ShotListError(f"Line {line_number} of the EDL is not a CMX3600 event: {line[:60]!r}.")
    for position, (number, start, stop, kind, length) in enumerate(events):
        boundary, span = notes.get(number, ("start" if position == 0 else "cut" if kind == "C" else "dissolve", None))
        if span is None and kind == "D" and length > 1:
            span = (max(0, start - length // 2), max(0, start - length // 2) + length)
        shots.append(_shot(start, stop, boundary, span, f"EDL event {number}"))
    return shots


def read_text_bounded(path: Path) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_FILE_BYTES` (a device, a pipe or a folder is refused).

    Raises:
        ShotListError: Not a regular file, or too large.
        OSError, UnicodeDecodeError: Unreadable.
    """
    if path.exists() and not path.is_file():
        raise ShotListError(f"The shot list {path} is a folder or a device, not a file.")
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ShotListError(f"{path.name} is larger than {MAX_FILE_BYTES} bytes, the most a shot list may hold.")
    return data.decode("utf-8-sig")


def load_shot_list(path: str | Path, *, fps: Fraction | float | None = None,
                   frame_count: int | None = None) -> list[Shot]:
    """The shots of :func:`load_shot_file` (its links left out)."""
    return load_shot_file(path, fps=fps, frame_count=frame_count).shots


def load_shot_file(path: str | Path, *, fps: Fraction | float | None = None,
                   frame_count: int | None = None) -> ShotFile:
    """Reads a shot list written by :func:`save_shot_list` (or edited by hand, or an NLE's EDL), with its links.

    Args:
        path: A .json, .csv or .edl file.
        fps: The video's frame rate; needed for an EDL, whose times are timecodes.
        frame_count: When given, the shots must end exactly there.

    Raises:
        ShotListError: The file is missing, too large, malformed, its shots do not cover the video, or a shot's
            ``colours_from`` is not a frame number or lies within the shot itself.
    """
    path = Path(path)
    kind = format_of(path)
    try:
        text = read_text_bounded(path)
    except FileNotFoundError:
        raise ShotListError(f"The shot list {path} does not exist.") from None
    except UnicodeDecodeError:
        raise ShotListError(f"{path.name} is not UTF-8 text; a shot list is JSON, CSV or EDL text.") from None
    except OSError as exc:
        raise ShotListError(f"The shot list {path.name} cannot be read ({exc.strerror or exc}).") from None
    if kind == "edl" and fps is None:
        raise ShotListError(f"Reading the EDL {path.name} needs the video's frame rate.")
    try:
        if kind == "edl":
            read = ShotFile(parse_edl(text, fps or 0), {})
        else:
            read = parse_json_file(text) if kind == "json" else parse_csv_file(text)
    except ShotListError as exc:  # which file, as every later fault says
        raise ShotListError(f"{path.name}: {exc}") from None
    if len(read.shots) > MAX_SHOTS:
        raise ShotListError(f"{path.name} lists more than {MAX_SHOTS} shots.")
    try:
        shots = validate_shots(read.shots, frame_count)
        check_links(shots, read.links)
    except ShotListError as exc:
        raise ShotListError(f"{path.name}: {exc}") from None
    return ShotFile(shots, read.links)


def _describe(number: int, shot: Shot) -> str:
    return f"shot {number} (frames {shot.start}-{shot.stop - 1})"


def check_links(shots: Sequence[Shot], links: dict[int, int], exemplar_frames: Sequence[int] | None = None) -> None:
    """Checks hand-chosen links: each names the frame of another shot's exemplar, for a shot without its own.

    Args:
        shots: the shots (validated); links: a shot's first frame -> the frame its colours come from.
        exemplar_frames: the exemplars' frames; None checks only that no link points into its own shot.

    Raises:
        ShotListError: a link from no shot's first frame, into its own shot, to a frame with no exemplar, or from
            a shot that has an exemplar of its own; the sentence names the shot.
    """
    number_of = {shot.start: number for number, shot in enumerate(shots, start=1)}
    frames = sorted(exemplar_frames) if exemplar_frames is not None else None
    for start, target in sorted(links.items()):
        if start not in number_of:
            raise ShotListError(f"a {LINK_FIELD} link starts at frame {start}, which opens no shot.")
        number = number_of[start]
        shot = shots[number - 1]
        where = _describe(number, shot)
        if shot.start <= target < shot.stop:
            raise ShotListError(f"{where}: {LINK_FIELD} {target} is one of its own frames; name the frame of "
                                "another shot's exemplar, or leave it empty.")
        if frames is None:
            continue
        own = [f for f in frames if shot.start <= f < shot.stop]
        if own:
            raise ShotListError(f"{where} has its own exemplar at frame {own[0]}; {LINK_FIELD} applies only to a "
                                "shot without one: leave it empty.")
        if target not in frames:
            listed = ", ".join(map(str, frames[:8])) + (", …" if len(frames) > 8 else "") or "none"
            raise ShotListError(f"{where}: {LINK_FIELD} {target} holds no exemplar (exemplars at frames: {listed}).")
