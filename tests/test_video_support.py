"""Shared inputs for the video tests: clip paths, test patterns and small videos made with plain PyAV.

The generators use PyAV directly rather than :class:`colormnet.video.VideoWriter`, so reader tests do not depend on
the writer under test. This module holds no tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from colormnet.video.pixels import RgbConverter

CLIPS = Path(__file__).parent / "data" / "clips"
CLIP_NAMES = ("realshort.mp4", "movie.mp4", "shepard_calais_1906_bw.ogv", "cockatoo.mp4")


def digest(rgb: np.ndarray) -> str:
    """A short fingerprint of a frame (shape, dtype and bytes), for comparing many frames cheaply."""
    return hashlib.blake2b(rgb.tobytes() + str((rgb.shape, rgb.dtype)).encode(), digest_size=16).hexdigest()


def reference_digests(path: Path, bit_depth: int = 8) -> list[str]:
    """Fingerprints of every frame of a plain sequential PyAV decode (no index, no seeking, broken packets skipped)."""
    converter = RgbConverter()
    digests = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.flags = stream.codec_context.flags | av.codec.context.Flags.unaligned
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets, None)
            except av.error.FFmpegError:  # a cut file ends with a read error
                packet = None
            try:  # like the ffmpeg tool, skip packets that do not decode
                frames = stream.decode(packet)
            except av.error.FFmpegError:
                frames = []
            digests += [digest(converter.convert(frame, bit_depth)) for frame in frames]
            if packet is None:
                return digests


def colour_bars(height: int, width: int) -> np.ndarray:
    """uint8 RGB: eight flat vertical bars (white, yellow, cyan, green, magenta, red, blue, grey)."""
    colours = np.array(
        [[235, 235, 235], [235, 235, 16], [16, 235, 235], [16, 235, 16], [235, 16, 235], [235, 16, 16],
         [16, 16, 235], [128, 128, 128]],
        dtype=np.uint8,
    )
    columns = np.minimum(np.arange(width) * len(colours) // width, len(colours) - 1)
    return np.ascontiguousarray(np.broadcast_to(colours[columns][None], (height, width, 3)))


def gentle_ramp16(height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint16 RGB with slow ramps whose values are mostly not multiples of 257 (8-bit data cannot hold them)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    offset = seed * 811
    red = 18000 + offset + 6000 * xx / max(width - 1, 1)
    green = 20000 + 5000 * yy / max(height - 1, 1)
    blue = 23000 + 2000 * (xx + yy) / max(width + height - 2, 1)
    return np.rint(np.stack([red, green, blue], axis=-1)).astype(np.uint16)


def numbered_frames(count: int, height: int, width: int) -> list[np.ndarray]:
    """uint8 RGB frames, each a flat colour that encodes its number, easy to tell apart after lossy coding."""
    frames = []
    for i in range(count):
        value = np.array([(37 * i) % 200 + 30, (91 * i) % 200 + 30, (53 * i) % 200 + 30], dtype=np.uint8)
        frames.append(np.ascontiguousarray(np.broadcast_to(value, (height, width, 3))))
    return frames


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv444p",
    pts: Sequence[int] | None = None,
    time_base: Fraction = Fraction(1, 25),
    rate: Fraction = Fraction(25),
    audio_codec: str | None = None,
    options: dict[str, str] | None = None,
) -> None:
    """Encodes ``frames`` with plain PyAV, optionally with explicit (irregular) pts and a sine-tone audio stream."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = cast(av.video.stream.VideoStream, container.add_stream(codec, rate=rate, options=options or {}))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        audio = cast(av.audio.stream.AudioStream, container.add_stream(audio_codec, rate=8000)) if audio_codec else None
        if audio is not None:
            audio.codec_context.layout = "mono"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i if pts is None else pts[i]
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            duration = float((pts[-1] + 1 if pts else len(frames)) * time_base)
            write_tone(container, audio, duration)


def write_tone(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> None:
    """Encodes a 440 Hz mono tone of ``seconds`` into ``stream``."""
    context = stream.codec_context
    rate = context.sample_rate
    fmt = context.format.name if context.format is not None else "s16"
    samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
    chunk = context.frame_size or 1024
    for start in range(0, len(samples), chunk):
        block = samples[start : start + chunk]
        data = (block * 100 + 128).astype(np.uint8) if fmt.startswith("u8") else (block * 3000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data[None], format="u8" if fmt.startswith("u8") else "s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_audio_only(path: Path, seconds: float = 0.5) -> None:
    """A file holding one PCM audio stream and nothing else."""
    with av.open(str(path), mode="w") as container:
        write_tone(container, cast(av.audio.stream.AudioStream, container.add_stream("pcm_s16le", rate=8000)), seconds)


def video_packets(path: Path) -> list[tuple[int | None, bytes]]:
    """``(pts, payload)`` of every non-empty video packet."""
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(video=0) if p.size]


def audio_packets(path: Path) -> list[bytes]:
    """Payloads of every non-empty packet of the first audio stream."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]
