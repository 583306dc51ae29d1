"""What the views show, as arrays: the frame with the pose and the overlays the user turned on,
and each stack's heatmap of the joint followed.

Pure numpy and OpenCV on top of the engine's drawing functions, so the picture on screen is
the one a snapshot saves (there at full size, here reduced for the screen if large).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from app.engine.drawing import (
    DEFAULT_THRESHOLD,
    draw_pose,
    draw_stack_points,
    overlay_heatmap,
)
from app.engine.pipeline import PoseResult
from app.pose.affine import CropBox, crop_matrix, invert_affine
from app.pose.skeleton import Skeleton

ALL_JOINTS = -1


@dataclass(frozen=True)
class ViewState:
    """The user's display choices (none of them changes what the model computes)."""

    threshold: float = DEFAULT_THRESHOLD
    overlay_joint: int | None = None  # None: no overlay; ALL_JOINTS: the combined map


def joint_heatmap(heatmaps: np.ndarray, joint: int) -> np.ndarray:
    """One joint's map, or for ALL_JOINTS the maximum over joints."""
    return heatmaps.max(axis=0) if joint == ALL_JOINTS else heatmaps[joint]


def stack_maps(stack_heatmaps: np.ndarray, joint: int) -> tuple[np.ndarray, np.ndarray]:
    """``joint``'s map after each of the (K, J, H, W) stacks, and its peak in each; for
    ALL_JOINTS the combined maps and the mean of the joints' peaks (as the panel's "mean")."""
    if joint == ALL_JOINTS:
        peaks = stack_heatmaps.max(axis=(2, 3)).mean(axis=1)
    else:
        peaks = stack_heatmaps[:, joint].max(axis=(1, 2))
    return np.stack([joint_heatmap(maps, joint) for maps in stack_heatmaps]), peaks


def compose_frame(
    image: np.ndarray, result: PoseResult, skeleton: Skeleton, heatmap_size: int,
    view: ViewState, max_side: int | None = None,
) -> np.ndarray:
    """A new image: overlay (if any), skeleton, then the chosen joint's per-stack points.

    With ``max_side``, a larger frame is drawn on a copy reduced to that many pixels on its
    longest side: composing and painting an 8000 x 6000 photo at full size costs seconds and
    gigabytes a frame.
    """
    scale = 1.0 if max_side is None else max_side / max(image.shape[:2])
    if scale < 1.0:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        canvas = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        result = scaled_result(result, scale)
    else:
        canvas = image.copy()
    joint = view.overlay_joint
    if joint is not None and result.heatmaps is not None:
        frame_from_heatmap = invert_affine(crop_matrix(result.box, heatmap_size))
        overlay_heatmap(canvas, joint_heatmap(result.heatmaps[-1], joint), frame_from_heatmap)
    draw_pose(canvas, result.keypoints, result.confidences, skeleton, view.threshold)
    if joint is not None and joint != ALL_JOINTS:
        draw_stack_points(canvas, result.stack_keypoints[:, joint])
    return canvas


def scaled_result(result: PoseResult, scale: float) -> PoseResult:
    """``result`` for the frame resized by ``scale`` (pixel centres map to pixel centres)."""
    def points(p: np.ndarray) -> np.ndarray:
        return (p + 0.5) * scale - 0.5

    box = result.box
    cx, cy = points(np.array([box.cx, box.cy]))
    return replace(result, keypoints=points(result.keypoints),
                   stack_keypoints=points(result.stack_keypoints),
                   box=CropBox(float(cx), float(cy), box.side * scale))
