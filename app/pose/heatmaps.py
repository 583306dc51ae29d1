"""The heatmap codec: joints to Gaussian targets, and heatmaps back to joints.

Following MMPose's split, this module knows nothing of the network: it turns coordinates in
heatmap pixels into target maps and back.  Decoding is arg-max plus a sub-pixel refinement,
either DARK (Zhang et al., CVPR 2020: a second-order Taylor expansion of the log of the
smoothed heatmap at its maximum) or the classic quarter-pixel shift toward the higher
neighbour.  The confidence of a joint is the height of its heatmap's peak.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Refinement = Literal["dark", "quarter", "none"]


def gaussian_heatmaps(
    joints: np.ndarray, size: int, sigma: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Targets (J, size, size): an unnormalised Gaussian (peak 1) at each joint.

    Joints with weight 0 or outside the map get an all-zero map: the network learns to say
    "not here", which is what lets the app hide joints outside the crop.
    """
    joints = np.asarray(joints, dtype=np.float32)
    grid = np.arange(size, dtype=np.float32)
    dx = np.exp(-((grid[None, :] - joints[:, 0:1]) ** 2) / (2 * sigma**2))
    dy = np.exp(-((grid[None, :] - joints[:, 1:2]) ** 2) / (2 * sigma**2))
    maps = dy[:, :, None] * dx[:, None, :]
    inside = (
        (joints[:, 0] >= -0.5) & (joints[:, 0] <= size - 0.5)
        & (joints[:, 1] >= -0.5) & (joints[:, 1] <= size - 0.5)
    )
    keep = inside if weights is None else inside & (np.asarray(weights) > 0)
    maps[~keep] = 0.0
    return maps


def argmax_2d(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer peak (x, y) and peak value of each map in (..., H, W)."""
    height, width = heatmaps.shape[-2:]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], height * width)
    index = flat.argmax(axis=-1)
    peaks = np.stack([index % width, index // width], axis=-1).astype(np.float64)
    return peaks, np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]


def quarter_offset(heatmap: np.ndarray, x: int, y: int) -> np.ndarray:
    """Shift a quarter pixel toward the higher neighbour on each axis (Newell et al.)."""
    height, width = heatmap.shape
    shift = np.zeros(2)
    if 0 < x < width - 1:
        shift[0] = 0.25 * np.sign(heatmap[y, x + 1] - heatmap[y, x - 1])
    if 0 < y < height - 1:
        shift[1] = 0.25 * np.sign(heatmap[y + 1, x] - heatmap[y - 1, x])
    return shift


def dark_offset(log_map: np.ndarray, x: int, y: int) -> np.ndarray:
    """Newton step -H^-1 g on a log-heatmap at (x, y); zero where it is not well posed."""
    height, width = log_map.shape
    if not (1 <= x < width - 1 and 1 <= y < height - 1):
        return np.zeros(2)
    m = log_map
    dx = 0.5 * (m[y, x + 1] - m[y, x - 1])
    dy = 0.5 * (m[y + 1, x] - m[y - 1, x])
    dxx = m[y, x + 1] - 2 * m[y, x] + m[y, x - 1]
    dyy = m[y + 1, x] - 2 * m[y, x] + m[y - 1, x]
    dxy = 0.25 * (m[y + 1, x + 1] - m[y + 1, x - 1] - m[y - 1, x + 1] + m[y - 1, x - 1])
    det = dxx * dyy - dxy * dxy
    if det <= 1e-12 or dxx >= 0:  # not a maximum: keep the integer peak
        return np.zeros(2)
    offset = -np.array([dyy * dx - dxy * dy, dxx * dy - dxy * dx]) / det
    return np.clip(offset, -1.0, 1.0)


def smooth_for_dark(heatmap: np.ndarray, kernel: int) -> np.ndarray:
    """DARK's modulation: blur, rescale to the original peak, take the log.

    Beyond the map the blur sees zeros, as in the DARK and MMPose reference code.  OpenCV's
    default border (a mirror) would fold a peak near the edge onto itself, pulling the decoded
    joint toward the edge by more than a tenth of a pixel two pixels in, and far more nearer.
    """
    peak = float(heatmap.max())
    blurred = cv2.GaussianBlur(
        heatmap.astype(np.float32), (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT
    )
    blurred_peak = float(blurred.max())
    if blurred_peak > 0:
        blurred *= peak / blurred_peak
    return np.log(np.maximum(blurred, 1e-10))


def decode_heatmaps(
    heatmaps: np.ndarray, refinement: Refinement = "dark", dark_kernel: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions (J, 2) in heatmap pixels and confidences (J,) from maps (J, H, W)."""
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    peaks, confidences = argmax_2d(heatmaps)
    if refinement == "none":
        return peaks, confidences
    for joint, (x, y) in enumerate(peaks.astype(int)):
        if refinement == "dark":
            log_map = smooth_for_dark(heatmaps[joint], dark_kernel)
            peaks[joint] += dark_offset(log_map, x, y)
        else:
            peaks[joint] += quarter_offset(heatmaps[joint], x, y)
    return peaks, confidences


def flip_back(heatmaps: np.ndarray, flip_permutation: np.ndarray) -> np.ndarray:
    """Heatmaps of a mirrored input, mirrored back and with left and right swapped."""
    return heatmaps[..., flip_permutation, :, ::-1]


def merge_flipped(
    heatmaps: np.ndarray, flipped_heatmaps: np.ndarray, flip_permutation: np.ndarray
) -> np.ndarray:
    """The flip test: average the maps of the input and (flipped back) of its mirror image."""
    return 0.5 * (heatmaps + flip_back(flipped_heatmaps, flip_permutation))
