"""How close a colorized clip is to the true colours, frame by frame and in summary (``colormnet eval``'s library).

PRED and GT are video files or image-sequence folders (anything :class:`~colormnet.video.VideoReader` opens). Frame
``i`` of PRED is compared with frame ``i + gt_start`` of GT, on 8-bit RGB (16-bit sources are rounded to 8 bits).
The metrics are those of :mod:`colormnet.metrics` (PSNR, SSIM, colourfulness, CDC) and, when their network weights
are given as local files, LPIPS and FID from :mod:`colormnet.perceptual`. The command, its tables, JSON and CSV are
in :mod:`colormnet.cli.evaluate`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from colormnet.errors import InferenceError, VideoError
from colormnet.metrics import (
    CDC_DILATIONS,
    ColorDistributionConsistency,
    channel_histograms,
    color_distribution_consistency,
    colorfulness,
    js_divergence,
    psnr,
    ssim,
    summarize_psnr,
    to_uint8_rgb,
)

if TYPE_CHECKING:
    from colormnet.perceptual import PerceptualScores

logger = logging.getLogger(__name__)

#: Relative difference of width/height ratios above which GT is not resized onto PRED (it would distort).
ASPECT_TOLERANCE = 0.01

LPIPS_SKIPPED = ("LPIPS skipped: it needs network weights, which colormnet never downloads; pass --lpips-weights FILE "
                 "(torchvision's ImageNet AlexNet and the LPIPS release's alex.pth, the option once per file).")
FID_SKIPPED = ("FID skipped: it needs Inception-v3 weights, which colormnet never downloads; pass --fid-weights FILE "
               "(pytorch-fid's pt_inception-2015-12-05 or torchvision's inception_v3).")
FID_FEW_FRAMES = "FID skipped: it compares frame distributions and needs at least 2 frames."

#: Side of SSIM's window; frames smaller than this get no SSIM (see SSIM_TOO_SMALL).
SSIM_WINDOW = 7
#: Smallest frame side LPIPS can take: AlexNet's strided convolutions and pools leave nothing of a smaller frame.
LPIPS_MIN_SIDE = 31
# A smaller window would measure something else than the SSIM papers report (scikit-image's 7x7 default), and a
# window of 1 pixel has no variance at all: a number would mislead, so the frames get none.
SSIM_TOO_SMALL = ("SSIM not measured: the frames are {}x{}, smaller than its 7x7 window (a smaller window would not "
                  "be comparable with published SSIM).")
LPIPS_TOO_SMALL = "LPIPS skipped: the frames are {}x{}; its network needs at least 31 pixels a side."
#: Mean colourfulness of GT below which it is taken for gray: a gray frame scores 0, and compression noise a fraction
#: of a unit, where Hasler and Süsstrunk's least colourful photographs score about 15.
GRAY_GT_COLORFULNESS = 1.0
GRAY_GT = ("GT has no colour (mean colourfulness {:.2f}): it is not the true colours, so the scores say how far PRED "
           "is from gray.")


@dataclass(frozen=True)
class FrameScores:
    """The scores of one PRED frame against its GT frame.

    Attributes:
        index: Frame number in PRED.
        gt_index: Frame number in GT.
        psnr: PSNR in dB (``inf`` for identical frames).
        ssim: Mean SSIM; ``nan`` for frames smaller than its window.
        colorfulness: Hasler-Süsstrunk colourfulness of the PRED frame.
        gt_colorfulness: The same for the GT frame.
        cdc_next: Jensen-Shannon divergence of PRED's colour histograms to the next compared frame, averaged over
            the channels (the frame's share of CDC at distance 1); ``nan`` for the last frame.
        lpips: LPIPS distance, or None when LPIPS was skipped.
    """

    index: int
    gt_index: int
    psnr: float
    ssim: float
    colorfulness: float
    gt_colorfulness: float
    cdc_next: float = math.nan
    lpips: float | None = None


@dataclass
class EvaluationReport:
    """Everything ``colormnet eval`` measured.

    Attributes:
        pred: The colorized clip.
        gt: The ground truth.
        width: Width at which the frames were compared.
        height: Height at which the frames were compared.
        gt_resized: Whether GT frames were resized to PRED's size.
        frames: Per-frame scores, in frame order.
        cdc: Colour distribution consistency of PRED.
        gt_cdc: The same for the compared GT frames (the consistency of the true colours, for reference).
        fid: FID between the PRED and GT frames, or None when skipped.
        notes: One-line remarks (metrics skipped and why).
    """

    pred: Path
    gt: Path
    width: int
    height: int
    gt_resized: bool
    frames: list[FrameScores]
    cdc: ColorDistributionConsistency
    gt_cdc: ColorDistributionConsistency
    fid: float | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        """Means over the frames, CDC per frame distance and FID. PSNR leaves identical frames out (counted)."""
        mean_psnr, identical = summarize_psnr([f.psnr for f in self.frames])
        lpips = [f.lpips for f in self.frames if f.lpips is not None]
        out: dict[str, float | int | None] = {
            "frames": len(self.frames),
            "psnr": mean_psnr,
            "psnr_identical_frames": identical,
            "ssim": _mean([f.ssim for f in self.frames]),
            "colorfulness": _mean([f.colorfulness for f in self.frames]),
            "gt_colorfulness": _mean([f.gt_colorfulness for f in self.frames]),
            "cdc": self.cdc.mean,
        }
        out.update({f"cdc_d{d}": v for d, v in self.cdc.by_dilation.items()})
        out["gt_cdc"] = self.gt_cdc.mean
        out.update({f"gt_cdc_d{d}": v for d, v in self.gt_cdc.by_dilation.items()})
        out["lpips"] = _mean(lpips) if lpips else None
        out["fid"] = self.fid
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings; ``inf`` and ``nan`` as null (a null PSNR is an identical frame)."""
        return {
            "pred": str(self.pred),
            "gt": str(self.gt),
            "width": self.width,
            "height": self.height,
            "gt_resized": self.gt_resized,
            "summary": {k: _json_number(v) for k, v in self.summary().items()},
            "frames": [{k: _json_number(v) for k, v in asdict(f).items()} for f in self.frames],
            "notes": list(self.notes),
        }


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def parse_frames(text: str) -> tuple[int, int | None]:
    """``"A:B"`` (either side optional, B exclusive) or ``"N"`` -> ``(start, stop)``; stop None for "to the end".

    Raises:
        VideoError: The text is not of that form.
    """
    try:
        if ":" not in text:
            return int(text), int(text) + 1
        a, b = text.split(":", 1)
        return (int(a) if a.strip() else 0), (int(b) if b.strip() else None)
    except ValueError:
        raise VideoError(f"Expected --frames A:B (frame numbers of PRED), got {text!r}.") from None


def _first_source_frame(path: Path, frame_count: int) -> tuple[int, str]:
    """The source frame PRED's frame 0 shows, and how that is known: a folder of a range's render is numbered by its
    source frames, a video file of one says so in its record (``NAME.colormnet.json``); 0 otherwise."""
    from colormnet.sidecar import recorded_first_frame, sidecar_path
    from colormnet.video.sequence_source import frame_number, list_images

    if path.is_dir():
        images = list_images(path)
        first = (frame_number(images[0]) or 0) if images else 0
        return first, f"numbered from {first}"
    first = recorded_first_frame(path, frame_count) or 0
    return first, f"rendered from source frame {first} (as {sidecar_path(path).name} records)"


def _compared_frames(pred_count: int, gt_count: int, frames: tuple[int, int | None] | None, gt_start: int,
                     pred_first: tuple[int, str] = (0, "")) -> range:
    """The PRED frames to compare; checks that GT has their partners (``pred_first``: the source frame PRED's frame 0
    shows, and how that is known)."""
    first, known_from = pred_first
    if gt_start < 0 or gt_start >= gt_count:
        raise VideoError(f"--gt-start {gt_start} is outside GT, which has frames 0 to {gt_count - 1}.")
    if frames is None:
        if pred_count != gt_count - gt_start and gt_start == 0 and 0 < first <= gt_count - pred_count:
            raise VideoError(
                f"PRED has {pred_count} frames, {known_from}, but GT has {gt_count}; pass --gt-start {first} "
                f"--frames 0:{pred_count} to compare them with GT's frames {first} to {first + pred_count - 1}."
            )
        if pred_count != gt_count - gt_start:
            raise VideoError(
                f"PRED has {pred_count} frames but GT has {gt_count - gt_start} from frame {gt_start} on; pass "
                f"--frames 0:{min(pred_count, gt_count - gt_start)} to compare only the frames both have."
            )
        return range(pred_count)
    start, stop = frames[0], pred_count if frames[1] is None else frames[1]
    if 0 <= stop <= start < pred_count:
        raise VideoError(f"--frames {start}:{stop} holds no frame: A:B runs from PRED frame A up to, not including, "
                         "B, so B must be greater than A.")
    if not 0 <= start < stop <= pred_count:
        raise VideoError(f"--frames {start}:{stop} is outside PRED, which has frames 0 to {pred_count - 1}.")
    if stop + gt_start > gt_count:
        raise VideoError(f"GT has no frame {stop - 1 + gt_start} to compare with PRED frame {stop - 1}: it has "
                         f"{gt_count} frames; shorten --frames or lower --gt-start.")
    return range(start, stop)


def _check_sizes(pred_size: tuple[int, int], gt_size: tuple[int, int], resize_gt: bool) -> bool:
    """Whether GT needs resizing onto PRED's size; raises when the sizes cannot be matched."""
    if pred_size == gt_size:
        return False
    (pw, ph), (gw, gh) = pred_size, gt_size
    if not resize_gt:
        raise VideoError(f"PRED is {pw}x{ph} but GT is {gw}x{gh}; pass --resize-gt to scale GT to PRED's size.")
    if abs((pw / ph) / (gw / gh) - 1.0) > ASPECT_TOLERANCE:
        raise VideoError(f"PRED ({pw}x{ph}) and GT ({gw}x{gh}) differ in aspect ratio, so GT cannot be resized onto "
                         "PRED without distortion; crop them to the same picture first.")
    return True


def _resize_to(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    from colormnet.color import resize_rgb  # Pillow's antialiased bilinear, as the rest of the program resizes

    return np.round(resize_rgb(rgb, width, height) * 255.0).astype(np.uint8)


def _perceptual_scores(lpips_weights: Sequence[str | Path], fid_weights: str | Path | None, device: str,
                       notes: list[str], frame_count: int, size: tuple[int, int]) -> PerceptualScores:
    """The LPIPS and FID networks for which weights were given and that fit the frames; a note for each skipped."""
    import torch

    from colormnet.perceptual import PerceptualScores

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InferenceError("--device cuda was asked for but no CUDA device is available; use --device cpu.")
    if not lpips_weights:
        notes.append(LPIPS_SKIPPED)
    elif min(size) < LPIPS_MIN_SIDE:
        notes.append(LPIPS_TOO_SMALL.format(*size))
        lpips_weights = ()
    if fid_weights is None:
        notes.append(FID_SKIPPED)
    elif frame_count < 2:
        notes.append(FID_FEW_FRAMES)
        fid_weights = None
    return PerceptualScores(lpips_weights, fid_weights, device)


def evaluate(
    pred: str | Path,
    gt: str | Path,
    *,
    frames: tuple[int, int | None] | None = None,
    gt_start: int = 0,
    resize_gt: bool = False,
    lpips_weights: Sequence[str | Path] = (),
    fid_weights: str | Path | None = None,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationReport:
    """Compares a colorized clip with the true colours.

    Args:
        pred: The colorized video file or image folder.
        gt: The ground-truth video file or image folder.
        frames: ``(start, stop)`` PRED frames to compare (stop None: to the end); None compares all of PRED, which
            then must have as many frames as GT from ``gt_start`` on.
        gt_start: The GT frame that PRED's frame 0 shows.
        resize_gt: Resize GT frames to PRED's size when they differ (same aspect ratio only).
        lpips_weights: Local files with the LPIPS network's weights; empty skips LPIPS.
        fid_weights: A local Inception-v3 checkpoint; None skips FID.
        device: ``auto``, ``cpu`` or ``cuda``, for the LPIPS and FID networks.
        progress: Called with ``(frames done, frames in all)`` after each frame.
        cancel: Set it to stop; :class:`KeyboardInterrupt` is raised between frames.

    Raises:
        VideoError: A clip cannot be read, or the frame counts or sizes cannot be matched.
        WeightsError: A weights file is missing, unreadable or of another network.
        InferenceError: ``device="cuda"`` without a CUDA device.
    """
    from colormnet.video import VideoReader

    notes: list[str] = []
    with VideoReader(pred) as pred_reader, VideoReader(gt) as gt_reader:
        pi, gi = pred_reader.info, gt_reader.info
        compared = _compared_frames(pi.frame_count, gi.frame_count, frames, gt_start,
                                    _first_source_frame(Path(pred), pi.frame_count))
        resized = _check_sizes((pi.width, pi.height), (gi.width, gi.height), resize_gt)
        networks = _perceptual_scores(lpips_weights, fid_weights, device, notes, len(compared), (pi.width, pi.height))
        with_ssim = min(pi.width, pi.height) >= SSIM_WINDOW
        if not with_ssim:
            notes.append(SSIM_TOO_SMALL.format(pi.width, pi.height))
        scores: list[FrameScores] = []
        pred_hist: list[np.ndarray] = []
        gt_hist: list[np.ndarray] = []
        if progress is not None:
            progress(0, len(compared))
        pairs = zip(pred_reader.frames(compared.start, compared.stop),
                    gt_reader.frames(compared.start + gt_start, compared.stop + gt_start), strict=True)
        for done, ((i, p), (j, g)) in enumerate(pairs, start=1):
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            p, g = to_uint8_rgb(p), to_uint8_rgb(g)
            if resized:
                g = _resize_to(g, pi.width, pi.height)
            pred_hist.append(channel_histograms(p))
            gt_hist.append(channel_histograms(g))
            similarity = ssim(p, g, win_size=SSIM_WINDOW) if with_ssim else math.nan
            scores.append(FrameScores(i, j, psnr(p, g), similarity, colorfulness(p), colorfulness(g),
                                      lpips=networks.add(p, g)))
            if progress is not None:
                progress(done, len(compared))
    gt_colour = _mean([s.gt_colorfulness for s in scores])
    if gt_colour < GRAY_GT_COLORFULNESS:  # false for no frames (nan)
        notes.append(GRAY_GT.format(gt_colour))
    if len(scores) > 1:  # each frame's share of CDC at distance 1, to find where colours flicker
        next_js = js_divergence(np.stack(pred_hist[:-1]), np.stack(pred_hist[1:])).mean(axis=-1)
        scores[:-1] = [replace(s, cdc_next=float(v)) for s, v in zip(scores[:-1], next_js, strict=True)]
    return EvaluationReport(
        pred=Path(pred), gt=Path(gt), width=pi.width, height=pi.height, gt_resized=resized, frames=scores,
        cdc=color_distribution_consistency(pred_hist, CDC_DILATIONS),
        gt_cdc=color_distribution_consistency(gt_hist, CDC_DILATIONS), fid=networks.fid(), notes=notes)
