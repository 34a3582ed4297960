"""``colorize --shots auto|off|FILE``: shots found or read, and where the colours of each shot come from."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.shots import Shot, save_shot_list
from colormnet.video import VideoReader

CLIPS = Path(__file__).parent / "data" / "clips"


@pytest.fixture(scope="module")
def montage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder of 24 frames cutting from realshort to movie at frame 12, and a colour still of frame 2."""
    folder = tmp_path_factory.mktemp("montage")
    frames = []
    for name in ("realshort.mp4", "movie.mp4"):
        with VideoReader(CLIPS / name) as reader:
            frames += [cv2.resize(reader.read(i), (160, 120), interpolation=cv2.INTER_AREA) for i in range(12)]
    video = folder / "frames"
    video.mkdir()
    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).save(video / f"{i:04d}.png")
    still = folder / "still.png"
    Image.fromarray(frames[2]).save(still)
    return video, still


def colorize(capsys, video: Path, still: Path, out: Path, *extra: str) -> tuple[int, str]:
    code = main(["colorize", str(video), "-e", f"{still}@2", "-o", str(out), "--codec", "png", "--engine",
                 "propagate", "--process-size", "120", *extra])
    return code, capsys.readouterr().err


def test_a_shot_list_file_bounds_the_memory_and_the_summary_says_where_colours_come_from(
    capsys, montage, tmp_path: Path
) -> None:
    video, still = montage
    shots = tmp_path / "shots.csv"
    save_shot_list(shots, [Shot(0, 12, "start"), Shot(12, 24, "cut")], fps=24)
    code, err = colorize(capsys, video, still, tmp_path / "out", "--shots", str(shots))
    assert code == 0, err
    assert "shot 1 (frames 0-11): exemplar at frame 2\n" in err
    assert "shot 2 (frames 12-23): borrows the exemplar at frame 2 as a reference" in err
    assert len(list((tmp_path / "out").glob("*.png"))) == 24
    assert shots.read_text().startswith("start")  # the shot list is read, never written


def test_a_hand_written_csv_of_start_and_stop_cuts_there(capsys, montage, tmp_path: Path) -> None:
    video, still = montage
    shots = tmp_path / "shots.csv"
    shots.write_text("start,stop\n0,12\n12,24\n")
    code, err = colorize(capsys, video, still, tmp_path / "out", "--shots", str(shots))
    assert code == 0, err
    assert "shot 2 (frames 12-23): borrows the exemplar at frame 2 as a reference" in err


def test_shots_off_is_one_shot_and_auto_finds_the_cut(capsys, montage, tmp_path: Path) -> None:
    video, still = montage
    code, err = colorize(capsys, video, still, tmp_path / "off", "--shots", "off", "--transition", "cut")
    assert code == 0 and "shot 1" not in err
    code, err = colorize(capsys, video, still, tmp_path / "auto")
    assert code == 0, err
    assert "shot 2 (frames 12-23)" in err
    off = np.asarray(Image.open(tmp_path / "off" / "00013.png"))
    auto = np.asarray(Image.open(tmp_path / "auto" / "00013.png"))
    assert not np.array_equal(off, auto)  # after the cut the memory starts again from the borrowed exemplar


@pytest.mark.parametrize("content", ["start,stop\n0,5\n", "start,boundary\n0,start\n", "{not json", ""])
def test_a_bad_shot_list_is_one_line(capsys, montage, tmp_path: Path, content: str) -> None:
    video, still = montage
    bad = tmp_path / ("shots.json" if content.startswith("{") else "shots.csv")
    bad.write_text(content)
    code, err = colorize(capsys, video, still, tmp_path / "out", "--shots", str(bad))
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("colormnet: error:")
    assert not (tmp_path / "out").exists()


THREE_SHOTS = [Shot(0, 8, "start"), Shot(8, 16, "cut"), Shot(16, 24, "cut")]


def colorize_two(capsys, video: Path, still: Path, out: Path, shots: Path) -> tuple[int, str]:
    """Colorizes with exemplars at frames 2 (shot 1) and 12 (shot 2) and the shot list ``shots``."""
    code = main(["colorize", str(video), "-e", f"{still}@2", "-e", f"{still}@12", "-o", str(out), "--codec", "png",
                 "--engine", "propagate", "--process-size", "120", "--shots", str(shots)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_a_link_in_the_shot_list_is_taken_and_said(capsys, montage, tmp_path: Path, suffix: str) -> None:
    video, still = montage
    shots = save_shot_list(tmp_path / f"shots{suffix}", THREE_SHOTS, 24, {16: 2})
    code, err = colorize_two(capsys, video, still, tmp_path / "out", shots)
    assert code == 0, err
    assert "shot 3 (frames 16-23): borrows the exemplar at frame 2 as a reference (linked by hand)" in err
    save_shot_list(shots, THREE_SHOTS, 24, {16: 12})
    code, err = colorize_two(capsys, video, still, tmp_path / "out12", shots)
    assert "shot 3 (frames 16-23): borrows the exemplar at frame 12 as a reference (linked by hand)" in err


@pytest.mark.parametrize(("links", "message"), [
    ({16: 5}, "shots.json: shot 3 (frames 16-23): colours_from 5 holds no exemplar (exemplars at frames: 2, 12)."),
    ({8: 2}, "shots.json: shot 2 (frames 8-15) has its own exemplar at frame 12; colours_from applies only to a "
             "shot without one: leave it empty."),
    ({16: 20}, "shots.json: shot 3 (frames 16-23): colours_from 20 is one of its own frames"),
])
def test_a_bad_link_is_one_line(capsys, montage, tmp_path: Path, links: dict[int, int], message: str) -> None:
    video, still = montage
    shots = save_shot_list(tmp_path / "shots.json", THREE_SHOTS, 24, links)
    code, err = colorize_two(capsys, video, still, tmp_path / "out", shots)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("colormnet: error:") and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_chunked_run_takes_the_links_too(capsys, montage, tmp_path: Path) -> None:
    video, still = montage
    other = tmp_path / "other.png"
    Image.fromarray(np.asarray(Image.open(still))[..., ::-1].copy()).save(other)  # other colours (BGR)
    shots = tmp_path / "shots.json"
    renders = {}
    for target, extra in ((12, ()), (2, ()), (2, ("--work-dir", str(tmp_path / "work")))):
        save_shot_list(shots, THREE_SHOTS, 24, {16: target})
        out = tmp_path / f"out{target}{'-chunked' if extra else ''}"
        code = main(["colorize", str(video), "-e", f"{still}@2", "-e", f"{other}@12", "-o", str(out), "--codec",
                     "png", "--engine", "propagate", "--process-size", "120", "--shots", str(shots), *extra])
        assert code == 0, capsys.readouterr().err
        renders[out.name] = (out / "00020.png").read_bytes()
    assert renders["out2"] != renders["out12"]  # the link decides the third shot's colours
    assert renders["out2-chunked"] == renders["out2"]  # and the chunked run follows it (not the similar shot 2)


def test_the_summary_names_one_exemplar_in_the_singular_and_several_in_the_plural() -> None:
    from types import SimpleNamespace

    from colormnet.cli.colorize import _shot_summary

    sources = [SimpleNamespace(shot=0, start=0, stop=39, how="own", own=[0], borrowed=None, similarity=None),
               SimpleNamespace(shot=1, start=39, stop=288, how="own", own=[1, 2], borrowed=None, similarity=None)]
    session = SimpleNamespace(shot_sources=lambda: sources,
                              exemplars=[SimpleNamespace(frame=f) for f in (0, 150, 200)])
    assert _shot_summary(session) == ["shot 1 (frames 0-38): exemplar at frame 0",
                                      "shot 2 (frames 39-287): exemplars at frames 150, 200"]
    # a range render speaks of the shots it meets only, numbered as in the whole film
    assert _shot_summary(session, range(100, 120)) == ["shot 2 (frames 39-287): exemplars at frames 150, 200"]
    assert len(_shot_summary(session, range(30, 40))) == 2 and _shot_summary(session, range(0, 39))[0].startswith(
        "shot 1") and len(_shot_summary(session, range(0, 39))) == 1


def test_finding_shots_draws_one_line_once_and_nothing_when_the_cache_has_them(
    capsys, montage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Standard error here is no terminal: every redraw of a bar stays in the text, as in a log file."""
    video, still = montage
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, err = colorize(capsys, video, still, tmp_path / "first")
    assert code == 0, err
    assert err.count("finding shots:") == 1 and "finding shots: 100%" in err, err  # 24 frames: one report, drawn once
    code, err = colorize(capsys, video, still, tmp_path / "cached")
    assert code == 0 and "shot 2 (frames 12-23)" in err, err
    assert "finding shots" not in err.lower(), err  # from the cache: no bar at all
    code = main(["shots", str(video), "--detector", "scenedetect"])
    err = capsys.readouterr().err
    assert code == 0 and err.count("finding shots: 100%") == 1, err  # the same words in both commands
