"""Videos with a damaged stretch: every listed frame keeps its place (the last good frame stands in), and the user is
told which frame numbers did not decode, at the normal output level."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from colormnet.cli import main
from colormnet.video import VideoReader
from colormnet.video.info import format_frames
from tests.test_video_support import CLIPS, digest, reference_digests

SOURCE = CLIPS / "realshort.mp4"  # 36 frames, one keyframe, AAC audio
FRAMES = 36


def _packet_spans(path: Path) -> list[tuple[int, int]]:
    """(file offset, size) of each video packet, in frame order (realshort.mp4 has no B-frames)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        spans = [(packet.pts, packet.pos, packet.size) for packet in container.demux(stream) if packet.size]
    return [(pos, size) for _, pos, size in sorted(spans)]


def damaged_copy(folder: Path, frames: range) -> Path:
    """realshort.mp4 with the packets of ``frames`` overwritten with zeros, as a bad sector would leave them."""
    data = bytearray(SOURCE.read_bytes())
    spans = _packet_spans(SOURCE)
    for frame in frames:
        pos, size = spans[frame]
        data[pos:pos + size] = bytes(size)
    path = folder / "damaged.mp4"
    path.write_bytes(bytes(data))
    return path


def cut_in_the_middle(folder: Path) -> Path:
    """realshort.mp4 with 20 kB zeroed in the middle of the file, from the start of frame 23 on: from there nothing
    decodes until the end, as the clip has no later keyframe."""
    data = bytearray(SOURCE.read_bytes())
    middle = _packet_spans(SOURCE)[23][0]
    data[middle:middle + 20_000] = bytes(20_000)
    path = folder / "broken_tail.mp4"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("frames", "text"),
    [([7], "frame 7"), ([3, 4, 5], "frames 3-5"), ([1, 12, 13, 14, 15, 23], "frames 1, 12-15 and 23"),
     (list(range(0, 30, 2)), "frames 0, 2, 4, 6, 8 and 10 more stretches")],
)
def test_frame_numbers_are_spelled_in_stretches(frames: list[int], text: str) -> None:
    assert format_frames(frames) == text


@given(st.sets(st.integers(0, 500), min_size=1, max_size=60))
def test_spelled_frame_numbers_read_back_as_the_same_frames(frames: set[int]) -> None:
    text = format_frames(frames)
    assert text.startswith("frame " if len(frames) == 1 else "frames ")
    if "more stretches" in text:
        return  # deliberately not every stretch is spelled out
    numbers: set[int] = set()
    for part in re.split(r", | and ", text.split(" ", 1)[1]):
        first, _, last = part.partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    assert numbers == frames


def test_a_damaged_middle_keeps_every_frame_in_place(tmp_path: Path) -> None:
    path = damaged_copy(tmp_path, range(12, 16))
    decodable = reference_digests(path)  # a plain decode skips the four broken frames
    assert len(decodable) == FRAMES - 4
    with VideoReader(path) as reader:
        assert len(reader) == FRAMES and reader.damaged_frames() == []
        forward = [digest(frame) for _, frame in reader.frames()]
        assert forward[:12] == decodable[:12] and forward[16:] == decodable[12:]
        assert forward[12:16] == [forward[11]] * 4  # the last good frame stands in
        assert reader.damaged_frames() == [12, 13, 14, 15]
        backward = [digest(frame) for _, frame in reader.frames(reverse=True)][::-1]
        assert backward == forward
        for index in (14, 30, 12, 16, 11, 15):  # fresh seeks into and around the stretch
            assert digest(reader.read(index)) == forward[index]
        notice = reader.take_damage_notice()
        assert "damaged.mp4: frames 12-15 do not decode" in notice and "audio stay in sync" in notice
        assert "\n" not in notice and reader.take_damage_notice() == ""


def test_a_broken_tail_is_known_on_open_and_keeps_the_count(tmp_path: Path) -> None:
    path = cut_in_the_middle(tmp_path)
    decodable = reference_digests(path)
    assert len(decodable) == 23  # what a plain decode yields: the state the problem was reported in
    with VideoReader(path) as reader:
        assert len(reader) == FRAMES
        assert reader.damaged_frames() == list(range(23, FRAMES))
        last = digest(reader.read(FRAMES - 1))
        assert last == decodable[22] == digest(reader.read(22))
        assert [digest(reader.read(i)) for i in range(23)] == decodable


def test_a_damaged_start_holds_the_first_good_frame(tmp_path: Path) -> None:
    """Frames before any good frame have no last good frame: the first good one after them stands in."""
    data = bytearray(SOURCE.read_bytes())
    pos, size = _packet_spans(SOURCE)[1]
    data[pos:pos + size] = bytes(size)  # frame 1 broken; frame 0 (the keyframe) still decodes
    path = tmp_path / "second.mp4"
    path.write_bytes(bytes(data))
    with VideoReader(path) as reader:
        assert np.array_equal(reader.read(1), reader.read(0))
        assert reader.damaged_frames() == [1]


def test_unreported_damage_is_logged_when_the_reader_closes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = damaged_copy(tmp_path, range(20, 22))
    with caplog.at_level(logging.WARNING, logger="colormnet"), VideoReader(path) as reader:
        reader.read(21)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("frame 21 does not decode" in w for w in warnings), warnings


def test_the_command_line_names_the_damaged_frames_and_writes_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    source = damaged_copy(tmp_path, range(12, 16))
    with VideoReader(source) as reader:
        still = reader.read(10)
    Image.fromarray(still).save(tmp_path / "still.png")
    out = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING, logger="colormnet"):
        code = main(["colorize", str(source), "-e", f"{tmp_path / 'still.png'}@10", "-o", str(out), "--engine",
                     "propagate", "--codec", "ffv1", "--process-size", "64", "--frames", "10:18"])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "do not decode" in line]
    assert len(lines) == 1 and "frames 12-15" in lines[0], err
    logged = [r.getMessage() for r in caplog.records if "do not decode" in r.getMessage()]
    assert logged == []  # the shot pass read them first, and left the telling to the render
    with VideoReader(out) as written:
        assert len(written) == 8  # frames 10 to 17, the damaged ones included: the timing stays whole


def test_a_chunked_render_still_names_the_damaged_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    source = damaged_copy(tmp_path, range(12, 16))
    with VideoReader(source) as reader:
        Image.fromarray(reader.read(10)).save(tmp_path / "still.png")
    with caplog.at_level(logging.WARNING, logger="colormnet"):  # its chunks tell nothing: the shot pass does
        code = main(["colorize", str(source), "-e", f"{tmp_path / 'still.png'}@10", "-o", str(tmp_path / "out.mkv"),
                     "--engine", "propagate", "--codec", "ffv1", "--process-size", "64", "--frames", "10:18",
                     "--work-dir", str(tmp_path / "work")])
    assert code == 0, capsys.readouterr().err
    logged = [r.getMessage() for r in caplog.records if "do not decode" in r.getMessage()]
    assert len(logged) == 1 and "frames 12-15" in logged[0], logged
