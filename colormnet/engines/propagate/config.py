"""Settings of the propagation engine (no learned weights: every value here is a hand-set numeric choice)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PropagateConfig:
    """How chroma is carried from the exemplar through a segment.

    Luminance differences are in L* units (0 to 100); sizes in pixels of the working grid.
    """

    work_size: int = 320  # short side of the grid on which flow, matching and blending run (chroma is smooth)
    flow_preset: str = "medium"  # DIS preset of the flow that carries chroma: ultrafast, fast or medium
    flow_patch_stride: int = 4  # its patch spacing: the medium preset's 3 is slower and carries chroma less well
    fast_motion: float = 12.0  # last step's motion (90th percentile) above which the carrying flow starts from it
    check_preset: str = "ultrafast"  # DIS preset of the reverse flow (consistency test) and of the re-anchoring flow
    consistency_alpha: float = 0.01  # forward-backward test: tolerance relative to the squared motion
    consistency_beta: float = 0.5  # forward-backward test: absolute tolerance, squared pixels
    luma_sigma: float = 6.0  # luminance mismatch (after flicker normalisation) at which a source's weight is 1/e
    base_sigma: float = 4.0  # scale (pixels) of the local mean that separates lighting from detail
    base_tolerance: float = 15.0  # local-mean mismatch at which a source's weight is 1/e (lighting may change)
    trust_memory: float = 0.7  # how much of a chain's trust carries over a frame (the rest: today's agreement)
    inconsistent_weight: float = 0.2  # weight of the previous frame's chroma where its flow fails the test
    flat_radius: int = 4  # radius of the window in which chroma counts as flat (a flow error there is harmless)
    flat_chroma: float = 0.02  # chroma standard deviation (normalised a', b') below which a window is flat
    reanchor_margin: float = 0.05  # agreement by which a direct match to the anchor must beat the chain to replace it
    reanchor_min: float = 0.85  # agreement a direct match to the anchor needs at least
    reanchor_texture: float = 1.5  # local luminance deviation (L*, window of base_sigma) for a direct match to count
    anchor_gain: float = 0.7  # preference for the exemplar's own chroma over the previous frame's, where both agree
    chain_travel: float = 20.0  # path length of a chain since its last direct anchor match at which its read halves
    magnify_area: float = 0.25  # anchor area behind a pixel below which (a zoom-in past 2x) the exemplar counts less
    fallback_weight: float = 0.05  # weight of the feature-matched chroma (dominates only where the flow fails)
    fallback_below: float = 0.05  # pixels whose flow weights sum below this are matched against the exemplar
    fallback_area: float = 0.02  # share of the frame that must be weak before the matching runs at all
    match_samples: int = 4096  # exemplar samples searched by the feature matching
    match_neighbours: int = 8  # k of the k-nearest-neighbour chroma transfer
    match_position_weight: float = 20.0  # cost (L* units) of a match across the whole frame
    guide_radius: int = 1  # guided-filter radius on the carried chroma at full size (wider windows smear detail)
    guide_eps: float = 3e-4  # guided-filter regularisation, in (L*/100)^2

    def __post_init__(self) -> None:
        if self.work_size < 16:
            raise ValueError("work_size must be at least 16 pixels")
        if self.luma_sigma <= 0 or self.anchor_gain <= 0 or self.fallback_weight <= 0 or self.magnify_area <= 0:
            raise ValueError("luma_sigma, anchor_gain, fallback_weight and magnify_area must be positive")
        if self.fast_motion <= 0 or self.chain_travel <= 0:
            raise ValueError("fast_motion and chain_travel must be positive")
        if self.guide_radius < 0 or self.guide_eps <= 0:
            raise ValueError("guide_radius must be >= 0 and guide_eps > 0")
