"""The demo: the bundled clip colorized from its first frame's true colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colormnet.cli import main
from colormnet.demo import demo_engine, demo_exemplar, demo_video_path
from colormnet.video import VideoReader


def test_demo_resources_are_bundled_with_their_licence() -> None:
    video = demo_video_path()
    assert video.is_file() and (video.parent / "LICENSE.realshort.txt").is_file()
    exemplar = demo_exemplar()
    assert exemplar.frame == 0 and exemplar.kind == "keyframe" and exemplar.image.shape == (240, 320, 3)


def test_demo_engine_prefers_colormnet_when_its_weights_exist(random_weights: Path, tmp_path: Path) -> None:
    assert demo_engine(random_weights) == "colormnet"
    assert demo_engine(tmp_path / "missing.pth") in ("propagate", "colormnet")


def test_demo_command_writes_the_colorized_clip(capsys, random_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    code = main(["demo", str(out), "--engine", "colormnet", "--weights", str(random_weights), "--process-size", "112"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "RANDOM" in err and "keyframe" in err
    with VideoReader(out) as result, VideoReader(demo_video_path()) as source:
        assert result.info.frame_count == 36 and result.info.has_audio
        assert np.abs(result.read(0).astype(int) - source.read(0).astype(int)).mean() < 3  # frame 0: true colours
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.mp4", "demo.mp4.colormnet.json"]  # and its record


def test_demo_without_weights_says_why_it_runs_the_fallback(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLORMNET_WEIGHTS", str(tmp_path / "missing.pth"))
    out = tmp_path / "demo.mp4"
    code = main(["demo", str(out), "--process-size", "32"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert ("engine propagate (the ColorMNet weights are not installed: `colormnet weights download` fetches them, "
            "or pass --weights).") in err


def test_demo_given_weights_that_are_not_there_says_so_once(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "typo.pth"
    code = main(["demo", str(tmp_path / "demo.mp4"), "--process-size", "32", "--weights", str(missing)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"engine propagate (no ColorMNet weights at '{missing}')." in err, err
    assert "pass --weights" not in err and "--weights is not used" not in err
