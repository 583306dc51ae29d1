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


def neighbourhoods(maps: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 3x3 values around each (N, H, W) map's integer peak, (N, 3, 3), and whether the
    whole neighbourhood lies inside the map (N,); outside values are repeated edge values."""
    count, height, width = maps.shape
    x, y = peaks[:, 0].astype(int), peaks[:, 1].astype(int)
    inside = (x >= 1) & (x < width - 1) & (y >= 1) & (y < height - 1)
    rows = np.clip(y[:, None] + np.arange(-1, 2), 0, height - 1)
    cols = np.clip(x[:, None] + np.arange(-1, 2), 0, width - 1)
    values = maps[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return values, inside


def quarter_offsets(maps: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Shift a quarter pixel toward the higher neighbour on each axis (Newell et al.)."""
    around, _ = neighbourhoods(maps, peaks)
    height, width = maps.shape[-2:]
    x, y = peaks[:, 0], peaks[:, 1]
    shift = 0.25 * np.stack([np.sign(around[:, 1, 2] - around[:, 1, 0]),
                             np.sign(around[:, 2, 1] - around[:, 0, 1])], axis=-1)
    shift[(x < 1) | (x > width - 2), 0] = 0.0
    shift[(y < 1) | (y > height - 2), 1] = 0.0
    return shift


def newton_offsets(log_around: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """DARK's Newton steps -H^-1 g from the (N, 3, 3) log-values around each peak; zero where
    not well posed (a neighbourhood not inside the map, or no maximum there)."""
    m = log_around
    dx = 0.5 * (m[:, 1, 2] - m[:, 1, 0])
    dy = 0.5 * (m[:, 2, 1] - m[:, 0, 1])
    dxx = m[:, 1, 2] - 2 * m[:, 1, 1] + m[:, 1, 0]
    dyy = m[:, 2, 1] - 2 * m[:, 1, 1] + m[:, 0, 1]
    dxy = 0.25 * (m[:, 2, 2] - m[:, 2, 0] - m[:, 0, 2] + m[:, 0, 0])
    det = dxx * dyy - dxy * dxy
    maximum = inside & (det > 1e-12) & (dxx < 0)  # elsewhere keep the integer peak
    safe_det = np.where(maximum, det, 1.0)
    offset = -np.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx], axis=-1) / safe_det[:, None]
    return np.where(maximum[:, None], np.clip(offset, -1.0, 1.0), 0.0)


def dark_blur(maps: np.ndarray, kernel: int) -> tuple[np.ndarray, np.ndarray]:
    """DARK's blur of (N, H, W) maps, and the factor (N,) that rescales each to its own peak.

    Beyond the map the blur sees zeros, as in the DARK and MMPose reference code.  A mirrored
    border would fold a peak near the edge onto itself, pulling the decoded joint toward the
    edge by more than a tenth of a pixel two pixels in, and far more nearer.  All maps are
    blurred in one OpenCV call: stacked into one tall image, each in its own frame of zeros
    as wide as the kernel's reach, so no map's blur reaches into its neighbour.
    """
    count, height, width = maps.shape
    half = kernel // 2
    padded = np.zeros((count, height + 2 * half, width + 2 * half), np.float32)  # np.pad: 10x
    padded[:, half:half + height, half:half + width] = maps
    tall = padded.reshape(count * (height + 2 * half), width + 2 * half)
    blurred = cv2.GaussianBlur(tall, (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT)
    blurred = blurred.reshape(padded.shape)[:, half:half + height, half:half + width]
    peak = maps.reshape(count, -1).max(axis=1)
    blurred_peak = blurred.max(axis=(1, 2))
    scale = np.where(blurred_peak > 0, peak / np.where(blurred_peak > 0, blurred_peak, 1), 1)
    return blurred, scale


def dark_offsets(maps: np.ndarray, peaks: np.ndarray, kernel: int) -> np.ndarray:
    """DARK (Zhang et al., CVPR 2020): blur, take the log, one Newton step from the integer
    peak.  Only the 3x3 values around each peak are rescaled and taken the log of: that is
    all the step reads, and a frame's maps hold a hundred times more."""
    blurred, scale = dark_blur(maps, kernel)
    around, inside = neighbourhoods(blurred, peaks)
    return newton_offsets(np.log(np.maximum(around * scale[:, None, None], 1e-10)), inside)


def decode_heatmaps(
    heatmaps: np.ndarray, refinement: Refinement = "dark", dark_kernel: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions (..., 2) in heatmap pixels and confidences (...) from maps (..., H, W).

    Any leading shape works, e.g. (J, H, W) for one pose or (K, J, H, W) for every stack at
    once; all maps are decoded together in vectorised numpy.  A confidence is the peak's height
    clipped to 0..1: a network trained by regression overshoots both ways, and a peak of 1.4
    is no surer than one of 1.

    Every number out is finite, whatever comes in: a NaN or infinite heatmap value (a network
    that overflowed in half precision, say) counts as "not here", zero, so a map of nothing
    else decodes to confidence 0 and the joint is hidden, never written as NaN.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    leading = heatmaps.shape[:-2]
    maps = heatmaps.reshape(-1, *heatmaps.shape[-2:])
    finite = np.isfinite(maps)
    if not finite.all():
        maps = np.where(finite, maps, np.float32(0.0))
    peaks, confidences = argmax_2d(maps)
    offsets = np.zeros_like(peaks)
    with np.errstate(over="ignore", invalid="ignore"):  # values near float32's limit
        if refinement == "dark":
            offsets = dark_offsets(maps, peaks, dark_kernel)
        elif refinement == "quarter":
            offsets = quarter_offsets(maps, peaks)
    peaks += np.where(np.isfinite(offsets), offsets, 0.0)  # no finite refinement: the peak
    return peaks.reshape(*leading, 2), np.clip(confidences, 0.0, 1.0).reshape(leading)


def flip_back(heatmaps: np.ndarray, flip_permutation: np.ndarray) -> np.ndarray:
    """Heatmaps of a mirrored input, mirrored back and with left and right swapped."""
    return heatmaps[..., flip_permutation, :, ::-1]


def merge_flipped(
    heatmaps: np.ndarray, flipped_heatmaps: np.ndarray, flip_permutation: np.ndarray
) -> np.ndarray:
    """The flip test: average the maps of the input and (flipped back) of its mirror image."""
    return 0.5 * (heatmaps + flip_back(flipped_heatmaps, flip_permutation))
