"""Chunked runs on a local Ray instance: same frames as one machine, kills survived, resumes, bad inputs refused.

Ray runs with two CPUs for the whole test session (:func:`ray_address`); the propagate engine and a random ColorMNet
at a tiny processing size keep the units short. The clip's own colour frames serve as keyframe exemplars.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.cluster.driver import ChunkedRun, RunStatus, run_chunked
from colormnet.cluster.manifest import MANIFEST_NAME, Manifest
from colormnet.cluster.units import JobSpec, plan_units, weights_identity
from colormnet.errors import ExemplarError, OutputError
from colormnet.exemplar import load_exemplar_image
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader, VideoWriter, probe

ray = pytest.importorskip("ray")

CLIP = Path(__file__).parent / "data" / "clips" / "realshort.mp4"
FRAMES = "0:8"
PROPAGATE = ["--engine", "propagate", "--process-size", "32", "--frames", FRAMES]


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A Ray instance with two CPUs for the session; its address lets a CLI subprocess join it as a driver."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def stills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Frames 2 and 5 of the clip as colour stills, and a grayscale image."""
    folder = tmp_path_factory.mktemp("stills")
    with VideoReader(CLIP) as reader:
        images = {"s2": reader.read(2), "s5": reader.read(5), "gray": np.full((24, 32), 128, np.uint8)}
    for name, image in images.items():
        Image.fromarray(image).save(folder / f"{name}.png")
    return {name: folder / f"{name}.png" for name in images}


def _exemplar_args(stills: dict[str, Path]) -> list[str]:
    return ["-e", f"{stills['s2']}@2", "-e", f"{stills['s5']}@5"]


def _exemplars(stills: dict[str, Path]) -> list[Exemplar]:
    return [Exemplar(frame=f, image=load_exemplar_image(stills[f"s{f}"]), name=f"s{f}.png") for f in (2, 5)]


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory, stills: dict[str, Path]) -> Path:
    """The single-machine run (no chunks) as 16-bit PNGs."""
    out = tmp_path_factory.mktemp("baseline") / "frames"
    assert main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(out), "--codec", "png16",
                 *PROPAGATE]) == 0
    return out


def _same_images(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("*.png"))
    assert names == sorted(p.name for p in b.glob("*.png")) and len(names) == 8
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _run(stills: dict[str, Path], out: Path, **kwargs: object) -> ChunkedRun:
    fields: dict[str, object] = dict(video=CLIP, output=out, codec="png16", exemplars=_exemplars(stills),
                                     config=SessionConfig(engine="propagate", process_size=32), frames=range(0, 8))
    fields.update(kwargs)
    return ChunkedRun(**fields)  # type: ignore[arg-type]


# -- the plan and the manifest (no Ray) ------------------------------------------------------------------------


def test_units_cover_the_frames_once_in_order(stills: dict[str, Path]) -> None:
    with Session(CLIP, config=SessionConfig(engine="propagate")) as session:
        session.set_exemplars(_exemplars(stills))
        job = JobSpec(str(CLIP), None, session.config, 8, 1)
        units = plan_units(session, job, range(0, 8), weights_identity("propagate", None))
        other = plan_units(session, JobSpec(str(CLIP), None, session.config, 16, 1), range(0, 8), "none")
    assert [u.frames for u in units] == [(0, 1), (2, 3, 4), (5, 6, 7)]
    # backward from frame 2; between the exemplars a forward and a backward pass blended; forward from frame 5
    assert [u.steps for u in units] == [3, 6, 3]
    assert len({u.key for u in units}) == 3
    assert all(a.key != b.key for a, b in zip(units, other, strict=True))  # the bit depth is part of the inputs


def _interrupted_run(stills: dict[str, Path], tmp_path: Path) -> tuple[ChunkedRun, Path]:
    """A local chunked run cancelled once its first chunk is finished; returns it and its run folder."""
    cancel = threading.Event()

    def progress(status: RunStatus) -> None:
        if status.units_done >= 1:
            cancel.set()

    run = _run(stills, tmp_path / "out", work_dir=tmp_path / "work")
    with pytest.raises(KeyboardInterrupt):
        run_chunked(run, cancel=cancel, progress=progress)
    assert not run.output.exists()
    (folder,) = (tmp_path / "work").iterdir()
    return run, folder


@pytest.mark.parametrize("tamper", ["chunk", "manifest"])
def test_tampered_chunk_is_rendered_again(stills: dict[str, Path], baseline: Path, tmp_path: Path,
                                          tamper: str) -> None:
    run, folder = _interrupted_run(stills, tmp_path)
    records = Manifest(folder).records
    assert len(records) == 1
    (name,) = records
    if tamper == "chunk":
        data = bytearray((folder / name).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / name).write_bytes(bytes(data))
    else:
        manifest = json.loads((folder / MANIFEST_NAME).read_text())
        manifest["chunks"][name]["sha256"] = "0" * 64
        (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    summary = run_chunked(run)
    assert summary.reused == [] and summary.rendered == [0, 1, 2]
    _same_images(baseline, run.output)
    assert not folder.exists()  # removed once the output is in place


def test_assembly_encodes_behind_the_chunk_decoding(stills: dict[str, Path], baseline: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    encoded_on: list[str] = []
    write = VideoWriter.write

    def recording_write(self: VideoWriter, rgb: np.ndarray) -> None:
        encoded_on.append(threading.current_thread().name)
        write(self, rgb)

    monkeypatch.setattr(VideoWriter, "write", recording_write)
    run_chunked(_run(stills, tmp_path / "out", work_dir=tmp_path / "work"))
    assert encoded_on == ["assembly-writer"] * 8  # every frame, none on the thread that decodes the chunks
    _same_images(baseline, tmp_path / "out")  # in order, unchanged


def test_local_chunked_run_resumes_from_its_chunks(stills: dict[str, Path], baseline: Path, tmp_path: Path) -> None:
    run, folder = _interrupted_run(stills, tmp_path)
    (chunk,) = Manifest(folder).records
    before = (folder / chunk).stat()
    seen: list[tuple[int, int]] = []

    def progress(status: RunStatus) -> None:  # the reused chunk is still the same file while the others render
        after = (folder / chunk).stat()
        seen.append((after.st_ino, after.st_mtime_ns))

    summary = run_chunked(run, progress=progress)
    assert seen and set(seen) == {(before.st_ino, before.st_mtime_ns)}
    assert summary.reused == [0] and summary.rendered == [1, 2]
    _same_images(baseline, run.output)


def test_a_one_frame_render_is_told_alike_here_and_in_chunks(stills: dict[str, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name, extra in (("here", []), ("chunked", ["--work-dir", str(tmp_path / "work")])):
        out = tmp_path / f"{name}.mkv"
        code = main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(out), "--codec", "ffv1", "--engine",
                     "propagate", "--process-size", "32", "--frames", "3:4", *extra])
        err = capsys.readouterr().err
        assert code == 0 and f"Wrote '{out}' (1 frame, ffv1" in err, err


def test_a_cancelled_run_names_its_kept_chunks_or_leaves_no_folder(stills: dict[str, Path], tmp_path: Path) -> None:
    told: list[str] = []
    cancel = threading.Event()

    def progress(status: RunStatus) -> None:
        if status.done >= 1:  # during the first unit: no chunk finished yet
            cancel.set()

    run = _run(stills, tmp_path / "early", work_dir=tmp_path / "early-work")
    with pytest.raises(KeyboardInterrupt):
        run_chunked(run, cancel=cancel, progress=progress, notice=told.append)
    assert not (tmp_path / "early-work").exists() and told == []  # nothing to resume from: no folder, and the work
    # folder this run made is gone with it
    cancel.clear()

    def after_one(status: RunStatus) -> None:
        if status.units_done >= 1:
            cancel.set()

    run = _run(stills, tmp_path / "late", work_dir=tmp_path / "late-work")
    with pytest.raises(KeyboardInterrupt):
        run_chunked(run, cancel=cancel, progress=after_one, notice=told.append)
    (folder,) = (tmp_path / "late-work").iterdir()
    assert told == [f"The 1 finished chunk(s) stay in {folder}: the same command resumes from them (delete that "
                    "folder to start afresh)."]


def test_a_folder_that_cannot_be_tidied_does_not_hide_why_the_run_stopped(
    stills: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colormnet.cluster import driver

    def unreachable(folder: Path) -> None:
        raise OSError(5, "Input/output error")  # shared storage gone while the run stopped

    cancel = threading.Event()

    def progress(status: RunStatus) -> None:
        if status.units_done >= 1:  # a chunk is finished: the folder stays, its half-written files are removed
            monkeypatch.setattr(driver, "remove_partials", unreachable)
            cancel.set()

    with pytest.raises(KeyboardInterrupt):  # the cancel, not the storage's error
        run_chunked(_run(stills, tmp_path / "out", work_dir=tmp_path / "work"), cancel=cancel, progress=progress)


def test_a_run_cancelled_while_its_weights_load_leaves_no_folder(stills: dict[str, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.session import Session

    def interrupted(self: Session) -> None:
        raise KeyboardInterrupt  # Ctrl+C while the checkpoint is read, the likeliest moment of a long start

    monkeypatch.setattr(Session, "load_model", interrupted)
    (tmp_path / "work").mkdir()  # the user's own: it stays, empty again
    run = _run(stills, tmp_path / "out", work_dir=tmp_path / "work")
    with pytest.raises(KeyboardInterrupt):
        run_chunked(run)
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("where", ["output", "inside the output", "source"])
def test_a_work_folder_in_the_output_or_the_source_is_refused_before_rendering(
    stills: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from colormnet.cluster import driver

    monkeypatch.setattr(driver, "plan_units", lambda *a, **k: pytest.fail("planned before the check"))
    sequence = tmp_path / "frames"  # a source that is a folder of frames
    sequence.mkdir()
    with VideoReader(CLIP) as reader:
        for index in range(3):
            Image.fromarray(reader.read(index)).save(sequence / f"{index:03d}.png")
    out = tmp_path / "film.mkv"
    work = {"output": out, "inside the output": out / "work", "source": sequence / "work"}[where]
    run = _run(stills, out, codec="ffv1", work_dir=work, **({"video": sequence, "frames": range(3)}
                                                            if where == "source" else {}))
    with pytest.raises(OutputError, match=f"The work folder .* is the {where.split()[-1]} or lies inside it"):
        run_chunked(run)
    assert not work.exists() and not out.exists()


# -- on Ray ----------------------------------------------------------------------------------------------------


def test_cluster_frames_match_a_single_machine_run(ray_address: str, stills: dict[str, Path], baseline: Path,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "frames"
    code = main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(out), "--codec", "png16", *PROPAGATE,
                 "--cluster", "local", "--workers", "2", "--work-dir", str(tmp_path / "work")])
    assert code == 0
    _same_images(baseline, out)
    err = capsys.readouterr().err
    assert "units 3/3" in err and "3 chunk(s) rendered, 0 reused" in err
    assert not (tmp_path / "work").exists()  # made for the run, and gone with it once empty
    # the record, as a single-machine run writes it, says where the frames were made
    record = json.loads((out / "frames.colormnet.json").read_text())
    assert record["engine"]["rendered_on"] == "the Ray cluster at local" and record["engine"]["name"] == "propagate"
    assert record["output"]["frames"] == [0, 8]
    assert [(e["frame"], e["file"]) for e in record["exemplars"]] == [(2, "s2.png"), (5, "s5.png")]
    assert record["exemplars"][0]["sha256"] == hashlib.sha256(stills["s2"].read_bytes()).hexdigest()


def test_the_record_of_a_cluster_run_needs_no_worker_device_on_the_driver(stills: dict[str, Path], random_weights: Path,
                                                                         tmp_path: Path) -> None:
    """Workers with CUDA, a driver without: the driver still documents the run (it loads nothing on CUDA)."""
    from colormnet.cli.cluster import _write_record
    from colormnet.exemplar_spec import ExemplarSpec

    config = SessionConfig(engine="colormnet", device="cuda", precision="fp16", process_size=32)
    out = tmp_path / "film.mkv"
    run = _run(stills, out, codec="ffv1", config=config, weights=random_weights)
    _write_record(run, "10.0.0.7:6379", [ExemplarSpec(stills[f"s{f}"], f) for f in (2, 5)])
    engine = json.loads((tmp_path / "film.mkv.colormnet.json").read_text())["engine"]
    assert engine["rendered_on"] == "the Ray cluster at 10.0.0.7:6379"
    assert (engine["device"], engine["precision"]) == ("cuda", "fp16")  # the workers' settings, not the driver's
    assert engine["name"] == "colormnet" and engine["random_weights"] is True


def test_worker_killed_mid_unit_is_retried(ray_address: str, stills: dict[str, Path], baseline: Path,
                                           tmp_path: Path) -> None:
    killed: list[int] = []
    seen: list[RunStatus] = []

    def progress(status: RunStatus) -> None:
        seen.append(RunStatus(**{**status.__dict__, "pids": dict(status.pids)}))
        if not killed and status.done >= 1 and 2 in status.pids:  # the longest unit is under way
            killed.append(status.pids[2])
            os.kill(status.pids[2], signal.SIGKILL)

    # the whole clip at a larger size: the last unit (frames 5-35) runs long enough to be caught under way
    slow = {"frames": range(0, 36), "config": SessionConfig(engine="propagate", process_size=240)}
    run = _run(stills, tmp_path / "frames", cluster="local", workers=2, work_dir=tmp_path / "work", **slow)
    summary = run_chunked(run, progress=progress)
    assert killed and summary.rendered == [0, 1, 2]
    assert seen[-1].retried >= 1 and seen[-1].units_done == 3
    local = run_chunked(_run(stills, tmp_path / "local", work_dir=tmp_path / "local-work", **slow))
    assert local.rendered == [0, 1, 2]
    names = sorted(p.name for p in (tmp_path / "local").glob("*.png"))
    assert len(names) == 36 and names == sorted(p.name for p in run.output.glob("*.png"))
    for name in names:
        assert (tmp_path / "local" / name).read_bytes() == (run.output / name).read_bytes(), name


def test_error_inside_a_unit_is_not_retried(ray_address: str, tmp_path: Path) -> None:
    from colormnet.cluster.ray_backend import run_on_ray

    bad = [Exemplar(frame=2, image=np.full((24, 32, 3), 0.5, np.float32), name="gray.png")]
    with Session(CLIP, config=SessionConfig(engine="propagate")) as session:
        with pytest.raises(ExemplarError) as local_error:
            session.set_exemplars(bad)
        session.exemplars = tuple(bad)  # skip the driver's check: the task must refuse it itself
        job = JobSpec(str(CLIP), None, session.config, 8, 1)
        units = plan_units(session, job, range(2, 4), "none")
    attempts: list[int] = []
    with pytest.raises(ExemplarError) as remote_error:
        run_on_ray(job, bad, units, tmp_path, workers=1, weights=None, on_chunk=lambda *a: None,
                   on_progress=lambda p: attempts.extend(e["attempts"] for e in p.units.values()))
    assert str(remote_error.value) == str(local_error.value)
    assert max(attempts, default=1) == 1


def test_bad_exemplar_stops_with_the_local_one_line_error(ray_address: str, stills: dict[str, Path],
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = ["colorize", str(CLIP), "-e", f"{stills['gray']}@2", "--engine", "propagate"]
    assert main([*args, "-o", str(tmp_path / "local.mp4")]) == 1
    local = capsys.readouterr().err.strip()
    out = tmp_path / "cluster.mp4"
    assert main([*args, "-o", str(out), "--cluster", "local", "--work-dir", str(tmp_path / "work")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [local] and "grayscale" in local
    assert not out.exists() and not list(tmp_path.glob(".cluster.mp4*"))


def test_unreachable_cluster_is_one_line(stills: dict[str, Path], tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens at
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "film.mkv"
    done = subprocess.run(_cli(*_exemplar_args(stills), "-o", str(out), *PROPAGATE, "--cluster", f"127.0.0.1:{port}"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("finding shots")]
    assert len(lines) == 1 and lines[0].startswith("colormnet: error:"), done.stderr
    assert lines[0].startswith(f"colormnet: error: Cannot reach the Ray cluster at 127.0.0.1:{port}")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # nor a run folder beside it, with no chunk to resume from


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "colormnet.cli", "colorize", str(CLIP), *args]


def _kill_after_first_chunk(command: list[str], work: Path, timeout: float = 120.0) -> int:
    """Starts the CLI, kill -9s it once the manifest records a chunk; returns the number of chunks recorded."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            manifests = list(work.glob(f"*/{MANIFEST_NAME}"))
            if manifests and json.loads(manifests[0].read_text())["chunks"]:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
    finally:
        process.kill()
        process.wait()
    (manifest,) = work.glob(f"*/{MANIFEST_NAME}")
    return len(json.loads(manifest.read_text())["chunks"])


@pytest.mark.parametrize("where", ["cluster", "local"])
def test_killed_driver_resumes_reusing_finished_chunks(ray_address: str, stills: dict[str, Path], tmp_path: Path,
                                                       where: str) -> None:
    out, work = tmp_path / "film.mkv", tmp_path / "work"  # FFV1: lossless, so the frames compare exactly
    command = _cli(*_exemplar_args(stills), "-o", str(out), "--codec", "ffv1", *PROPAGATE, "--work-dir", str(work))
    command += ["--cluster", ray_address] if where == "cluster" else []
    finished = _kill_after_first_chunk(command, work)
    assert not out.exists()
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"{3 - finished} chunk(s) rendered, {finished} reused" in done.stderr
    local = tmp_path / "local.mkv"
    assert main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(local), "--codec", "ffv1",
                 *PROPAGATE]) == 0
    info = probe(out)
    assert info.frame_count == 8 and info.has_audio
    with VideoReader(out) as a, VideoReader(local) as b:
        assert all(np.array_equal(a.read(i), b.read(i)) for i in range(8))
    record, single = (json.loads(Path(f"{path}.colormnet.json").read_text()) for path in (out, local))
    where_made = "this machine" if where == "local" else f"the Ray cluster at {ray_address}"
    assert record["engine"]["rendered_on"] == where_made
    for part in ("exemplars", "settings", "shots", "source"):  # documented as the single-machine run documents it
        assert record[part] == single[part], part


def test_colormnet_on_the_cluster_matches_within_tolerance(ray_address: str, stills: dict[str, Path],
                                                           random_weights: Path, tmp_path: Path) -> None:
    common = ["--engine", "colormnet", "--weights", str(random_weights), "--process-size", "32", "--frames", "0:5",
              "--codec", "png16", "--device", "cpu"]
    assert main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(tmp_path / "local"), *common]) == 0
    assert main(["colorize", str(CLIP), *_exemplar_args(stills), "-o", str(tmp_path / "ray"), *common,
                 "--cluster", "local", "--workers", "1", "--work-dir", str(tmp_path / "work")]) == 0
    for name in sorted(p.name for p in (tmp_path / "local").glob("*.png")):
        a = cv2.imread(str(tmp_path / "local" / name), cv2.IMREAD_UNCHANGED).astype(np.int64)
        b = cv2.imread(str(tmp_path / "ray" / name), cv2.IMREAD_UNCHANGED).astype(np.int64)
        assert a.dtype == b.dtype and a.shape == (240, 320, 3)
        # same torch thread count in every task: equal up to float summation order (at most 1/256 of the range)
        assert np.abs(a - b).max() <= 256, name
