"""Audio passthrough on export: packet-exact copies, sub-range cuts and re-encoding where a container refuses."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import pytest

from colormnet.video import VideoReader, VideoWriter
from tests.test_video_support import CLIPS, audio_packets, numbered_frames, write_video

SOURCE = CLIPS / "realshort.mp4"


def _export(source: VideoReader, output: Path, codec: str = "h264", indices: list[int] | None = None,
            audio: bool = True) -> None:
    with VideoWriter(output, codec, width=source.info.width, height=source.info.height, source=source,
                     frame_indices=indices, audio=audio) as writer:
        for index in indices if indices is not None else range(len(source)):
            writer.write(source.read(index))


def test_full_export_copies_audio_packets_byte_for_byte(tmp_path: Path) -> None:
    output = tmp_path / "with_audio.mp4"
    with VideoReader(SOURCE) as source:
        _export(source, output)
    assert audio_packets(output) == audio_packets(SOURCE)
    with av.open(str(output)) as container:
        audio = container.streams.audio[0]
        assert (audio.codec_context.name, audio.codec_context.sample_rate) == ("aac", 48000)
        # interleaved while writing, not appended at the end
        kinds = [packet.stream.type for packet in container.demux() if packet.size]
    assert "audio" in kinds[: len(kinds) // 2]


def test_sub_range_export_keeps_the_audio_of_that_span(tmp_path: Path) -> None:
    output = tmp_path / "part.mkv"
    indices = list(range(12, 24))
    with VideoReader(SOURCE) as source:
        _export(source, output, codec="ffv1", indices=indices)
        start, end = 12 * 1499 / 45000, 24 * 1499 / 45000
    source_packets = []
    with av.open(str(SOURCE)) as container:
        for packet in container.demux(audio=0):
            if packet.size and packet.pts is not None and start <= float(packet.pts * packet.time_base) < end:
                source_packets.append(bytes(packet))
    assert audio_packets(output) == source_packets
    with av.open(str(output)) as container:
        first = next(p for p in container.demux(audio=0) if p.size)
        assert first.pts is not None and 0 <= float(first.pts * first.time_base) < 0.03  # shifted like the video
    with VideoReader(output) as reader:
        assert reader.timestamps()[0] == 0 and len(reader) == 12


def test_audio_can_be_left_out(tmp_path: Path) -> None:
    output = tmp_path / "silent.mp4"
    with VideoReader(SOURCE) as source:
        _export(source, output, indices=[0, 1, 2], audio=False)
    with av.open(str(output)) as container:
        assert len(container.streams.audio) == 0


@pytest.mark.parametrize("indices", [None, list(range(5, 15))])
def test_audio_codec_the_container_refuses_is_reencoded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, indices: list[int] | None
) -> None:
    source_path = tmp_path / "u8.mkv"
    write_video(source_path, numbered_frames(20, 32, 32), codec="ffv1", pix_fmt="bgr0", audio_codec="pcm_u8")
    output = tmp_path / "reencoded.mp4"
    with caplog.at_level(logging.WARNING, logger="colormnet.video"), VideoReader(source_path) as source:
        _export(source, output, indices=indices)
    assert "re-encoding audio stream" in caplog.text
    with av.open(str(output)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac" and audio.codec_context.sample_rate == 8000
        frames = list(container.decode(audio=0))
    seconds = (20 if indices is None else len(indices)) / 25
    assert sum(frame.samples for frame in frames) / 8000 == pytest.approx(seconds, abs=0.15)
    assert frames[0].time is not None and frames[0].time < 0.15  # starts with the video, not at the source's 0.2 s


def test_constant_rate_override_drops_mismatched_audio(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    output = tmp_path / "fast.mp4"
    with caplog.at_level(logging.WARNING, logger="colormnet.video"), VideoReader(SOURCE) as source, VideoWriter(
        output, "h264", width=320, height=240, source=source, fps=Fraction(60)
    ) as writer:
        for index in range(6):
            writer.write(source.read(index))
    assert "Audio is left out" in caplog.text
    with VideoReader(output) as reader:
        assert reader.info.fps == 60 and not reader.info.has_audio
