"""The heatmap codec: one object that says how joints become targets and heatmaps joints.

As in MMPose's codecs, everything that ties a network's heatmaps to coordinates lives here:
the input size, the heatmap size, the Gaussian's sigma, and the decoding that undoes the
encoding.  A checkpoint's spec holds its codec, so training (which encodes), the pipeline and
evaluation (which decode) agree by construction.

``encode`` and ``decode`` work in heatmap pixels; ``from_frame`` and ``to_frame`` move points
between a frame and the heatmap of a crop of it by the same affine map as the crop itself
(``app.pose.affine``), so a heatmap pixel lands exactly on the input pixels it summarises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.pose.affine import CropBox, apply_affine, crop_matrix, crop_to_frame
from app.pose.heatmaps import Refinement, decode_heatmaps, gaussian_heatmaps

# The Gaussian's sigma in heatmap pixels when a checkpoint does not say: every model this app
# has trained and shipped used it (public ports say their own: 1).
DEFAULT_SIGMA = 2.0
# The hourglass's stem brings the input down to a quarter before the first hourglass, and its
# heatmaps keep that resolution.
HEATMAP_STRIDE = 4
# Sigma's bounds, in heatmap pixels.  Narrower than a quarter of a pixel the target is one lit
# pixel whatever sigma says (its neighbours hold less than e^-8), and near zero the Gaussian
# divides by nothing.  Wider than a quarter of the heatmap the Gaussian covers the whole map
# and locates nothing, and DARK's blur, as wide as the targets, sizes buffers by it: a sigma of
# 1e6 asked for 815 TiB.  Every model trained or ported uses 1 to 3.
MIN_SIGMA = 0.25
MAX_SIGMA_SHARE = 0.25  # of the heatmap's width


@dataclass(frozen=True)
class HeatmapCodec:
    """Square crops of ``input_size`` pixels, heatmaps ``input_size / stride`` pixels wide,
    Gaussian targets of ``sigma`` heatmap pixels."""

    input_size: int
    sigma: float = DEFAULT_SIGMA
    stride: int = HEATMAP_STRIDE

    def __post_init__(self) -> None:
        if not math.isfinite(self.sigma) or self.sigma <= 0:
            raise ValueError(f"sigma must be a positive number, got {self.sigma!r}")
        widest = MAX_SIGMA_SHARE * self.heatmap_size
        if not MIN_SIGMA <= self.sigma <= widest:
            raise ValueError(f"sigma {self.sigma:g} is not between {MIN_SIGMA:g} and {widest:g} "
                             f"heatmap pixels, the widths a Gaussian target on a "
                             f"{self.heatmap_size}-pixel heatmap can have")

    @property
    def heatmap_size(self) -> int:
        return self.input_size // self.stride

    @property
    def dark_kernel(self) -> int:
        """DARK's blur, as wide as the targets: an odd kernel reaching ``sigma`` pixels either
        side of its centre (5 for the default sigma of 2)."""
        return 2 * math.ceil(self.sigma) + 1

    def encode(self, joints: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Targets (J, S, S) for joints (J, 2) in heatmap pixels: a Gaussian of peak 1 at each;
        all zero for a joint of weight 0 or outside the map."""
        return gaussian_heatmaps(joints, self.heatmap_size, self.sigma, weights)

    def decode(self, heatmaps: np.ndarray, refinement: Refinement = "dark"
               ) -> tuple[np.ndarray, np.ndarray]:
        """Joints (..., 2) in heatmap pixels and confidences (...) from maps (..., S, S)."""
        return decode_heatmaps(heatmaps, refinement, self.dark_kernel)

    def to_frame(self, points: np.ndarray, box: CropBox) -> np.ndarray:
        """Points in the heatmap of the crop ``box`` back in frame pixels."""
        return crop_to_frame(points, box, self.heatmap_size)

    def from_frame(self, points: np.ndarray, box: CropBox, rotation: float = 0.0
                   ) -> np.ndarray:
        """Points in frame pixels in the heatmap of the crop ``box`` turned by ``rotation``
        degrees."""
        return apply_affine(crop_matrix(box, self.heatmap_size, rotation), points)
