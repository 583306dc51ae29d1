"""Affine crops between a frame and the network's square input (and its heatmaps).

Coordinates are pixel indices: pixel (i, j) has its centre at (i, j).  A crop is a square of
``side`` frame pixels around ``center``, turned by ``rotation`` degrees, mapped onto an
``size`` x ``size`` grid.  The same function gives the frame-to-input and the frame-to-heatmap
transforms (only ``size`` differs), so a heatmap pixel lands exactly on the input pixels it
summarises: heatmap = (input + 0.5) / stride - 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The person box: the joints' extent times this.  The network is trained on such crops, the
# tracker follows and a dragged choice is searched with the same margin, and the model card
# states it; roomier boxes (1.5x) cost 3.5 points of PCK@0.2 on held-out LSPet photos held
# still (60.4 against 56.9 after four frames, 150 photos), the person being smaller in the
# crop than the network learnt them.
PERSON_BOX_MARGIN = 1.3


@dataclass(frozen=True)
class CropBox:
    """A square region of the frame: centre (x, y) and side length, in frame pixels."""

    cx: float
    cy: float
    side: float

    def as_xywh(self) -> tuple[float, float, float, float]:
        half = self.side / 2
        return self.cx - half, self.cy - half, self.side, self.side


def crop_matrix(box: CropBox, size: int, rotation: float = 0.0) -> np.ndarray:
    """2x3 matrix taking frame pixels to crop pixels (``size`` x ``size``)."""
    scale = size / box.side
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    # q = scale * R(-rotation) (p - c) + (size - 1) / 2: the image turns by +rotation in the crop.
    linear = np.array([[cos, sin], [-sin, cos]])
    offset = (size - 1) / 2 - linear @ np.array([box.cx, box.cy])
    return np.hstack([linear, offset[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    linear_inv = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear_inv, (-linear_inv @ matrix[:, 2])[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through a 2x3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def warp_crop(
    frame: np.ndarray, box: CropBox, size: int, rotation: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the box out of the frame at ``size`` px; returns the crop and its frame-to-crop matrix.

    Outside the frame the crop is black, which is also what the network saw in training.
    """
    matrix = crop_matrix(box, size, rotation)
    crop = cv2.warpAffine(
        frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return crop, matrix


def frame_box(width: int, height: int) -> CropBox:
    """The whole frame, letterboxed into a square."""
    return CropBox((width - 1) / 2, (height - 1) / 2, float(max(width, height)))


def box_from_keypoints(
    points: np.ndarray, valid: np.ndarray, margin: float = PERSON_BOX_MARGIN, min_side: float = 1.0
) -> CropBox | None:
    """Square box around the valid points, ``margin`` times their extent; None if none is valid."""
    chosen = np.asarray(points, dtype=np.float64)[np.asarray(valid, dtype=bool)]
    if len(chosen) == 0:
        return None
    low, high = chosen.min(axis=0), chosen.max(axis=0)
    center = (low + high) / 2
    side = max(float((high - low).max()) * margin, min_side)
    return CropBox(float(center[0]), float(center[1]), side)


def crop_to_frame(
    points: np.ndarray, box: CropBox, size: int, rotation: float = 0.0
) -> np.ndarray:
    """Map points from a ``size`` crop (the input or its heatmap) back to frame pixels."""
    return apply_affine(invert_affine(crop_matrix(box, size, rotation)), points)
