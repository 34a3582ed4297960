"""Matroska and WebM files cut short: the length their header records tells that frames are lost, once, in one line;
intact files, whoever wrote them, say nothing."""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path

import av
import pytest

from colormnet.errors import VideoError
from colormnet.video import VideoReader, VideoWriter, probe
from tests.test_video_support import CLIP_NAMES, CLIPS, numbered_frames, reference_digests, write_video

_CUT = re.compile(r"cut\.(mkv|webm): the file is cut short: only its first (\d+) frames decode; about (\d+) are lost")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(("codec", "pix_fmt", "audio", "suffix"), [
    ("libx264", "yuv420p", "aac", ".mkv"),  # B-frames, and an audio track interleaved
    ("ffv1", "bgr0", None, ".mkv"),
    ("libvpx-vp9", "yuv420p", "libopus", ".webm"),
])
def test_a_cut_short_matroska_file_says_about_how_many_frames_are_lost_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, codec: str, pix_fmt: str, audio: str | None, suffix: str
) -> None:
    whole = tmp_path / f"whole{suffix}"
    write_video(whole, numbered_frames(50, 48, 64), codec=codec, pix_fmt=pix_fmt, audio_codec=audio)
    data = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])  # the header, with the length of 50 frames, is kept
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        counts = [probe(cut).frame_count for _ in range(2)]  # a command opens its input more than once
    warnings = _warnings(caplog)
    match = _CUT.fullmatch(warnings[0]) if len(warnings) == 1 else None
    assert match, warnings
    kept, lost = int(match[2]), int(match[3])
    assert counts == [kept, kept] and 0 < kept < 50 and abs(kept + lost - 50) <= 1
    with VideoReader(cut) as reader:
        assert len(reader) == len(reference_digests(cut))


def test_a_matroska_file_cut_before_its_first_frame_is_one_sentence(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mkv"
    write_video(whole, numbered_frames(10, 48, 64), codec="ffv1", pix_fmt="bgr0")
    with av.open(str(whole)) as container:
        first = next(packet for packet in container.demux(video=0) if packet.size)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: first.pos])
    with pytest.raises(VideoError) as error:
        VideoReader(cut)
    assert "cut.mkv contains no decodable video frame" in str(error.value)


def _remux(source: Path, target: Path) -> None:
    """Copies the video and audio packets of ``source`` into ``target`` unchanged."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s, opaque=True) for s in src.streams if s.type in
                   ("video", "audio")}
        for packet in src.demux(*(src.streams[i] for i in streams)):
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)


def test_intact_files_give_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    made: list[Path] = []
    for count in (1, 2, 3):  # a track shorter than its audio: the segment lasts longer than the video
        made.append(tmp_path / f"short{count}.mkv")
        write_video(made[-1], numbered_frames(count, 48, 64), audio_codec="aac", options={"bf": "2"})
    made.append(tmp_path / "short.webm")
    write_video(made[-1], numbered_frames(3, 48, 64), codec="libvpx-vp9", pix_fmt="yuv420p", audio_codec="libopus")
    made.append(tmp_path / "ntsc.mkv")
    write_video(made[-1], numbered_frames(40, 48, 64), rate=Fraction(30000, 1001), time_base=Fraction(1001, 30000))
    made.append(tmp_path / "vfr.mkv")  # a last frame held for two seconds
    pts = [0, 40, 80, 200, 240, 260, 400, 440, 640, 680, 2680]
    write_video(made[-1], numbered_frames(len(pts), 32, 48), pts=pts, time_base=Fraction(1, 1000))
    for name in CLIP_NAMES:
        made.append(tmp_path / f"{Path(name).stem}.mkv")
        _remux(CLIPS / name, made[-1])
    with VideoReader(CLIPS / "realshort.mp4") as source:  # the project's own exports, with the source's audio
        for target, codec, frames in (("all.mkv", "h264", range(36)), ("part.mkv", "ffv1", range(10, 17))):
            made.append(tmp_path / target)
            with VideoWriter(made[-1], codec, width=320, height=240, source=source, frame_indices=frames) as writer:
                for index in frames:
                    writer.write(source.read(index))
    with VideoReader(tmp_path / "vfr.mkv") as source:
        made.append(tmp_path / "vfr-export.mkv")
        with VideoWriter(made[-1], "h264", width=48, height=32, source=source) as writer:
            for _, rgb in source.frames():
                writer.write(rgb)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        counts = {path.name: probe(path).frame_count for path in [*made, *(CLIPS / name for name in CLIP_NAMES)]}
    assert _warnings(caplog) == []
    assert counts["all.mkv"] == 36 and counts["part.mkv"] == 7 and counts["vfr-export.mkv"] == len(pts)
    assert counts["movie.mkv"] == 166 and counts["shepard_calais_1906_bw.mkv"] == 288


_OGG_CUT = re.compile(r"cut\.ogv: the file is cut short: only its first (\d+) frames decode; it does not say how "
                      r"many more it had")


@pytest.mark.parametrize("where", ["mid-page 0.3", "mid-page 0.6", "mid-page 0.95", "before the last page"])
def test_a_cut_short_ogg_file_says_it_is_cut_short_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    """An Ogg file records no length up front, but its streams end with a page marked as their last: a file that
    stops in the middle of a page, or on a page without the mark, was cut short."""
    data = (CLIPS / "shepard_calais_1906_bw.ogv").read_bytes()
    end = data.rfind(b"OggS") if where == "before the last page" else int(len(data) * float(where.split()[-1]))
    cut = tmp_path / "cut.ogv"
    cut.write_bytes(data[:end])
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        counts = [probe(cut).frame_count for _ in range(2)]  # a command opens its input more than once
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and (match := _OGG_CUT.fullmatch(warnings[0])), warnings
    assert int(match.group(1)) == counts[0] == counts[1] == len(reference_digests(cut)) <= 288


def test_intact_ogg_files_give_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    made = tmp_path / "vp8.ogv"  # other codecs: VP8 with an Opus track that ends after the video
    write_video(made, numbered_frames(20, 48, 64), codec="libvpx", pix_fmt="yuv420p", audio_codec="libopus")
    padded = tmp_path / "padded.ogv"  # a copy padded with zeros after its last page
    padded.write_bytes((CLIPS / "shepard_calais_1906_bw.ogv").read_bytes() + bytes(4096))
    with caplog.at_level(logging.WARNING):
        counts = [probe(path).frame_count for path in (made, padded, CLIPS / "shepard_calais_1906_bw.ogv")]
    assert _warnings(caplog) == [] and counts == [20, 288, 288]
