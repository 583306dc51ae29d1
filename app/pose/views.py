"""Which way a labelled person faces the camera, from their joints alone.

The labels are person-centric (LSP's convention: a "left" joint is the person's own left), so a
person facing the camera shows their left shoulder on the picture's right, and one seen from
behind shows it on the left.  Sports photos hold fewer people from behind than front views, and
the network misses more of their joints, wrists and left/right above all; training can show
them more often (``Augmentation.behind_repeats``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.pose.skeleton import LSP14

View = Literal["front", "behind", "side", "not upright", "unknown"]

RIGHT_SHOULDER, LEFT_SHOULDER = LSP14.index("right shoulder"), LSP14.index("left shoulder")
RIGHT_HIP, LEFT_HIP = LSP14.index("right hip"), LSP14.index("left hip")
NECK = LSP14.index("neck")
SIDE_ON = 0.25  # shoulders closer together than this share of the torso's length: side-on


def facing(joints: np.ndarray, labelled: np.ndarray) -> View:
    """How an LSP14 person, ``joints`` (14, 2) in picture pixels (y down), faces the camera."""
    needed = [RIGHT_SHOULDER, LEFT_SHOULDER, RIGHT_HIP, LEFT_HIP, NECK]
    if not np.asarray(labelled, bool)[needed].all():
        return "unknown"
    hips_y = (joints[RIGHT_HIP, 1] + joints[LEFT_HIP, 1]) / 2
    torso = hips_y - joints[NECK, 1]
    if torso <= 0:
        return "not upright"
    across = joints[LEFT_SHOULDER, 0] - joints[RIGHT_SHOULDER, 0]
    if abs(across) < SIDE_ON * torso:
        return "side"
    return "front" if across > 0 else "behind"
