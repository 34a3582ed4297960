"""``colormnet weights path`` and ``weights download`` on what is already at the destination: an empty file or a
checkpoint cut short is not "present" and is downloaded over; the weights stay, and so does any other file (a
checkpoint of other weights, a video or a web page given by mistake). The library's own downloads (the app's) keep the
same rule."""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from colormnet.cli import main
from colormnet.engines.colormnet import weights as cm_weights
from colormnet.engines.deepexemplar import weights as de_weights
from colormnet.errors import WeightsError
from tests.weights_server import WeightsServer, serve

PAYLOAD = b"the published weights " * 50_000


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _saved(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _path_then_download(capsys: pytest.CaptureFixture[str], dest: Path, content: bytes) -> tuple[str, int, str]:
    """``content`` at ``dest``; what ``weights path`` prints of it, then ``weights download``'s exit code and
    stderr."""
    dest.write_bytes(content)
    code, out, _ = run_cli(capsys, "weights", "path", "--weights", dest)
    assert code == (0 if "[present" in out else 1), out
    code, _, err = run_cli(capsys, "weights", "download", "--dest", dest)
    return out, code, err


NOT_CHECKPOINTS = {
    "empty": (b"", "is empty (0 bytes)"),
    "cut short": (_saved({"a.weight": torch.ones(64, 64)})[:5000],  # an archive whose end never arrived
                  "is damaged or incomplete (perhaps an interrupted download)"),
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[WeightsServer]:
    """The ColorMNet download, fetching ``PAYLOAD`` from a local server."""
    with serve(PAYLOAD) as state:
        monkeypatch.setattr(cm_weights, "download_weights", functools.partial(cm_weights.download_weights,
                                                                              url=state.url))
        yield state


@pytest.mark.parametrize("kind", NOT_CHECKPOINTS)
def test_a_file_that_is_no_checkpoint_is_said_so_and_downloaded_over(capsys, tmp_path: Path, server: WeightsServer,
                                                                     kind: str) -> None:
    content, fault = NOT_CHECKPOINTS[kind]
    dest = tmp_path / "w.pth"
    out, code, err = _path_then_download(capsys, dest, content)
    assert out.strip() == (f"{dest}  [not usable: it {fault}; run `colormnet weights download --dest {dest}` to "
                           "replace it]"), out
    assert code == 0, err
    assert f"{dest} {fault}: downloading the ColorMNet weights over it.\n" in err, err
    assert f"Saved the ColorMNet weights to {dest}." in err and "already" not in err, err
    assert dest.read_bytes() == PAYLOAD and server.ranges == [None]
    assert sorted(tmp_path.iterdir()) == [dest]  # fetched beside it and renamed over it


def test_a_checkpoint_at_the_destination_stays_as_it_is(capsys, tmp_path: Path, server: WeightsServer,
                                                        random_weights: Path) -> None:
    before = random_weights.stat()
    code, out, _ = run_cli(capsys, "weights", "path", "--weights", random_weights)
    assert code == 0 and out.strip() == f"{random_weights}  [present: RANDOM weights (seed 0), for tests and demos]"
    code, _, err = run_cli(capsys, "weights", "download", "--dest", random_weights)
    assert code == 0 and f"weights are already at {random_weights}: nothing was downloaded" in err, err
    after = random_weights.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_a_weights_folder_with_a_file_that_is_no_checkpoint_is_downloaded_again(capsys, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    asked: list[Path] = []
    monkeypatch.setattr(de_weights, "download_weights", lambda dest, **_: asked.append(dest) or dest)
    folder = tmp_path / "de"
    folder.mkdir()
    for file in de_weights.WEIGHT_FILES:
        (folder / file).write_bytes(b"")
    code, out, _ = run_cli(capsys, "weights", "path", "--engine", "deepexemplar", "--weights", folder)
    assert code == 1 and out.strip() == (f"{folder}  [not usable: {de_weights.VGG_FILE} is empty (0 bytes); run "
                                         f"`colormnet weights download --engine deepexemplar --dest {folder}` to "
                                         "replace it]"), out
    code, _, err = run_cli(capsys, "weights", "download", "--engine", "deepexemplar", "--dest", folder)
    vgg = folder / de_weights.VGG_FILE
    assert code == 0 and f"{vgg} is empty (0 bytes): downloading the Deep Exemplar weights over it." in err, err
    assert asked == [folder]


NOT_THE_WEIGHTS = {
    "other weights": (_saved({"a.weight": torch.ones(2)}), "is not a ColorMNet checkpoint: "),
    "web page": (b"<!DOCTYPE html><html>Not Found</html>", "is not a PyTorch checkpoint"),
    "video": (b"\x00\x00\x00\x18ftypmp42" + bytes(4096), "is not a PyTorch checkpoint"),
}


@pytest.mark.parametrize("kind", NOT_THE_WEIGHTS)
def test_a_file_that_is_not_the_weights_is_the_user_s_and_stays(capsys, tmp_path: Path, server: WeightsServer,
                                                                 kind: str) -> None:
    content, fault = NOT_THE_WEIGHTS[kind]
    other = tmp_path / "other.pth"
    out, code, err = _path_then_download(capsys, other, content)
    assert out.startswith(f"{other}  [not usable: it {fault}") and "download" not in out, out
    assert code == 1 and err.startswith(f"colormnet: error: {other} {fault}") and \
        err.endswith(", so nothing was downloaded over it; move it away or choose another --dest.\n"), err
    assert len(err.splitlines()) == 1, err
    assert other.read_bytes() == content and server.ranges == []


@pytest.mark.parametrize("kind", NOT_THE_WEIGHTS)
def test_the_library_download_leaves_a_file_that_is_not_the_weights_alone(tmp_path: Path, server: WeightsServer,
                                                                          kind: str) -> None:
    content, fault = NOT_THE_WEIGHTS[kind]
    other = tmp_path / "other.pth"
    other.write_bytes(content)
    with pytest.raises(WeightsError) as caught:
        cm_weights.download_weights(other)
    message = str(caught.value)
    assert message.startswith(f"{other} {fault}") and message.endswith(
        ", so nothing was downloaded over it; move it away or choose another destination."), message
    assert other.read_bytes() == content and server.ranges == []


def test_the_library_download_keeps_weights_and_replaces_an_empty_file(tmp_path: Path, server: WeightsServer,
                                                                       random_weights: Path) -> None:
    before = random_weights.read_bytes()
    assert cm_weights.download_weights(random_weights) == random_weights
    assert random_weights.read_bytes() == before and server.ranges == []
    empty = tmp_path / "w.pth"
    empty.write_bytes(b"")
    assert cm_weights.download_weights(empty) == empty
    assert empty.read_bytes() == PAYLOAD and server.ranges == [None]
