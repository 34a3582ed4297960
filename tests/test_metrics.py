"""Each metric against hand-computed values on tiny arrays and against scikit-image / SciPy; the LPIPS and FID
networks with random weights saved to a file (nothing is downloaded)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import linalg, stats
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colormnet.errors import WeightsError
from colormnet.metrics import (
    channel_histograms,
    color_distribution_consistency,
    colorfulness,
    frechet_distance,
    frechet_distance_of_features,
    gaussian_statistics,
    js_divergence,
    psnr,
    ssim,
    summarize_psnr,
    to_uint8_rgb,
)
from colormnet.perceptual import LPIPS, InceptionFeatures, PerceptualScores, load_inception, load_lpips
from colormnet.video import VideoReader

RNG = np.random.default_rng(1234)


def random_rgb(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def real_pair(realshort: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real frame and a plausible miscolorization of it (chroma rotated, some noise)."""
    with VideoReader(realshort) as reader:
        gt = reader.read(10)
    pred = np.clip(gt[..., [1, 2, 0]].astype(int) // 2 + gt.astype(int) // 2 + RNG.integers(-6, 7, gt.shape), 0, 255)
    return pred.astype(np.uint8), gt


# -- PSNR ----------------------------------------------------------------------------------------------------------


def test_psnr_hand_value_and_identical_frames() -> None:
    gt = np.zeros((2, 2, 3), np.uint8)
    pred = gt.copy()
    pred[0, 0, 0] = 255  # MSE = 255^2 / 12, so PSNR = 10 log10(12)
    assert psnr(pred, gt) == pytest.approx(10 * math.log10(12), abs=1e-12)
    pred[1, 1, 2] = 51  # MSE = (255^2 + 51^2) / 12
    assert psnr(pred, gt) == pytest.approx(10 * math.log10(255**2 * 12 / (255**2 + 51**2)), abs=1e-12)
    assert psnr(gt, gt) == math.inf


def test_psnr_matches_scikit_image(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, gt = real_pair
    assert psnr(pred, gt) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=255), abs=1e-9)
    a, b = random_rgb(13, 17), random_rgb(13, 17)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-9)


def test_psnr_summary_leaves_identical_frames_out_and_counts_them() -> None:
    assert summarize_psnr([math.inf, 30.0, 40.0]) == (35.0, 1)
    assert summarize_psnr([math.inf, math.inf]) == (math.inf, 2)
    mean, identical = summarize_psnr([])
    assert math.isnan(mean) and identical == 0


def test_to_uint8_rounds_every_16_bit_value_to_the_nearest() -> None:
    values = np.arange(65536, dtype=np.uint16)
    frame = np.stack([values] * 3, axis=-1).reshape(256, 256, 3)
    expected = np.round(values / 257.0).astype(np.uint8)  # no ties: v / 257 is never k + 1/2
    assert np.array_equal(to_uint8_rgb(frame)[..., 0].ravel(), expected)
    assert np.array_equal(to_uint8_rgb((np.arange(256, dtype=np.uint16) * 257).reshape(16, 16, 1).repeat(3, -1))[
        ..., 1].ravel(), np.arange(256))
    with pytest.raises(ValueError, match="HxWx3"):
        to_uint8_rgb(np.zeros((4, 4), np.uint8))


# -- SSIM ----------------------------------------------------------------------------------------------------------


def test_ssim_hand_value_flat_window() -> None:
    # One 7x7 window, flat images: the variances are 0, so SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 100.0, 110.0, (0.01 * 255) ** 2
    x = np.full((7, 7, 3), a, np.uint8)
    y = np.full((7, 7, 3), b, np.uint8)
    assert ssim(x, y) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), abs=1e-12)


def test_ssim_hand_value_scaled_texture() -> None:
    # y = 2x in one 7x7 window: var(y) = 4v, cov = 2v (sample variances), means m and 2m.
    x1 = RNG.integers(0, 100, (7, 7)).astype(np.float64)
    y1 = 2 * x1
    m, v = x1.mean(), x1.var(ddof=1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = (2 * m * 2 * m + c1) * (2 * 2 * v + c2) / ((m * m + 4 * m * m + c1) * (v + 4 * v + c2))
    x = np.repeat(x1[..., None], 3, axis=-1).astype(np.uint8)
    y = np.repeat(y1[..., None], 3, axis=-1).astype(np.uint8)
    assert ssim(x, y) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("shape", [(7, 7), (8, 13), (31, 9), (64, 48)])
def test_ssim_matches_scikit_image_on_random_arrays(shape: tuple[int, int]) -> None:
    a, b = random_rgb(*shape), random_rgb(*shape)
    b[: shape[0] // 2] = a[: shape[0] // 2]  # half similar, half not
    expected = structural_similarity(a, b, channel_axis=-1, data_range=255)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_scikit_image_on_a_real_frame(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, gt = real_pair
    expected = structural_similarity(pred, gt, channel_axis=-1, data_range=255)
    assert 0.3 < expected < 0.99
    assert ssim(pred, gt) == pytest.approx(expected, abs=1e-6)


def test_ssim_refuses_images_smaller_than_the_window() -> None:
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(random_rgb(6, 20), random_rgb(6, 20))
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(random_rgb(8, 8), random_rgb(8, 9))


# -- colourfulness --------------------------------------------------------------------------------------------------


def test_colorfulness_hand_values() -> None:
    gray = np.repeat(random_rgb(5, 5)[..., :1], 3, axis=-1)
    assert colorfulness(gray) == pytest.approx(0.0, abs=1e-12)
    red = np.zeros((3, 3, 3), np.uint8)
    red[..., 0] = 255  # rg = 255, yb = 127.5 everywhere: no spread
    assert colorfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5), abs=1e-9)
    # one red and one blue pixel: rg = (255, 0), yb = (127.5, -255)
    two = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    spread = math.hypot(127.5, (127.5 + 255) / 2)  # population std of rg and yb
    centre = math.hypot(127.5, (127.5 - 255) / 2)
    assert colorfulness(two) == pytest.approx(spread + 0.3 * centre, abs=1e-9)


# -- CDC -----------------------------------------------------------------------------------------------------------


def test_channel_histograms_are_normalised_counts() -> None:
    image = np.array([[[0, 10, 255], [0, 20, 255]], [[5, 10, 255], [0, 10, 0]]], np.uint8)
    hist = channel_histograms(image)
    assert hist.shape == (3, 256)
    assert hist[0, 0] == 0.75 and hist[0, 5] == 0.25
    assert hist[1, 10] == 0.75 and hist[1, 20] == 0.25
    assert hist[2, 255] == 0.75 and hist[2, 0] == 0.25
    assert np.allclose(hist.sum(axis=1), 1.0)


def test_js_divergence_hand_values_and_scipy() -> None:
    assert js_divergence(np.array([0.2, 0.8]), np.array([0.2, 0.8])) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(math.log(2), abs=1e-15)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4)
    expected = 0.5 * math.log(1 / 0.75) + 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(expected, abs=1e-15)
    p, q = RNG.random(256), RNG.random(256)
    p[::7] = 0
    m = (p / p.sum() + q / q.sum()) / 2
    reference = 0.5 * stats.entropy(p / p.sum(), m) + 0.5 * stats.entropy(q / q.sum(), m)
    assert js_divergence(p, q) == pytest.approx(reference, abs=1e-12)


def test_cdc_hand_values_on_alternating_black_and_white() -> None:
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    clip = [black, white, black, white, black]  # every channel's histograms are disjoint between the two: JS = ln 2
    cdc = color_distribution_consistency([channel_histograms(f) for f in clip])
    assert cdc.by_dilation[1] == pytest.approx(math.log(2), abs=1e-15)
    assert cdc.by_dilation[2] == pytest.approx(0.0, abs=1e-15)
    assert cdc.by_dilation[4] == pytest.approx(0.0, abs=1e-15)
    assert cdc.mean == pytest.approx(math.log(2) / 3, abs=1e-15)
    short = color_distribution_consistency([channel_histograms(f) for f in clip[:3]])
    assert math.isnan(short.by_dilation[4]) and short.mean == pytest.approx(math.log(2) / 2, abs=1e-15)
    assert math.isnan(color_distribution_consistency([channel_histograms(black)]).mean)


def test_cdc_matches_a_direct_reading_of_the_tcvc_definition() -> None:
    frames = [np.clip(random_rgb(12, 10).astype(int) // 3 + t * 9, 0, 255).astype(np.uint8) for t in range(9)]

    def per_channel_js(a: np.ndarray, b: np.ndarray, c: int) -> float:
        p = np.bincount(a[..., c].ravel(), minlength=256) / a[..., c].size
        q = np.bincount(b[..., c].ravel(), minlength=256) / b[..., c].size
        m = (p + q) / 2
        return 0.5 * stats.entropy(p, m) + 0.5 * stats.entropy(q, m)

    values = []
    for d in (1, 2, 4):
        # TCVC: a mean over frames per channel, then over channels and distances
        values.append([np.mean([per_channel_js(frames[t], frames[t + d], c) for t in range(len(frames) - d)])
                       for c in range(3)])
    cdc = color_distribution_consistency([channel_histograms(f) for f in frames])
    assert cdc.mean == pytest.approx(np.mean(values), abs=1e-12)
    for d, per_channel in zip((1, 2, 4), values, strict=True):
        assert cdc.by_dilation[d] == pytest.approx(np.mean(per_channel), abs=1e-12)


# -- Fréchet distance -----------------------------------------------------------------------------------------------


def test_frechet_distance_hand_value_for_diagonal_covariances() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 1 + 0 + 4 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)


def test_frechet_distance_matches_the_sqrtm_formula_and_handles_singular_covariances() -> None:
    f1, f2 = RNG.normal(size=(40, 6)), RNG.normal(1.0, 2.0, size=(40, 6))
    mu1, s1 = gaussian_statistics(f1)
    mu2, s2 = gaussian_statistics(f2)
    assert np.allclose(s1, np.cov(f1, rowvar=False))
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-9)
    assert frechet_distance_of_features(f1, f2) == pytest.approx(reference, rel=1e-9)  # N >= D: the same route


def test_frechet_distance_of_few_features_agrees_with_the_covariance_route() -> None:
    few = RNG.normal(size=(5, 64))  # fewer samples than dimensions, as a short clip gives: singular covariances
    other = few[:4] + RNG.normal(scale=0.5, size=(4, 64))
    mu, s = gaussian_statistics(few)
    mu_b, s_b = gaussian_statistics(other)
    expected = frechet_distance(mu, s, mu_b, s_b)
    assert expected > 0
    assert frechet_distance_of_features(few, other) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_of_features(few, few) == pytest.approx(0.0, abs=1e-10)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-6 * np.trace(s)  # the D x D route is only close to 0
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance_of_features(few[:1], few)


# -- LPIPS and FID networks (random weights from a file) ------------------------------------------------------------


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = LPIPS()
    for i in range(5):  # the release's linear weights are non-negative
        getattr(model, f"lin{i}").weight.data.abs_()
    path = tmp_path_factory.mktemp("lpips") / "lpips_random.pth"
    torch.save(model.state_dict(), path)
    return path


def test_lpips_shapes_determinism_symmetry_and_zero_for_identical(lpips_file: Path) -> None:
    model = load_lpips([lpips_file])
    assert sum(p.numel() for p in model.parameters()) == 2_469_696 + 64 + 192 + 384 + 256 + 256  # AlexNet + lins
    a, b = torch.rand(2, 3, 72, 88), torch.rand(2, 3, 72, 88)
    with torch.inference_mode():
        d = model(a, b)
        assert d.shape == (2,) and bool(torch.all(d > 0))
        assert torch.equal(model(a, a), torch.zeros(2))
        assert torch.allclose(model(b, a), d, atol=1e-7)
        assert torch.equal(load_lpips([lpips_file])(a, b), d)


def test_lpips_loads_the_release_and_two_file_layouts(lpips_file: Path, tmp_path: Path) -> None:
    state = torch.load(lpips_file, weights_only=True)
    backbone = {k: v for k, v in state.items() if k.startswith("features.")}
    backbone["classifier.1.weight"] = torch.zeros(8, 8)  # torchvision's classifier rides along and is dropped
    linear = {f"{k.split('.')[0]}.model.1.weight": v for k, v in state.items() if k.startswith("lin")}
    slices = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}  # the lpips module's slices keep torchvision's indices
    whole = {f"net.slice{slices[int(k.split('.')[1])]}.{k.split('.', 1)[1]}": v for k, v in backbone.items()
             if k.startswith("features.")}
    whole.update(linear)
    whole["scaling_layer.shift"] = torch.zeros(1, 3, 1, 1)
    for name, part in (("alexnet.pth", backbone), ("alex.pth", linear), ("whole.pth", whole)):
        torch.save(part, tmp_path / name)
    a, b = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        expected = load_lpips([lpips_file])(a, b)
        assert torch.equal(load_lpips([tmp_path / "alexnet.pth", tmp_path / "alex.pth"])(a, b), expected)
        assert torch.equal(load_lpips([tmp_path / "whole.pth"])(a, b), expected)
    with pytest.raises(WeightsError, match=r"alex\.pth"):
        load_lpips([tmp_path / "alexnet.pth"])
    with pytest.raises(WeightsError, match="AlexNet"):
        load_lpips([tmp_path / "alex.pth"])


def test_weight_files_that_are_missing_corrupt_or_of_another_network(lpips_file: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="does not exist"):
        load_lpips([tmp_path / "nope.pth"])
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=r"bad\.pth is not a PyTorch checkpoint; give the path of a local copy\."):
        load_inception(tmp_path / "bad.pth")
    state = torch.load(lpips_file, weights_only=True)
    state["lin2.weight"] = torch.zeros(1, 7, 1, 1)
    torch.save(state, tmp_path / "wrong.pth")
    with pytest.raises(WeightsError, match=r"lin2\.weight has shape"):
        load_lpips([tmp_path / "wrong.pth"])
    with pytest.raises(WeightsError, match="lack"):
        load_inception(lpips_file)


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    state = InceptionFeatures().state_dict()
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)  # the FID graph's classifier
    path = tmp_path_factory.mktemp("inception") / "inception_random.pth"
    torch.save(state, path)
    return path


def test_inception_features_shapes_determinism_and_pooling_choice(inception_file: Path, tmp_path: Path) -> None:
    model = load_inception(inception_file)
    # torchvision's Inception3 has 27,161,264 parameters, of which the classifier and auxiliary head hold 5,375,696
    assert sum(p.numel() for p in model.parameters()) == 21_785_568
    assert isinstance(model.Mixed_7c.pool, torch.nn.MaxPool2d)
    assert not model.Mixed_5b.pool.count_include_pad
    x = torch.rand(2, 3, 90, 120)
    with torch.inference_mode():
        f = model(x)
        assert f.shape == (2, 2048) and bool(torch.all(torch.isfinite(f)))
        assert torch.equal(load_inception(inception_file)(x), f)
        assert (f[0] - f[1]).abs().max() > 1e-3 * f.abs().max()  # random weights give tiny but distinct features
    state = torch.load(inception_file, weights_only=True)
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)  # torchvision's ImageNet head
    torch.save(state, tmp_path / "tv.pth")
    tv = load_inception(tmp_path / "tv.pth")
    assert isinstance(tv.Mixed_7c.pool, torch.nn.AvgPool2d) and tv.Mixed_5b.pool.count_include_pad


def test_perceptual_scores_lpips_zero_and_fid_zero_for_identical_clips(lpips_file: Path, inception_file: Path) -> None:
    scores = PerceptualScores([lpips_file], inception_file)
    frames = [random_rgb(40, 56) for _ in range(2)]
    assert scores.fid() is None  # no pairs yet: no distribution
    assert [scores.add(f, f) for f in frames] == [0.0, 0.0]
    fid = scores.fid()
    assert fid is not None and abs(fid) < 1e-9
    lpips_only = PerceptualScores([lpips_file], None)
    lpips = lpips_only.add(frames[0], frames[1])
    assert lpips is not None and lpips > 0 and lpips_only.fid() is None
    assert PerceptualScores([], None).add(frames[0], frames[1]) is None
