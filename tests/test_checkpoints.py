"""The checkpoint layer every engine stands on: paths, atomic writes, reading, manifests and the download, each
worded for the engine it serves; both engines reach it the same way."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from colormnet.engines import checkpoints
from colormnet.engines.checkpoints import Release, Source, reading
from colormnet.engines.colormnet import weights as cm_weights
from colormnet.engines.deepexemplar import weights as de_weights
from colormnet.errors import WeightsError
from tests.weights_server import WeightsServer, serve

SOURCE = Source("Test", "fetch it again")
ROWS = (("a.weight", (2, 3), torch.float32), ("a.bias", (2,), torch.float32), ("n", (), torch.int64))


def _state() -> dict[str, torch.Tensor]:
    return {"a.weight": torch.ones(2, 3), "a.bias": torch.zeros(2), "n": torch.tensor(4)}


# --- locating ------------------------------------------------------------------------------------------------------


def test_resolve_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "default"
    monkeypatch.delenv("TEST_WEIGHTS", raising=False)
    assert checkpoints.resolve_path(None, "TEST_WEIGHTS", default) == default
    monkeypatch.setenv("TEST_WEIGHTS", "  ")
    assert checkpoints.resolve_path("", "TEST_WEIGHTS", default) == default  # blank means unset
    monkeypatch.setenv("TEST_WEIGHTS", "~/from-env")
    assert checkpoints.resolve_path(None, "TEST_WEIGHTS", default) == Path.home() / "from-env"
    assert checkpoints.resolve_path(tmp_path / "given", "TEST_WEIGHTS", default) == tmp_path / "given"


def test_both_engines_keep_their_weights_in_the_one_user_data_folder(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "user_data_dir", lambda: tmp_path / "data")
    monkeypatch.delenv(cm_weights.ENV_VAR, raising=False)
    monkeypatch.delenv(de_weights.ENV_VAR, raising=False)
    assert cm_weights.resolve_weights_path() == tmp_path / "data" / cm_weights.WEIGHTS_FILENAME
    assert de_weights.resolve_weights_dir() == tmp_path / "data" / "deepexemplar"
    monkeypatch.setenv(cm_weights.ENV_VAR, str(tmp_path / "cm.pth"))
    monkeypatch.setenv(de_weights.ENV_VAR, str(tmp_path / "de"))
    assert cm_weights.resolve_weights_path() == tmp_path / "cm.pth"
    assert de_weights.resolve_weights_dir() == tmp_path / "de"


# --- writing -------------------------------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "w.pth"
    target.write_bytes(b"old")

    def fails(f: io.BufferedWriter) -> None:
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        checkpoints.write_atomic(target, fails)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"] and target.read_bytes() == b"old"
    checkpoints.save_state_dict(_state(), target)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"]
    assert torch.equal(torch.load(target, weights_only=True)["a.weight"], torch.ones(2, 3))


def test_fingerprint_names_the_engine(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"^Cannot read the Deep Exemplar weights at .*; run `colormnet weights "
                                           r"download --engine deepexemplar`"):
        de_weights.fingerprint(tmp_path)


# --- reading and manifests -----------------------------------------------------------------------------------------


def test_read_state_dict_unwraps_and_reports_the_engine(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    torch.save({"model": {f"module.{k}": v for k, v in _state().items()}}, path)
    assert list(checkpoints.read_state_dict(path, SOURCE)) == ["a.weight", "a.bias", "n"]
    with pytest.raises(WeightsError, match=r"^No Test weights at .*absent\.pth; fetch it again\.$"):
        checkpoints.read_state_dict(tmp_path / "absent.pth", SOURCE)
    torch.save([1, 2], path)
    with pytest.raises(WeightsError, match=r"holds a list, not a state dict of named tensors; fetch it again\.$"):
        checkpoints.read_state_dict(path, SOURCE)


def test_pop_seed(tmp_path: Path) -> None:
    state: dict[str, object] = {"x": torch.zeros(1), "seed": torch.tensor(3)}
    assert checkpoints.pop_seed(state, "seed", tmp_path) == 3 and "seed" not in state
    assert checkpoints.pop_seed(state, "seed", tmp_path) is None
    state["seed"] = torch.tensor(0.5)
    with pytest.raises(WeightsError, match="malformed seed entry"):
        checkpoints.pop_seed(state, "seed", tmp_path)


@pytest.mark.parametrize(("text", "shape"), [("64x3x7x7", (64, 3, 7, 7)), ("[64, 3, 7, 7]", (64, 3, 7, 7)),
                                             ("64", (64,)), ("[1]", (1,)), ("scalar", ())])
def test_both_manifest_shape_notations_parse(text: str, shape: tuple[int, ...]) -> None:
    assert checkpoints.parse_shape(text) == shape


def test_check_against_manifest_orders_and_casts(tmp_path: Path) -> None:
    state = {"n": torch.tensor(4), "a.bias": torch.zeros(2, dtype=torch.float16), "a.weight": torch.ones(2, 3)}
    out = checkpoints.check_against_manifest(state, ROWS, tmp_path, SOURCE, "a test file")
    assert list(out) == ["a.weight", "a.bias", "n"]
    assert out["a.bias"].dtype == torch.float32 and out["n"].dtype == torch.int64


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda s: s.pop("a.bias"), "is not a test file: 1 of 3 expected keys are missing (e.g. a.bias) and 0 are"),
        (lambda s: s.update(extra=torch.zeros(1)), "and 1 are unexpected (e.g. extra); fetch it again."),
        (lambda s: s.update({"a.weight": torch.ones(3, 2)}), "does not fit the Test network: a.weight is 3x2 where "
                                                              "2x3 is expected; fetch it again."),
        (lambda s: s.update(n=torch.tensor(4.0)), "stores n as torch.float32 where torch.int64 is expected"),
        (lambda s: s.update({"a.bias": torch.tensor([0.0, float("nan")])}), "its parameter a.bias holds values that "
                                                                            "are not numbers"),
    ],
    ids=["missing", "unexpected", "shape", "dtype", "nan"],
)
def test_check_against_manifest_refuses_in_one_sentence(tmp_path: Path, change, needle: str) -> None:
    state = _state()
    change(state)
    with pytest.raises(WeightsError) as info:
        checkpoints.check_against_manifest(state, ROWS, tmp_path / "w.pth", SOURCE, "a test file")
    assert needle in str(info.value) and str(tmp_path / "w.pth") in str(info.value)


def test_deep_exemplar_files_get_the_same_reading_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / de_weights.VGG_FILE).mkdir()
    with pytest.raises(WeightsError, match=r"vgg19_conv\.pth is a folder, not a checkpoint file"):
        de_weights.load_weights(tmp_path)
    (tmp_path / de_weights.VGG_FILE).rmdir()
    (tmp_path / de_weights.VGG_FILE).write_bytes(b"PK\x03\x04")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reading, "open", denied, raising=False)  # root ignores chmod, so fake the refusal
    with pytest.raises(WeightsError, match=r"^Cannot read .*vgg19_conv\.pth \(Permission denied\)"):
        de_weights.load_weights(tmp_path)


# --- downloading ---------------------------------------------------------------------------------------------------


def _release_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file in de_weights.WEIGHT_FILES:
            zf.writestr(de_weights.ZIP_MEMBERS[file], f"contents of {file}".encode() * 50_000)
        zf.writestr("data/vgg19_gray.pth", b"not needed")
    return buffer.getvalue()


ZIP = _release_zip()


@pytest.fixture
def zip_server() -> Iterator[WeightsServer]:
    with serve(ZIP, de_weights.ZIP_NAME) as state:
        yield state


def test_deep_exemplar_resumes_its_download_and_logs_its_own_licence(
    zip_server: WeightsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(de_weights, "RELEASE", replace(de_weights.RELEASE, url=zip_server.url,
                                                       sha256=hashlib.sha256(ZIP).hexdigest(), size=len(ZIP)))
    folder = tmp_path / "de"
    folder.mkdir()
    (folder / f"{de_weights.ZIP_NAME}.part").write_bytes(ZIP[:100_000])
    with caplog.at_level(logging.INFO, logger="colormnet.engines"):
        assert de_weights.download_weights(folder) == folder
    assert zip_server.ranges == ["bytes=100000-"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(de_weights.WEIGHT_FILES)  # zip and .part are gone
    assert (folder / de_weights.VGG_FILE).read_bytes() == b"contents of vgg19_conv.pth" * 50_000
    assert "the Deep Exemplar weights" in caplog.text and "MIT licence" in caplog.text
    assert "CC BY-NC-SA" not in caplog.text and "ColorMNet" not in caplog.text


def test_colormnet_resumes_through_the_same_download(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096
    with serve(payload) as server:
        (tmp_path / "w.pth.part").write_bytes(payload[:300_000])
        cm_weights.download_weights(tmp_path / "w.pth", url=server.url,
                                    expected_sha256=hashlib.sha256(payload).hexdigest())
        assert server.ranges == ["bytes=300000-"]
    assert (tmp_path / "w.pth").read_bytes() == payload


def test_download_errors_speak_of_the_release_being_fetched(zip_server: WeightsServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(de_weights, "RELEASE", replace(de_weights.RELEASE, url=zip_server.url + ".missing"))
    with pytest.raises(WeightsError, match=r"^Could not download the Deep Exemplar weights from .* \(HTTP 404 .*; "
                                           r"download colorization_checkpoint\.zip by hand, unpack it and pass "
                                           r"--weights FOLDER\.$"):
        de_weights.download_weights(tmp_path / "de")
    assert sorted(tmp_path.iterdir()) == []  # the folder it made for the weights went with the failure
    release = Release("the test file", zip_server.url, "0" * 64, None, "no licence", "copy it by hand")
    with pytest.raises(WeightsError, match=r"^The download of the test file failed its check \(its sha256 is "):
        checkpoints.download_file(tmp_path / "new" / "deeper" / "t.bin", release)
    assert sorted(tmp_path.iterdir()) == []  # nothing left, the folders it made included
    with pytest.raises(WeightsError, match=r"failed its check"):
        checkpoints.download_file(tmp_path / "t.bin", release)
    assert not (tmp_path / "t.bin.part").exists() and not (tmp_path / "t.bin").exists() and tmp_path.is_dir()
    zip_server.stop_after = 1000
    with pytest.raises(WeightsError, match=r"stopped after 1000 of \d+ bytes .*run it again to resume, or copy it by "
                                           r"hand\.$"):
        checkpoints.download_file(tmp_path / "t.bin", replace(release, sha256=None))
    assert (tmp_path / "t.bin.part").stat().st_size == 1000


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("size", [1, 17, 100_003])
def test_all_finite_finds_every_nan_and_infinity_wherever_it_sits(dtype: torch.dtype, size: int) -> None:
    tensor = torch.randn(size).to(dtype)
    assert reading.all_finite(tensor)
    for position in {0, size // 2, size - 1}:  # the vectorised loop's first lane, its middle and its scalar tail
        for bad in (float("nan"), float("inf"), float("-inf")):
            spoilt = tensor.clone()
            spoilt[position] = bad
            assert not reading.all_finite(spoilt), (position, bad)
    both = tensor.clone()
    both[0], both[-1] = float("inf"), float("-inf")  # their sum is NaN, not an infinity
    assert not reading.all_finite(both)


def test_finite_values_whose_sum_overflows_are_finite() -> None:
    big = torch.full((8,), torch.finfo(torch.float32).max)
    assert not torch.isfinite(big.sum()) and reading.all_finite(big)
    assert reading.first_non_finite({"a": big, "b": torch.tensor([1.0, float("nan")])}) == "b"


def test_an_entry_is_seen_from_the_names_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marked, plain = tmp_path / "marked.pth", tmp_path / "plain.pth"
    torch.save({"a.weight": torch.ones(2), "colormnet.random_init_seed": torch.tensor(3)}, marked)
    torch.save({"a.weight": torch.ones(2)}, plain)
    assert checkpoints.names_entry(marked, "colormnet.random_init_seed")
    assert not checkpoints.names_entry(plain, "colormnet.random_init_seed")
    for other in (tmp_path / "none.pth", tmp_path, tmp_path / "text.pth"):
        if other.name == "text.pth":
            other.write_text("colormnet.random_init_seed")  # not an archive: whatever it says
        assert not checkpoints.names_entry(other, "colormnet.random_init_seed")
    damaged = tmp_path / "damaged.pth"  # a compressed pickle whose bytes were damaged: zlib's own error
    with zipfile.ZipFile(damaged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"colormnet.random_init_seed" * 400)
    data = bytearray(damaged.read_bytes())
    data[60:90] = bytes(30)
    damaged.write_bytes(bytes(data))
    assert not checkpoints.names_entry(damaged, "colormnet.random_init_seed")
    monkeypatch.setattr(reading, "_MAX_PICKLE_BYTES", 10)  # a pickle too large to be a state dict's is not read
    assert not checkpoints.names_entry(marked, "colormnet.random_init_seed")


def test_a_pipe_named_as_checkpoint_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "weights.pth"
    os.mkfifo(pipe)
    with pytest.raises(WeightsError, match="is a pipe or a device, not a checkpoint file"):
        cm_weights.load_weights(pipe)
