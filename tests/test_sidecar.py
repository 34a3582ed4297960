"""The record beside an export: what it holds, where it goes, and that it never replaces a file unasked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.sidecar import sidecar_path
from colormnet.video import VideoReader


@pytest.fixture(scope="module")
def still(realshort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("still") / "still.png"
    with VideoReader(realshort) as reader:
        Image.fromarray(reader.read(3)).save(path)
    return path


def test_paths() -> None:
    assert sidecar_path(Path("out/film.mov")) == Path("out/film.mov.colormnet.json")
    assert sidecar_path(Path("out/reel1"), folder=True) == Path("out/reel1/reel1.colormnet.json")


def test_the_record_names_engine_settings_exemplars_and_shots(capsys, realshort: Path, still: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "reel.mkv"
    args = ["colorize", str(realshort), "-e", f"{still}@3:keyframe", "-o", str(out), "--codec", "ffv1", "--engine",
            "propagate", "--process-size", "64", "--frames", "0:6", "--shots", "off", "--transition", "cut"]
    assert main(args) == 0, capsys.readouterr().err
    record = json.loads((tmp_path / "reel.mkv.colormnet.json").read_text())
    assert record["engine"]["name"] == "propagate" and record["engine"]["weights_fingerprint"].startswith("propagate")
    assert record["settings"]["transition"] == "cut" and record["settings"]["process_size"] == 64
    assert record["exemplars"][0]["frame"] == 3 and record["exemplars"][0]["used_as"] == "keyframe"
    assert record["source"]["frames"] == 36 and record["output"]["frames"] == [0, 6]
    # a second export onto the same name needs --overwrite, for the record as for the output
    out.unlink()
    assert main(args) == 1
    assert "reel.mkv.colormnet.json" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--overwrite"]) == 0


def test_the_record_never_replaces_a_file_the_export_reads(capsys, realshort: Path, still: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "reel.mkv"
    shots = tmp_path / "reel.mkv.colormnet.json"  # a shot list that happens to bear the record's name
    shots.write_text('{"shots": [{"start": 0, "stop": 36, "boundary": "start"}]}')
    before = shots.read_bytes()
    code = main(["colorize", str(realshort), "-e", f"{still}@3", "-o", str(out), "--codec", "ffv1", "--engine",
                 "propagate", "--process-size", "64", "--shots", str(shots), "--overwrite"])
    assert code == 1 and "reads and never writes" in capsys.readouterr().err
    assert shots.read_bytes() == before and not out.exists()


def test_a_borrowing_shot_is_named_by_its_frames_as_well_as_its_index(capsys, realshort: Path, still: Path,
                                                                      tmp_path: Path) -> None:
    shots = tmp_path / "cuts.csv"
    shots.write_text("start,stop\n0,18\n18,36\n")
    out = tmp_path / "reel.mkv"
    code = main(["colorize", str(realshort), "-e", f"{still}@3:keyframe", "-o", str(out), "--codec", "ffv1",
                 "--engine", "propagate", "--process-size", "64", "--shots", str(shots)])
    err = capsys.readouterr().err
    assert code == 0, err
    record = json.loads((tmp_path / "reel.mkv.colormnet.json").read_text())
    assert [s["start"] for s in record["shots"]] == [0, 18]
    (entry,) = record["borrowed"]
    assert (entry["shot"], entry["frames"], entry["exemplar_frame"]) == (1, [18, 36], 3)
    assert "shot 2 (frames 18-35)" in err  # the messages count shots from 1; the record's frames say which


def test_a_folder_patched_by_ranges_keeps_the_earlier_renders_records(capsys, realshort: Path, still: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "reel"
    base = ["colorize", str(realshort), "-e", f"{still}@3:keyframe", "-o", str(out), "--codec", "png", "--engine",
            "propagate", "--process-size", "64", "--shots", "off", "--overwrite"]

    def render(*extra: str) -> dict:
        assert main([*base, *extra]) == 0, capsys.readouterr().err
        return json.loads((out / "reel.colormnet.json").read_text())

    assert "earlier" not in render()
    patched = render("--frames", "6:12")
    assert patched["output"]["frames"] == [6, 12]
    assert [r["output"]["frames"] for r in patched["earlier"]] == [[0, 36]]
    again = render("--frames", "20:24", "--transition", "cut")
    assert [r["output"]["frames"] for r in again["earlier"]] == [[6, 12], [0, 36]]  # newest first, none nested
    assert all("earlier" not in r for r in again["earlier"])
    assert "earlier" not in render()  # the whole video again: every frame is this render's

    for stranger in ('{"not": "a record"}', "[" * 100000 + "]" * 100000):  # files this program did not write
        (out / "reel.colormnet.json").write_text(stranger)
        assert render("--frames", "0:4")["earlier"] == []


def test_a_long_history_keeps_the_newest_renders_and_counts_the_others(tmp_path: Path) -> None:
    from colormnet.sidecar import write_sidecar

    out = tmp_path / "reel"
    out.mkdir()
    for number in range(53):
        record = {"program": "colormnet 1", "source": {"frames": 100}, "output": {"frames": [number, number + 1]}}
        written = json.loads(write_sidecar(out, record, folder=True).read_text())
    assert [r["output"]["frames"][0] for r in written["earlier"]] == list(range(51, 1, -1))
    assert written["earlier_left_out"] == 2
