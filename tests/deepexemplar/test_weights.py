"""The key manifest, random weights, strict loading, clear errors and the release-zip download."""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from pathlib import Path

import pytest
import torch

from colormnet.engines import deepexemplar
from colormnet.engines.deepexemplar import weights as de_weights
from colormnet.engines.deepexemplar.network import DeepExemplarNetwork
from colormnet.engines.deepexemplar.weights import (
    COLORIZATION_FILE,
    CORRESPONDENCE_FILE,
    ENV_VAR,
    VGG_FILE,
    WEIGHT_FILES,
    ZIP_MEMBERS,
    load_weights,
    read_key_manifest,
    resolve_weights_dir,
)
from colormnet.errors import WeightsError
from tests.bad_checkpoints import all_ones_bits, save_malicious

_MODULES = {VGG_FILE: "vgg", CORRESPONDENCE_FILE: "correspondence", COLORIZATION_FILE: "colorization"}
_COUNTS = {VGG_FILE: (32, 20_024_384), CORRESPONDENCE_FILE: (43, 6_917_131), COLORIZATION_FILE: (65, 32_802_370)}


@pytest.mark.parametrize("file", WEIGHT_FILES)
def test_manifest_matches_the_modules(file: str) -> None:
    module = getattr(DeepExemplarNetwork(), _MODULES[file])
    ours = [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
    assert sorted(ours) == sorted(read_key_manifest(file))
    assert (len(ours), sum(math.prod(s) for _, s in ours)) == _COUNTS[file]


def test_random_weights_follow_the_golden_rule(de_state_dicts) -> None:
    key = "layer2_1.3.weight"  # a PReLU slope
    n = torch.randn((1,), generator=torch.Generator().manual_seed(zlib.crc32(f"{CORRESPONDENCE_FILE}/{key}".encode())))
    assert torch.equal(de_state_dicts[CORRESPONDENCE_FILE][key], 0.25 + 0.05 * n)
    conv = de_state_dicts[VGG_FILE]["conv1_1.weight"]
    seed = zlib.crc32(b"vgg19_conv.pth/conv1_1.weight")
    n = torch.randn((64, 3, 3, 3), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(conv, n / math.sqrt(27))
    assert not torch.equal(de_weights.random_state_dicts(seed=1)[VGG_FILE]["conv1_1.weight"], conv)


def test_saved_random_weights_load_strictly(de_weights_dir: Path, de_state_dicts) -> None:
    loaded = load_weights(de_weights_dir)
    assert loaded.is_random and loaded.random_seed == 0
    for file, state in ((VGG_FILE, loaded.vgg), (CORRESPONDENCE_FILE, loaded.correspondence),
                        (COLORIZATION_FILE, loaded.colorization)):
        assert state.keys() == de_state_dicts[file].keys()
        assert all(torch.equal(state[k], de_state_dicts[file][k]) for k in state)
    DeepExemplarNetwork.from_weights(loaded)  # strict load_state_dict of all three


def _copy_weights(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for file in WEIGHT_FILES:
        (dst / file).symlink_to(src / file)
    return dst


def test_missing_folder_and_file(tmp_path: Path, de_weights_dir: Path) -> None:
    with pytest.raises(WeightsError, match=r"No Deep Exemplar weights folder .*weights download --engine deepexemplar"):
        load_weights(tmp_path / "nowhere")
    folder = _copy_weights(de_weights_dir, tmp_path / "w")
    (folder / COLORIZATION_FILE).unlink()
    with pytest.raises(WeightsError, match=f"{COLORIZATION_FILE} is missing"):
        load_weights(folder)


def test_a_missing_folder_named_by_the_variable_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colormnet.engines.deepexemplar.backend import load_backend

    gone = tmp_path / "gone"
    monkeypatch.setenv(de_weights.ENV_VAR, str(gone))
    with pytest.raises(WeightsError, match=rf"^No Deep Exemplar weights folder at {re.escape(str(gone))}, the folder "
                                           r"\$COLORMNET_DEEPEXEMPLAR_WEIGHTS names; run `colormnet weights download"):
        load_backend(None, device="cpu")
    with pytest.raises(WeightsError, match=rf"^No Deep Exemplar weights folder at {re.escape(str(gone))}; run"):
        load_backend(gone, device="cpu")  # named by --weights: the variable has nothing to do with it


def test_truncated_foreign_and_misshapen_files(tmp_path: Path, de_weights_dir: Path) -> None:
    folder = _copy_weights(de_weights_dir, tmp_path / "w")
    target = folder / CORRESPONDENCE_FILE
    data = (de_weights_dir / CORRESPONDENCE_FILE).read_bytes()
    target.unlink()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="damaged or incomplete"):
        load_weights(folder)
    torch.save({"value_encoder.conv1.weight": torch.zeros(3)}, target)
    with pytest.raises(WeightsError, match=r"not the Deep Exemplar nonlocal_net_iter_76000\.pth: 43 of 43"):
        load_weights(folder)
    state = dict(de_weights.random_state_dicts()[CORRESPONDENCE_FILE])
    state["theta.weight"] = torch.zeros(256, 128, 1, 1)
    torch.save(state, target)
    with pytest.raises(WeightsError, match=r"theta.weight is 256x128x1x1 where 256x256x1x1 is expected"):
        load_weights(folder)
    target.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a PyTorch checkpoint"):
        load_weights(folder)
    with pytest.raises(WeightsError):
        deepexemplar.load_backend(folder, device="cpu")


def test_release_layout_and_env_var(tmp_path: Path, de_weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for file in WEIGHT_FILES:  # the release zip unpacked as is
        path = tmp_path / "release" / ZIP_MEMBERS[file]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(de_weights_dir / file)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "release"))
    assert resolve_weights_dir() == tmp_path / "release"
    assert load_weights().is_random
    assert resolve_weights_dir(de_weights_dir / VGG_FILE) == de_weights_dir
    monkeypatch.delenv(ENV_VAR)
    assert resolve_weights_dir() == deepexemplar.default_weights_dir()


def test_download_extracts_the_three_files(tmp_path: Path, de_weights_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(dest: Path, release, **kwargs) -> Path:  # stands in for the HTTP transfer (test_checkpoints)
        calls.append(release.url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest, "w") as zf:
            for file in WEIGHT_FILES:
                zf.write(de_weights_dir / file, ZIP_MEMBERS[file])
            zf.writestr("data/vgg19_gray.pth", b"not needed")
        return dest

    monkeypatch.setattr(de_weights.checkpoints, "download_file", fake_download)
    folder = deepexemplar.download_weights(tmp_path / "dl")
    assert sorted(p.name for p in folder.iterdir()) == sorted(WEIGHT_FILES)
    assert calls == [de_weights.ZIP_URL]
    assert load_weights(folder).random_seed == 0
    deepexemplar.download_weights(tmp_path / "dl")  # already there: nothing fetched
    assert len(calls) == 1


def test_download_goes_over_a_file_that_is_no_checkpoint(tmp_path: Path, de_weights_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(dest: Path, release, **kwargs) -> Path:
        calls.append(release.url)
        with zipfile.ZipFile(dest, "w") as zf:
            for file in WEIGHT_FILES:
                zf.write(de_weights_dir / file, ZIP_MEMBERS[file])
        return dest

    monkeypatch.setattr(de_weights.checkpoints, "download_file", fake_download)
    folder = tmp_path / "dl"
    folder.mkdir()
    for file in WEIGHT_FILES:
        os.link(de_weights_dir / file, folder / file)  # the files themselves, not copies
    (folder / CORRESPONDENCE_FILE).unlink()
    (folder / CORRESPONDENCE_FILE).write_bytes(b"")  # a copy that failed
    assert deepexemplar.download_weights(folder) == folder
    assert calls == [de_weights.ZIP_URL] and load_weights(folder).random_seed == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(WEIGHT_FILES)
    torch.save({"a": torch.ones(1)}, folder / CORRESPONDENCE_FILE)  # a checkpoint of other weights: left alone
    with pytest.raises(WeightsError, match=r"is not the Deep Exemplar nonlocal_net_iter_76000\.pth: 43 of 43"):
        deepexemplar.download_weights(folder)
    assert calls == [de_weights.ZIP_URL]


def test_download_of_a_damaged_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_download(dest: Path, release, **kwargs) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"PK\x03\x04 broken")
        return dest

    monkeypatch.setattr(de_weights.checkpoints, "download_file", fake_download)
    with pytest.raises(WeightsError, match="is damaged"):
        deepexemplar.download_weights(tmp_path / "dl")
    assert list((tmp_path / "dl").iterdir()) == []


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_malicious_file_is_refused_as_unsafe_and_never_runs(tmp_path: Path, de_weights_dir: Path,
                                                               legacy: bool) -> None:
    folder = _copy_weights(de_weights_dir, tmp_path / "w")
    target = folder / COLORIZATION_FILE
    target.unlink()
    marker = tmp_path / "ran"
    save_malicious({"conv1_1.0.weight": torch.zeros(3)}, target, marker, legacy=legacy)
    with pytest.raises(WeightsError, match="refused as unsafe") as info:
        load_weights(folder)
    assert not marker.exists() and "damaged" not in str(info.value)


def test_weights_that_are_not_numbers_are_refused_by_name(tmp_path: Path, de_weights_dir: Path) -> None:
    folder = _copy_weights(de_weights_dir, tmp_path / "w")
    target = folder / CORRESPONDENCE_FILE
    target.unlink()
    state = dict(de_weights.random_state_dicts()[CORRESPONDENCE_FILE])
    state["theta.weight"] = all_ones_bits(tuple(state["theta.weight"].shape))
    torch.save(state, target)
    with pytest.raises(WeightsError, match=r"nonlocal_net_iter_76000\.pth is damaged: its parameter theta\.weight "
                                           r"holds values that are not numbers"):
        load_weights(folder)
