"""Phone clips with a display rotation: frames are read and encoded as stored, the rotation tag travels onto movie
exports, and whatever a person sees or hands in (stills, image sequences, exemplars) is upright."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from colormnet.cli import main
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader, VideoWriter
from colormnet.video.orientation import display_size, to_display, to_stored
from tests.test_video_support import CLIPS

STORED = (48, 80)  # height, width as stored: landscape, as a phone sensor records a portrait shot
COUNT = 4


def stored_frames() -> list[np.ndarray]:
    """Colour gradients with a white block at the stored top-left corner, one frame brighter than the last."""
    height, width = STORED
    frames = []
    for i in range(COUNT):
        rgb = np.zeros((height, width, 3), np.uint8)
        rgb[..., 0] = np.linspace(40, 200, width, dtype=np.uint8)[None, :]
        rgb[..., 1] = np.linspace(30, 180, height, dtype=np.uint8)[:, None]
        rgb[..., 2] = 60 + 20 * i
        rgb[:8, :12] = 255
        frames.append(rgb)
    return frames


def write_rotated(path: Path, degrees: float, codec: str = "ffv1", pix_fmt: str = "bgr0") -> list[np.ndarray]:
    """A small clip tagged like a phone clip: ``degrees`` counter-clockwise in PyAV's convention (-90: a player
    turns it 90 degrees clockwise, what ffprobe reports as "rotation of -90")."""
    frames = stored_frames()
    with av.open(str(path), mode="w") as container:
        stream = cast(av.video.stream.VideoStream, container.add_stream(codec, rate=Fraction(25)))
        stream.width, stream.height, stream.pix_fmt = STORED[1], STORED[0], pix_fmt
        stream.set_display_rotation(degrees)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return frames


def rotation_tag(path: Path) -> tuple[int, tuple[int, int]]:
    """The rotation a player reads from ``path`` (PyAV's convention) and the stored (width, height)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.rotation, (frame.width, frame.height)


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("phone") / "portrait.mkv"
    write_rotated(path, -90)
    return path


@pytest.mark.parametrize(("degrees", "rotation"), [(-90, 270), (90, 90), (180, 180), (0, 0)])
def test_the_rotation_is_read_and_frames_stay_as_stored(tmp_path: Path, degrees: float, rotation: int) -> None:
    path = tmp_path / "clip.mkv"
    frames = write_rotated(path, degrees)
    with VideoReader(path) as reader:
        assert reader.info.rotation == rotation
        assert (reader.info.height, reader.info.width) == STORED
        assert np.array_equal(reader.read(1), frames[1])
        upright = reader.read_upright(1)
    assert upright.shape[:2] == display_size(STORED[1], STORED[0], rotation)[::-1]
    assert np.array_equal(to_stored(upright, rotation), frames[1])


def test_a_minus_90_tag_turns_the_frame_clockwise_for_display(phone_clip: Path) -> None:
    """The stored top-left block ends up top-right, as a player shows a portrait phone clip."""
    with VideoReader(phone_clip) as reader:
        upright = reader.read_upright(0)
    assert upright.shape[:2] == (STORED[1], STORED[0])
    assert (upright[:12, -8:] == 255).all() and not (upright[:12, :8] == 255).all()


def test_a_clip_without_a_tag_has_no_rotation() -> None:
    with VideoReader(CLIPS / "realshort.mp4") as reader:
        assert reader.info.rotation == 0 and reader.info.display_matrix is None
        assert reader.info.to_dict()["rotation"] == 0
        assert np.array_equal(reader.read_upright(3), reader.read(3))


@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))),
       st.sampled_from([0, 90, 180, 270]))
def test_turns_are_lossless_and_invert(image: np.ndarray, rotation: int) -> None:
    upright = to_display(image, rotation)
    assert upright.shape[:2] == display_size(image.shape[1], image.shape[0], rotation)[::-1]
    assert upright.flags.c_contiguous
    assert np.array_equal(to_stored(upright, rotation), image)


@pytest.mark.parametrize(("codec", "suffix"), [("h264", ".mp4"), ("ffv1", ".mkv"), ("prores", ".mov")])
def test_a_movie_export_carries_the_rotation_without_turning_pixels(phone_clip: Path, tmp_path: Path, codec: str,
                                                                     suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    with VideoReader(phone_clip) as reader, VideoWriter(out, codec, width=STORED[1], height=STORED[0],
                                                        source=reader, audio=False) as writer:
        for _, rgb in reader.frames():
            writer.write(rgb)
    assert rotation_tag(out) == (-90, (STORED[1], STORED[0]))
    with VideoReader(out) as written:
        assert written.info.rotation == 270 and len(written) == COUNT


def test_an_image_sequence_export_is_upright(phone_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    with VideoReader(phone_clip) as reader, VideoWriter(out, "png", width=STORED[1], height=STORED[0],
                                                        source=reader) as writer:
        for _, rgb in reader.frames():
            writer.write(rgb)
        expected = reader.read_upright(2)
    files = sorted(out.glob("*.png"))
    assert len(files) == COUNT
    assert np.array_equal(np.asarray(Image.open(files[2]).convert("RGB")), expected)


def test_extract_frame_writes_the_frame_as_seen_and_info_names_the_rotation(
    phone_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    still = tmp_path / "still.png"
    assert main(["extract-frame", str(phone_clip), "1", "-o", str(still)]) == 0
    with VideoReader(phone_clip) as reader:
        assert np.array_equal(np.asarray(Image.open(still)), reader.read_upright(1))
    assert main(["info", str(phone_clip)]) == 0
    assert "rotation   shown turned 90 degrees clockwise" in capsys.readouterr().out


def test_an_upright_exemplar_is_turned_to_the_stored_frames(phone_clip: Path) -> None:
    """An exemplar made from the frame as seen is recognised as that frame's keyframe: the session turns it back."""
    with VideoReader(phone_clip) as reader:
        upright = reader.read_upright(0).astype(np.float32) / 255
    with Session(phone_clip, config=SessionConfig(engine="propagate", process_size=48)) as session:
        session.set_exemplars([Exemplar(frame=0, image=upright)])
        assert session.exemplars[0].image.shape[:2] == STORED
        kind, score = session.resolve_kind(0)
    assert kind == "keyframe" and score > 0.9
