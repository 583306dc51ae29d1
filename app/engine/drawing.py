"""Drawing poses on frames, in one place for every consumer: GUI, videos, snapshots.

Limbs are coloured by side (left blue, right orange, centre green: the usual convention of
pose demos), joints by confidence (red unsure to green sure).  Everything is BGR uint8.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.pose.skeleton import Side, Skeleton

# Joints below this confidence are hidden unless the user lowers it (the model card reports how
# often joints outside the crop still pass it).
DEFAULT_THRESHOLD = 0.3

SIDE_COLOURS: dict[Side, tuple[int, int, int]] = {
    "left": (235, 140, 40),
    "right": (30, 140, 255),
    "centre": (90, 200, 90),
}


def confidence_colour(confidence: float) -> tuple[int, int, int]:
    """Red at 0, yellow at 0.5, green at 1 (BGR)."""
    c = float(np.clip(confidence, 0.0, 1.0))
    return (40, int(255 * min(1.0, 2 * c)), int(255 * min(1.0, 2 * (1 - c))))


def line_width(image: np.ndarray) -> int:
    """Strokes that stay visible on small and large frames alike."""
    return max(2, round(max(image.shape[:2]) / 240))


def draw_pose(
    image: np.ndarray,
    keypoints: np.ndarray,
    confidences: np.ndarray,
    skeleton: Skeleton,
    threshold: float = DEFAULT_THRESHOLD,
) -> np.ndarray:
    """Draw limbs and joints above ``threshold`` onto ``image`` (in place) and return it."""
    width = line_width(image)
    shown = confidences >= threshold
    points = np.round(keypoints).astype(int)
    draw_limbs(image, points, shown, skeleton, width)
    for joint in np.flatnonzero(shown):
        centre = tuple(points[joint])
        cv2.circle(image, centre, width + 2, (20, 20, 20), -1, cv2.LINE_AA)
        cv2.circle(image, centre, width + 1, confidence_colour(confidences[joint]), -1,
                   cv2.LINE_AA)
    return image


def draw_limbs(image: np.ndarray, points: np.ndarray, shown: np.ndarray, skeleton: Skeleton,
               width: int) -> None:
    """The limbs between shown joints ((J, 2) integer pixels), coloured by side."""
    for a, b in skeleton.edges:
        if shown[a] and shown[b]:
            side = skeleton.side(a) if skeleton.side(a) == skeleton.side(b) else "centre"
            cv2.line(image, tuple(points[a]), tuple(points[b]), SIDE_COLOURS[side], width,
                     cv2.LINE_AA)


HEATMAP_COLOURMAP = cv2.COLORMAP_INFERNO


def colourise_heatmap(heatmap: np.ndarray, size: int | None = None) -> np.ndarray:
    """A (H, W) heatmap on the fixed 0..1 scale as a BGR image, optionally resized to ``size``.

    The scale is fixed, not stretched per map, so a weak joint looks weak.
    """
    levels = (np.clip(heatmap, 0.0, 1.0) * 255).astype(np.uint8)
    if size is not None:
        levels = cv2.resize(levels, (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.applyColorMap(levels, HEATMAP_COLOURMAP)


def colour_scale(height: int, width: int) -> np.ndarray:
    """The colour map as a vertical bar, 1 at the top: the legend next to heatmaps."""
    ramp = np.linspace(255, 0, height).astype(np.uint8)[:, None].repeat(width, axis=1)
    return cv2.applyColorMap(ramp, HEATMAP_COLOURMAP)


# overlay_heatmap works on bands of about this many pixels (a few MB of float32 each).
OVERLAY_BAND_PIXELS = 1 << 20


def overlay_heatmap(
    image: np.ndarray, heatmap: np.ndarray, frame_from_heatmap: np.ndarray, alpha: float = 0.6
) -> np.ndarray:
    """Blend a heatmap, warped back into the frame, onto ``image`` (in place).

    Only the part of the frame the heatmap covers is touched, a band of rows at a time, so a
    huge photo (8000 x 6000) costs tens of megabytes here, not gigabytes of float copies.
    """
    levels = np.nan_to_num(np.clip(heatmap, 0, 1)).astype(np.float32)
    height, width = image.shape[:2]
    map_height, map_width = levels.shape
    corners = np.array([[-1, -1, 1], [map_width, -1, 1], [-1, map_height, 1],
                        [map_width, map_height, 1]], np.float64) @ np.asarray(
                            frame_from_heatmap, np.float64).T
    x0, y0 = (max(0, int(np.floor(v))) for v in corners.min(axis=0))
    x1 = min(width, int(np.ceil(corners[:, 0].max())) + 1)
    y1 = min(height, int(np.ceil(corners[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return image
    band = max(1, OVERLAY_BAND_PIXELS // (x1 - x0))
    for top in range(y0, y1, band):
        bottom = min(y1, top + band)
        shifted = np.asarray(frame_from_heatmap, np.float64).copy()
        shifted[:, 2] -= (x0, top)
        warped = cv2.warpAffine(levels, shifted, (x1 - x0, bottom - top),
                                flags=cv2.INTER_LINEAR)
        coloured = cv2.applyColorMap((warped * 255).astype(np.uint8), HEATMAP_COLOURMAP)
        weight = (alpha * np.sqrt(warped))[..., None]  # low values fade out rather than tint
        region = image[top:bottom, x0:x1]
        region[:] = (region * (1 - weight) + coloured * weight).astype(np.uint8)
    return image


def stack_shade(stack: int, stacks: int) -> tuple[int, int, int]:
    """Stack k's colour in the refinement view: pale cyan (first) to deep magenta (last)."""
    t = stack / max(1, stacks - 1)
    first, last = np.array([230, 230, 120]), np.array([200, 40, 220])
    return tuple(int(v) for v in (1 - t) * first + t * last)


def draw_stack_points(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Each stack's estimate of one joint, (K, 2), in its shade, joined in stack order."""
    width = line_width(image)
    pixels = np.round(points).astype(int)
    for k in range(len(pixels) - 1):
        cv2.line(image, tuple(pixels[k]), tuple(pixels[k + 1]), (255, 255, 255), 1, cv2.LINE_AA)
    for k, point in enumerate(pixels):
        cv2.circle(image, tuple(point), width + 3, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(image, tuple(point), width + 2, stack_shade(k, len(pixels)), -1, cv2.LINE_AA)
    return image
