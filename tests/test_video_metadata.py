"""Stream metadata: the real bit depth in ``info``, and languages, titles and the start timecode kept on export."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from colormnet.cli import main
from colormnet.video import VideoReader, probe
from colormnet.video.metadata import shift_timecode
from colormnet.video.writer import VideoWriter

FRAMES = 12


def _source(path: Path, *, timecode: str | None = "01:00:10:00", tags: bool = True) -> Path:
    """A 12-frame 25 fps clip with a second of tagged AAC audio (MOV keeps the timecode as a timecode track)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        if tags:
            container.metadata["title"] = "Arrival of a Train"
            video.metadata.update({"language": "fra", "title": "Picture"})
            audio.metadata.update({"language": "eng", "title": "Commentary"})
        if timecode:
            video.metadata["timecode"] = timecode
        for k in range(FRAMES):
            rgb = np.full((48, 64, 3), 20 * k, np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode(None))
        for k in range(48):  # one second
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, 1024 * k
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


def _tags(path: Path) -> tuple[dict[str, str], dict[str, str], list[dict[str, str]]]:
    from colormnet.video.info import stream_tags

    with av.open(str(path)) as container:
        return (stream_tags(container.metadata), stream_tags(container.streams.video[0].metadata),
                [stream_tags(s.metadata) for s in container.streams.audio])


def _export(source: Path, output: Path, codec: str, frames: range = range(FRAMES), fps: Fraction | None = None) -> None:
    with VideoReader(source) as reader, VideoWriter(output, codec, width=64, height=48, source=reader,
                                                    frame_indices=frames, fps=fps) as writer:
        for index in frames:
            writer.write(reader.read(index))


def test_info_reports_the_stored_bit_depth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _source(tmp_path / "source.mov")
    prores = tmp_path / "graded.mov"
    _export(source, prores, "prores")
    info = probe(prores)
    assert info.bit_depth == 16  # read at 16 bits
    assert info.bits_per_component == 10 and info.to_dict()["bits_per_component"] == 10
    assert probe(source).bits_per_component == 8
    assert main(["info", str(prores)]) == 0
    out = capsys.readouterr().out
    assert "10-bit" in out and "16-bit" not in out


def test_info_says_what_a_stream_without_a_codec_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(_source(tmp_path / "source.mov"))]) == 0
    assert "  stream 2   data: timecode 01:00:10:00 (eng)\n" in capsys.readouterr().out  # MOV's timecode track
    assert main(["info", str(Path(__file__).parent / "data" / "clips" / "shepard_calais_1906_bw.ogv")]) == 0
    out = capsys.readouterr().out
    assert "  stream 0   data: no codec named (not picture or sound)\n" in out and "unknown" not in out, out


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_export_keeps_languages_titles_and_timecode(tmp_path: Path, suffix: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    source = _source(tmp_path / "source.mov")
    output = tmp_path / f"out{suffix}"
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        _export(source, output, "h264")
    container, video, audio = _tags(output)
    assert container["title"] == "Arrival of a Train"
    assert (video["language"], video["title"]) == ("fra", "Picture")
    assert [(a["language"], a["title"]) for a in audio] == [("eng", "Commentary")]
    assert probe(output).timecode == "01:00:10:00"
    assert "does not keep" not in caplog.text


def test_partial_export_moves_the_timecode_on(tmp_path: Path) -> None:
    source = _source(tmp_path / "source.mov")
    output = tmp_path / "part.mkv"
    _export(source, output, "h264", range(5, FRAMES))
    assert probe(output).timecode == "01:00:10:05"


def test_what_is_not_kept_is_named_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = _source(tmp_path / "source.mov")
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        _export(source, tmp_path / "faster.mp4", "h264", fps=Fraction(30))
        _export(source, tmp_path / "frames", "png")
    lines = [r.getMessage() for r in caplog.records if "does not keep" in r.getMessage()]
    assert len(lines) == 2
    assert "faster.mp4 does not keep the start timecode 01:00:10:00 (the export runs at 30.000 fps)" in lines[0]
    assert probe(tmp_path / "faster.mp4").timecode is None
    assert lines[1].startswith("frames does not keep") and "'Picture'" in lines[1] and "01:00:10:00" in lines[1]


def test_untagged_source_exports_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = _source(tmp_path / "plain.mov", timecode=None, tags=False)
    with caplog.at_level(logging.WARNING, logger="colormnet.video"):
        _export(source, tmp_path / "out.mp4", "h264")
    assert "does not keep" not in caplog.text
    assert probe(tmp_path / "out.mp4").timecode is None


@pytest.mark.parametrize(("start", "frames", "fps", "expected"), [
    ("01:00:00:00", 30, Fraction(25), "01:00:01:05"),
    ("00:59:59:24", 1, Fraction(25), "01:00:00:00"),
    ("00:00:59;29", 1, Fraction(30000, 1001), "00:01:00;02"),  # labels 00 and 01 are dropped each minute
    ("00:09:59;29", 1, Fraction(30000, 1001), "00:10:00;00"),  # but not each tenth minute
    ("00:00:00;00", 17982, Fraction(30000, 1001), "00:10:00;00"),
    ("1:2:3", 1, Fraction(25), None),
    ("00:00:00:30", 1, Fraction(25), None),
])
def test_shift_timecode(start: str, frames: int, fps: Fraction, expected: str | None) -> None:
    assert shift_timecode(start, frames, fps) == expected
