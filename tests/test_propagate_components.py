"""The pieces of the propagate engine: flow consistency, sampling, guided filter, matching, histogram matching."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from colormnet.engines.propagate import PropagateConfig
from colormnet.engines.propagate.flow import FlowEstimator, base_grid, consistency_mask, sample, to_flow_image
from colormnet.engines.propagate.guided_filter import box_mean, guided_filter, guided_filter_planes, guided_upsample
from colormnet.engines.propagate.matching import ExemplarMatcher
from colormnet.engines.propagate.reference import histogram_match


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random texture in [0, 100] (blurred noise: something a flow can lock on to)."""
    noise = np.random.default_rng(seed).random((height, width)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 80.0 + 10.0


# -- flow -------------------------------------------------------------------------------------------------------------


def test_consistency_mask_of_exact_fields_flags_the_broken_region_and_the_frame_exit() -> None:
    height, width = 40, 60
    flow = np.zeros((height, width, 2), np.float32)
    flow[..., 0] = 5.0  # every pixel moves 5 px right
    reverse = np.zeros_like(flow)
    reverse[..., 0] = -5.0
    reverse[10:20, 25:35] = (3.0, 4.0)  # a region whose reverse flow does not lead back
    ok = consistency_mask(flow, reverse)
    assert ok[:, : width - 6].sum() > 0
    assert not ok[:, width - 5 :].any(), "pixels that leave the frame are not consistent"
    assert not ok[12:18, 22:28].any(), "pixels landing on the broken reverse flow fail"
    assert ok[25:, :20].all() and ok[:8, :20].all()


@pytest.mark.parametrize("patch_stride", [None, 4])
def test_dis_flow_of_a_synthetic_shift_is_consistent_inside_and_not_at_the_revealed_strip(patch_stride) -> None:
    big = _texture(100, 140)
    shift = 4
    prev = big[10:90, 10:130]
    cur = big[10:90, 10 - shift : 130 - shift]  # cur(x) = prev(x - shift): the content moved right
    flow_estimator = FlowEstimator("medium", patch_stride)
    back = flow_estimator.estimate(to_flow_image(cur), to_flow_image(prev))  # cur -> prev
    fwd = flow_estimator.estimate(to_flow_image(prev), to_flow_image(cur))
    interior = (slice(10, -10), slice(10, -10))
    assert np.abs(np.median(back[interior][..., 0]) + shift) < 0.3
    assert np.abs(np.median(back[interior][..., 1])) < 0.3
    ok = consistency_mask(back, fwd)
    assert ok[interior].mean() > 0.95
    assert ok[:, :2].mean() < 0.2, "the strip that has no counterpart in the previous frame is flagged"
    warped = sample(prev, base_grid(*cur.shape) + back)
    assert np.abs(warped - cur)[interior].mean() < 1.0


def test_a_patch_stride_outside_the_patch_is_refused() -> None:
    with pytest.raises(ValueError, match="patch_stride"):
        FlowEstimator("medium", patch_stride=9)


@pytest.mark.parametrize("setting", [{"fast_motion": 0.0}, {"chain_travel": -1.0}, {"work_size": 8},
                                     {"guide_eps": 0.0}])
def test_settings_out_of_range_are_refused(setting: dict) -> None:
    with pytest.raises(ValueError):
        PropagateConfig(**setting)


def test_sample_at_the_pixel_grid_is_the_identity() -> None:
    planes = np.random.default_rng(1).random((2, 9, 13)).astype(np.float32)
    np.testing.assert_allclose(sample(planes, base_grid(9, 13)), planes, atol=1e-6)
    np.testing.assert_allclose(sample(planes[0], base_grid(9, 13) + 0.5)[:-1, :-1],
                               (planes[0][:-1, :-1] + planes[0][1:, :-1] + planes[0][:-1, 1:] + planes[0][1:, 1:]) / 4,
                               atol=1e-5)


def test_flow_image_takes_the_given_statistics() -> None:
    light = _texture(30, 40)
    image = to_flow_image(light * 0.6 + 5.0, float(light.mean()), float(light.std()))
    np.testing.assert_allclose(image.astype(np.float32).mean(), light.mean() * 2.55, atol=1.0)


# -- guided filter ----------------------------------------------------------------------------------------------------


def _direct_guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s definition evaluated window by window (windows clipped at the border)."""
    height, width = guide.shape
    a = np.zeros((height, width))
    b = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            win = (slice(max(0, y - radius), y + radius + 1), slice(max(0, x - radius), x + radius + 1))
            g, p = guide[win].astype(np.float64), source[win].astype(np.float64)
            mu, var = g.mean(), g.var()
            a[y, x] = ((g * p).mean() - mu * p.mean()) / (var + eps)
            b[y, x] = p.mean() - a[y, x] * mu
    out = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            win = (slice(max(0, y - radius), y + radius + 1), slice(max(0, x - radius), x + radius + 1))
            out[y, x] = a[win].mean() * guide[y, x] + b[win].mean()
    return out


@pytest.mark.parametrize(("radius", "eps"), [(1, 1e-2), (2, 1e-3), (3, 1e-1)])
def test_guided_filter_matches_the_direct_definition(radius: int, eps: float) -> None:
    rng = np.random.default_rng(radius)
    guide = rng.random((11, 14)).astype(np.float32)
    source = np.stack([guide * 0.5 + rng.random((11, 14)).astype(np.float32) * 0.2, rng.random((11, 14))]).astype(
        np.float32)
    got = guided_filter(guide, source, radius, eps)
    for c in range(2):
        np.testing.assert_allclose(got[c], _direct_guided_filter(guide, source[c], radius, eps), atol=2e-5)
    np.testing.assert_allclose(guided_filter(guide, source[0], radius, eps), got[0], atol=1e-6)
    # the plane-by-plane form the engine runs at full size gives the same planes
    planes = guided_filter_planes(guide, [source[0], source[1]], radius, eps)
    np.testing.assert_allclose(np.stack(planes), got, atol=1e-6)


def test_guided_filter_planes_with_zero_radius_returns_the_source() -> None:
    source = np.random.default_rng(0).random((2, 6, 7)).astype(np.float32)
    got = guided_filter_planes(np.ones((6, 7), np.float32), list(source), 0, 1e-3)
    np.testing.assert_array_equal(np.stack(got), source)
    assert all(g is not s for g, s in zip(got, source, strict=True))


def test_box_mean_clips_windows_at_the_border() -> None:
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    got = box_mean(x, 1)
    assert got[0, 0] == pytest.approx(x[:2, :2].mean())
    assert got[2, 3] == pytest.approx(x[1:4, 2:5].mean())


def test_guided_filter_keeps_a_chroma_edge_that_follows_the_luminance_edge() -> None:
    guide = np.zeros((20, 20), np.float32)
    guide[:, 10:] = 1.0
    chroma = np.where(guide > 0.5, 0.4, -0.2).astype(np.float32)
    np.testing.assert_allclose(guided_filter(guide, chroma, 3, 1e-4), chroma, atol=1e-3)
    assert np.abs(cv2.blur(chroma, (7, 7)) - chroma).max() > 0.25  # where a plain blur bleeds


def test_guided_upsample_at_the_same_size_is_the_guided_filter() -> None:
    rng = np.random.default_rng(3)
    guide = rng.random((16, 12)).astype(np.float32)
    source = rng.random((2, 16, 12)).astype(np.float32)
    np.testing.assert_allclose(guided_upsample(guide, guide, source, 2, 1e-3), guided_filter(guide, source, 2, 1e-3),
                               atol=1e-6)
    up = guided_upsample(cv2.resize(guide, (24, 32)), guide, source, 2, 1e-3)
    assert up.shape == (2, 32, 24)


# -- matching ---------------------------------------------------------------------------------------------------------


def test_matcher_gives_each_texture_the_chroma_it_had_in_the_exemplar() -> None:
    height, width = 48, 64
    smooth = np.full((height, width), 30.0, np.float32)
    rough = 60.0 + (_texture(height, width, seed=4) - 50.0) * 0.8
    light = np.where(np.arange(width) < width // 2, smooth, rough).astype(np.float32)
    ab = np.zeros((2, height, width), np.float32)
    ab[0, :, : width // 2] = 0.4  # smooth half: red
    ab[1, :, width // 2 :] = -0.4  # rough half: blue
    matcher = ExemplarMatcher(light, ab, position_weight=0.0)
    swapped = np.concatenate([light[:, width // 2 :], light[:, : width // 2]], axis=1)  # the halves trade places
    got, conf = matcher.match(swapped)
    assert got[1, 8:-8, 8 : width // 2 - 8].mean() < -0.3
    assert got[0, 8:-8, width // 2 + 8 : -8].mean() > 0.3
    assert conf.shape == (height, width) and 0.0 <= conf.min() <= conf.max() <= 1.0
    mask = np.zeros((height, width), bool)
    mask[:10, :10] = True
    got_masked, conf_masked = matcher.match(swapped, mask)
    assert conf_masked[-10:, -10:].max() == 0.0 and np.abs(got_masked[:, -10:, -10:]).max() == 0.0


def test_histogram_match_takes_the_template_distribution() -> None:
    source = _texture(40, 50, seed=5) * 0.5 + 10.0
    template = _texture(30, 30, seed=6)
    out = histogram_match(source, template)
    for q in (10, 50, 90):
        assert abs(np.percentile(out, q) - np.percentile(template, q)) < 1.5
    order = np.argsort(source.ravel())
    assert np.all(np.diff(out.ravel()[order]) >= -1e-4), "the mapping keeps the order of values"


# -- the exemplar's share where the chain magnifies it -----------------------------------------------------------------


@pytest.mark.parametrize(("scale", "expected"), [(1.0, 1.0), (2.0, 1.0), (1.0 / 3.0, (1.0 / 9.0 / 0.25) ** 2)])
def test_magnification_weight_falls_only_past_the_set_zoom(scale: float, expected: float) -> None:
    from colormnet.engines.propagate import PropagateConfig, PropagationEngine

    grid = base_grid(60, 80)
    chain_x = np.ascontiguousarray(grid[..., 0] * scale)  # scale < 1: a zoom-in, each pixel sees less of the anchor
    chain_y = np.ascontiguousarray(grid[..., 1] * scale)
    weight = PropagationEngine(PropagateConfig(magnify_area=0.25))._magnification_weight(chain_x, chain_y)
    assert weight.shape == (60, 80)
    np.testing.assert_allclose(weight[10:-10, 10:-10], expected, rtol=1e-4)


def test_flow_on_frames_with_a_short_side_does_not_bring_the_process_down() -> None:
    # OpenCV's DIS crashed the process (a segmentation fault) on 320x24 frames, and failed an assertion on 20000x20
    child = (
        "import numpy as np\n"
        "from colormnet.engines.propagate.flow import FlowEstimator\n"
        "for h, w in ((24, 320), (320, 24), (20, 2000)):\n"
        "    a = np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8)\n"
        "    flow = FlowEstimator().estimate(a, np.roll(a, 2, axis=1))\n"
        "    again = FlowEstimator().estimate(a, np.roll(a, 2, axis=1), flow)\n"
        "    assert flow.shape == again.shape == (h, w, 2) and np.isfinite(again).all()\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "done", (done.returncode, done.stderr[-2000:])
