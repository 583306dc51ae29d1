"""How a pose tells a person, and where the next frame looks for them: the confidence bars
that decide whether a person is found or still followed, and the box a followed pose leaves
for the next frame's one crop (MediaPipe's region-of-interest tracking).

Pure rules on one pose; the pipeline (``app.engine.pipeline``) keeps the state between frames.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.pose.affine import PERSON_BOX_MARGIN, CropBox, box_from_keypoints

# A person is found when half the joints score 0.3 or more: fewer is more often a wall or a
# cut to another scene than a person half out of view.  Once found, they are followed while
# 40% of the joints score 0.2 (a lower bar, as MediaPipe's tracking threshold is below its
# detection threshold): with one bar, the bench's drawn figure, which one stack sees dimly,
# was lost and searched for again in one frame out of six.  The box is built around every
# joint scoring 0.1: the dimmer ones still say where the person reaches.
FIND_MIN_JOINT_FRACTION = 0.5
FIND_MIN_CONFIDENCE = 0.3
FOLLOW_MIN_JOINT_FRACTION = 0.4
FOLLOW_MIN_CONFIDENCE = 0.2
BOX_MIN_CONFIDENCE = 0.1
# How far the box may close in: at most to half its side per step, and never below a fifth
# of the frame's shorter side.  A crop much smaller than the person is a blur to the network,
# whose confident-looking answers on it would shrink the box again, down to a pixel.
TRACKING_MAX_ZOOM_IN = 0.5
TRACKING_MIN_FRAME_FRACTION = 0.2
# Joints lost at the box's edge are not followed inwards: the network hides joints its crop
# cuts off, so a box rebuilt around the joints still seen closes in on part of the person (a
# pair of legs) and stays there.  When a frame sees this many confident joints fewer than the
# last, the box widens around its centre instead, and the lost joints come back into view.
JOINTS_LOST_TO_WIDEN = 2
WIDEN = 1.25


def person_found(confidences: np.ndarray) -> bool:
    """Enough confident joints to call it a person."""
    return enough_joints(confidences, FIND_MIN_CONFIDENCE, FIND_MIN_JOINT_FRACTION)


def still_followed(confidences: np.ndarray) -> bool:
    """Enough confident joints to go on following a person found before."""
    return enough_joints(confidences, FOLLOW_MIN_CONFIDENCE, FOLLOW_MIN_JOINT_FRACTION)


def enough_joints(confidences: np.ndarray, confidence: float, fraction: float) -> bool:
    confident = np.asarray(confidences) >= confidence
    return bool(confident.sum() >= fraction * len(confident))


def next_box(keypoints: np.ndarray, confidences: np.ndarray, box: CropBox,
             frame_short_side: int, joints_before: int = 0) -> CropBox | None:
    """The box around this pose's confident joints, or None if it is no person to follow; it
    closes in on the last box by at most TRACKING_MAX_ZOOM_IN, and never below a fifth of the
    frame.  With JOINTS_LOST_TO_WIDEN fewer confident joints than ``joints_before`` (the pose
    ``box`` came from), ``box`` widened instead."""
    if not still_followed(confidences):
        return None
    if confident_joints(confidences) <= joints_before - JOINTS_LOST_TO_WIDEN:
        return replace(box, side=box.side * WIDEN)
    tracked = box_from_keypoints(keypoints, confidences >= BOX_MIN_CONFIDENCE, PERSON_BOX_MARGIN)
    if tracked is None:
        return None
    side = max(tracked.side, box.side * TRACKING_MAX_ZOOM_IN,
               frame_short_side * TRACKING_MIN_FRAME_FRACTION)
    return replace(tracked, side=side)


def confident_joints(confidences: np.ndarray) -> int:
    return int((np.asarray(confidences) >= FOLLOW_MIN_CONFIDENCE).sum())
