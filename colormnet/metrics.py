"""Image and video quality metrics for colorization, in plain numpy.

Every metric works on 8-bit RGB (``HxWx3`` ``uint8``); :func:`to_uint8_rgb` brings a 16-bit frame there. The
definitions follow the papers and the reference implementations the colorization literature reports with:

- :func:`psnr`: peak signal-to-noise ratio with a data range of 255, over all pixels and channels.
- :func:`ssim`: structural similarity exactly as ``skimage.metrics.structural_similarity(a, b, channel_axis=-1,
  data_range=255)`` computes it with its defaults (7x7 uniform window, K1 0.01, K2 0.03, sample covariance, the
  mean over the windows that lie wholly inside the image, then over channels), or with a Gaussian window as Wang
  et al. define it (what :mod:`colormnet.exemplar_kind` compares luminance with).
- :func:`colorfulness`: Hasler and Süsstrunk (2003), on the 0-255 values.
- :func:`color_distribution_consistency`: CDC as introduced with TCVC (Liu et al.), see its docstring.
- :func:`frechet_distance`, :func:`frechet_distance_of_features`: the distance behind FID, between two Gaussians
  given by their statistics or fitted to two sets of features.

Nothing here needs torch; the networks behind LPIPS and FID live in :mod:`colormnet.perceptual`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: Frame distances over which CDC compares colour distributions, as TCVC does.
CDC_DILATIONS = (1, 2, 4)

#: Histogram bins per channel for CDC (one per 8-bit value).
CDC_BINS = 256


def to_uint8_rgb(frame: np.ndarray) -> np.ndarray:
    """Returns ``frame`` as ``HxWx3`` uint8 RGB, rounding 16-bit values to the nearest 8-bit value.

    Raises:
        ValueError: The array is not ``HxWx3`` or not of an integer type the readers produce.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"Expected an HxWx3 RGB frame, got an array of shape {frame.shape}.")
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        # 65535 / 255 = 257 exactly, so this maps 257 * v back to v and rounds everything in between.
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise ValueError(f"Expected a uint8 or uint16 frame, got {frame.dtype}.")


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"The frames differ in shape: {pred.shape} and {gt.shape}.")


def mean_squared_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared difference over all pixels and channels, in squared 8-bit units."""
    _check_pair(pred, gt)
    diff = pred.astype(np.float64) - gt.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(pred: np.ndarray, gt: np.ndarray, *, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``.

    Returns:
        The PSNR; ``math.inf`` for identical frames.
    """
    mse = mean_squared_error(pred, gt)
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def summarize_psnr(values: Sequence[float]) -> tuple[float, int]:
    """The mean PSNR of a clip and the number of identical frames left out of it.

    Identical frames have an infinite PSNR, which would make the mean infinite and hide every other frame; they are
    left out of the mean and counted instead. A clip whose frames are all identical has a mean of ``inf``.

    Returns:
        ``(mean over the finite values, number of infinite values)``; ``(nan, 0)`` for no values.
    """
    finite = [v for v in values if math.isfinite(v)]
    identical = len(values) - len(finite)
    if finite:
        return float(np.mean(finite)), identical
    return (math.inf if identical else math.nan), identical


def _window_means(plane: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Weighted mean over every window lying wholly inside ``plane``: ``(H - n + 1, W - n + 1)`` for ``n`` taps.

    The window is the outer product of ``taps`` with itself (uniform or Gaussian). Separable weighted sums of
    shifted views, one axis at a time: a handful of whole-array additions, faster than running sums here and
    without their cancellation error; uniform taps of 1 add exactly what a plain box sum adds.
    """
    size = len(taps)
    height, width = plane.shape
    rows = taps[0] * plane[: height - size + 1]
    for k in range(1, size):
        rows += taps[k] * plane[k : height - size + 1 + k]
    out = taps[0] * rows[:, : width - size + 1]
    for k in range(1, size):
        out += taps[k] * rows[:, k : width - size + 1 + k]
    out /= float(taps.sum()) ** 2
    return out


def _gaussian_taps(sigma: float, truncate: float = 3.5) -> np.ndarray:
    """A Gaussian window's 1-D weights, ``2 * int(truncate * sigma + 0.5) + 1`` of them (scikit-image's size)."""
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return taps / taps.sum()


def ssim(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    data_range: float = 255.0,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
    gaussian_sigma: float | None = None,
    sample_covariance: bool = True,
) -> float:
    """Mean structural similarity of two images, as scikit-image computes it (by default with its defaults).

    Each channel gets its own SSIM map from uniform ``win_size`` windows with the sample (``N - 1``) covariance;
    the map is averaged over the windows that lie wholly inside the image (scikit-image pads and then crops the
    same border away), and the channel means are averaged. With ``gaussian_sigma`` and ``sample_covariance=False``
    it is Wang et al.'s original SSIM, scikit-image's ``gaussian_weights=True, use_sample_covariance=False``.

    Args:
        pred: ``HxWxC`` or ``HxW`` image.
        gt: The reference, same shape.
        data_range: The value range (255 for 8-bit, 100 for L*).
        win_size: Side of the square uniform window (odd); ignored with ``gaussian_sigma``.
        k1: Luminance stabiliser constant.
        k2: Contrast stabiliser constant.
        gaussian_sigma: A Gaussian window of this sigma (truncated at 3.5 sigma: 11x11 for 1.5) instead.
        sample_covariance: Normalise (co)variances by ``N - 1`` rather than ``N``.

    Raises:
        ValueError: The shapes differ, or the image is smaller than the window.
    """
    _check_pair(pred, gt)
    taps = np.ones(win_size) if gaussian_sigma is None else _gaussian_taps(gaussian_sigma)
    win_size = len(taps)
    height, width = pred.shape[:2]
    if height < win_size or width < win_size:
        raise ValueError(f"SSIM needs images of at least {win_size}x{win_size} pixels, got {width}x{height}.")
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    n = win_size * win_size
    cov_norm = n / (n - 1.0) if sample_covariance else 1.0
    x3 = pred.reshape(height, width, -1)
    y3 = gt.reshape(height, width, -1)
    channel_means = []
    for c in range(x3.shape[2]):
        x = np.ascontiguousarray(x3[..., c], dtype=np.float64)
        y = np.ascontiguousarray(y3[..., c], dtype=np.float64)
        ux, uy = _window_means(x, taps), _window_means(y, taps)
        vx = cov_norm * (_window_means(x * x, taps) - ux * ux)
        vy = cov_norm * (_window_means(y * y, taps) - uy * uy)
        vxy = cov_norm * (_window_means(x * y, taps) - ux * uy)
        numerator = (2.0 * ux * uy + c1) * (2.0 * vxy + c2)
        denominator = (ux * ux + uy * uy + c1) * (vx + vy + c2)
        channel_means.append(float(np.mean(numerator / denominator)))
    return float(np.mean(channel_means))


def colorfulness(rgb: np.ndarray) -> float:
    """Colourfulness of Hasler and Süsstrunk (2003) on 8-bit RGB values.

    ``rg = R - G``, ``yb = (R + G) / 2 - B``;
    ``M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)`` with population standard deviations over
    the pixels. 0 for a gray image; about 15 is "slightly colourful", 45 "moderately", above 80 "extremely".
    """
    values = rgb.astype(np.float64)
    r, g, b = values[..., 0], values[..., 1], values[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    spread = math.sqrt(float(np.var(rg)) + float(np.var(yb)))
    centre = math.sqrt(float(np.mean(rg)) ** 2 + float(np.mean(yb)) ** 2)
    return spread + 0.3 * centre


def channel_histograms(rgb: np.ndarray) -> np.ndarray:
    """Per-channel histograms of an 8-bit image, 256 bins each, normalised by the pixel count: ``(3, 256)``."""
    if rgb.dtype != np.uint8:
        raise ValueError(f"Channel histograms need 8-bit RGB, got {rgb.dtype}.")
    pixels = rgb.reshape(-1, rgb.shape[-1])
    counts = np.stack([np.bincount(pixels[:, c], minlength=CDC_BINS) for c in range(pixels.shape[1])])
    return counts.astype(np.float64) / float(pixels.shape[0])


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural logarithm) between distributions along the last axis.

    ``JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``; empty bins contribute nothing. It lies
    in ``[0, ln 2]``. Inputs are normalised to sum to 1 first.

    Returns:
        One value per leading index (shape ``p.shape[:-1]``; a 0-d value for two 1-d distributions).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = 0.5 * (p + q)

    def kl_to_m(d: np.ndarray) -> np.ndarray:
        terms = np.zeros_like(d)
        nz = d > 0  # where d > 0, m > 0 too
        terms[nz] = d[nz] * np.log(d[nz] / m[nz])
        return terms.sum(axis=-1)

    return np.asarray(0.5 * kl_to_m(p) + 0.5 * kl_to_m(q))


@dataclass(frozen=True)
class ColorDistributionConsistency:
    """CDC of a clip: the mean Jensen-Shannon divergence between frames ``d`` apart, for each ``d``.

    Attributes:
        by_dilation: ``{d: value}`` for each frame distance; ``nan`` where the clip has no pair ``d`` apart.
        mean: The mean over the distances that have pairs (TCVC's CDC); ``nan`` for a one-frame clip.
    """

    by_dilation: dict[int, float]
    mean: float


def color_distribution_consistency(
    histograms: Sequence[np.ndarray] | np.ndarray, dilations: Sequence[int] = CDC_DILATIONS
) -> ColorDistributionConsistency:
    """Colour distribution consistency (CDC) of a clip, as defined with TCVC (Liu et al., 2021). Lower is steadier.

    TCVC's definition, kept here: each frame's three colour channels (TCVC reads them as OpenCV's B, G, R; the
    average over channels makes the order irrelevant) get a 256-bin histogram normalised by the pixel count. For a
    frame distance ``d``, the Jensen-Shannon divergence (natural logarithm) between the histograms of frames ``t``
    and ``t + d`` is averaged over the channels and over every ``t`` with ``t + d`` in the clip. CDC is the mean of
    the values for ``d`` in 1, 2 and 4.

    Args:
        histograms: One ``(3, 256)`` array per frame, in frame order (see :func:`channel_histograms`).
        dilations: The frame distances.
    """
    hist = np.asarray(histograms, dtype=np.float64)
    by_dilation: dict[int, float] = {}
    for d in dilations:
        if d < 1:
            raise ValueError(f"CDC frame distances are positive, got {d}.")
        if hist.shape[0] <= d:
            by_dilation[d] = math.nan
            continue
        by_dilation[d] = float(np.mean(js_divergence(hist[:-d], hist[d:])))
    present = [v for v in by_dilation.values() if not math.isnan(v)]
    return ColorDistributionConsistency(by_dilation, float(np.mean(present)) if present else math.nan)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between two Gaussians, ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (FID's formula).

    The trace of the matrix square root is taken as the sum of the square roots of the eigenvalues of the symmetric
    matrix ``S1^(1/2) S2 S1^(1/2)``, which has the same spectrum as ``S1 S2``; this stays real and stable when the
    covariances are singular, as they are whenever a clip has fewer frames than the feature dimension.
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    sqrt_s1 = _psd_sqrt(sigma1)
    middle = sqrt_s1 @ sigma2 @ sqrt_s1
    eigenvalues = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    trace_sqrt = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative rounding noise clipped)."""
    eigenvalues, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample covariance of ``(N, D)`` features, as FID uses (``N >= 2``)."""
    features = _check_features(features)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _check_features(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"Gaussian statistics need (N >= 2, D) features, got shape {features.shape}.")
    return features


def frechet_distance_of_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID's Fréchet distance between the Gaussians fitted to two sets of ``(N, D)`` features.

    A clip has far fewer frames than Inception has features (2048), and then the ``D x D`` route of
    :func:`frechet_distance` is both slow and inexact. With ``A1``, ``A2`` the centred features, ``S1 S2`` has the
    same non-zero eigenvalues as ``M M^T`` for ``M = A1 A2^T / sqrt((N1 - 1)(N2 - 1))``, so ``Tr (S1 S2)^(1/2)`` is
    the sum of the singular values of the small ``N1 x N2`` matrix ``M``. The result is the same number.
    """
    f1, f2 = _check_features(features1), _check_features(features2)
    if min(f1.shape[0], f2.shape[0]) >= f1.shape[1]:
        return frechet_distance(*gaussian_statistics(f1), *gaussian_statistics(f2))
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    a1 = (f1 - mu1) / math.sqrt(f1.shape[0] - 1)
    a2 = (f2 - mu2) / math.sqrt(f2.shape[0] - 1)
    trace_sqrt = float(np.sum(np.linalg.svd(a1 @ a2.T, compute_uv=False)))
    diff = mu1 - mu2
    return float(diff @ diff + np.sum(a1 * a1) + np.sum(a2 * a2) - 2.0 * trace_sqrt)
