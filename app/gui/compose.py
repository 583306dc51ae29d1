"""What the video view shows: the frame with the pose and the views the user turned on.

Pure numpy and OpenCV on top of the engine's drawing functions, so the same picture is what
a snapshot saves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.drawing import (
    DEFAULT_THRESHOLD,
    draw_pose,
    draw_stack_points,
    overlay_heatmap,
)
from app.engine.pipeline import PoseResult
from app.pose.affine import crop_matrix, invert_affine
from app.pose.skeleton import Skeleton

ALL_JOINTS = -1


@dataclass(frozen=True)
class ViewState:
    """The user's display choices (none of them changes what the model computes)."""

    threshold: float = DEFAULT_THRESHOLD
    overlay_joint: int | None = None  # None: no overlay; ALL_JOINTS: the combined map
    show_refinement: bool = True


def joint_heatmap(heatmaps: np.ndarray, joint: int) -> np.ndarray:
    """One joint's map, or for ALL_JOINTS the maximum over joints."""
    return heatmaps.max(axis=0) if joint == ALL_JOINTS else heatmaps[joint]


def compose_frame(
    image: np.ndarray, result: PoseResult, skeleton: Skeleton, heatmap_size: int,
    view: ViewState,
) -> np.ndarray:
    """A new image: overlay (if any), skeleton, then the chosen joint's per-stack points."""
    canvas = image.copy()
    joint = view.overlay_joint
    if joint is not None and result.heatmaps is not None:
        frame_from_heatmap = invert_affine(crop_matrix(result.box, heatmap_size))
        overlay_heatmap(canvas, joint_heatmap(result.heatmaps[-1], joint), frame_from_heatmap)
    draw_pose(canvas, result.keypoints, result.confidences, skeleton, view.threshold)
    if view.show_refinement and joint is not None and joint != ALL_JOINTS:
        draw_stack_points(canvas, result.stack_keypoints[:, joint])
    return canvas
