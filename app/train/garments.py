"""Long clothes drawn over a training view: a coat or a dress from the waist to below the knees.

Sports photos show legs; a person at home or in the street often wears something that hides
the hips and knees, and the network then has to place them from the garment's shape and the
body around it.  The targets stay where the joints are, as under real clothes.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.pose.skeleton import LSP14

# The garment hangs from the hips past the knees.
RIGHT_KNEE, RIGHT_HIP = LSP14.index("right knee"), LSP14.index("right hip")
LEFT_HIP, LEFT_KNEE = LSP14.index("left hip"), LSP14.index("left knee")
RIGHT_ANKLE, LEFT_ANKLE = LSP14.index("right ankle"), LSP14.index("left ankle")
NEEDED = (RIGHT_KNEE, RIGHT_HIP, LEFT_HIP, LEFT_KNEE)
UPRIGHT = 0.6  # the thighs' direction's downward share, at least: within about 53 degrees


def garment_outline(joints: np.ndarray, labelled: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray | None:
    """The garment's four corners (waist right, waist left, hem left, hem right) in the crop's
    pixels, from ``joints`` (J, 2) there; None when the hips or knees are not labelled or the
    thighs do not point down (clothes hang; acrobats upside down are left as they are)."""
    if not labelled[list(NEEDED)].all():
        return None
    hips = joints[[RIGHT_HIP, LEFT_HIP]]
    knees = joints[[RIGHT_KNEE, LEFT_KNEE]]
    thigh = float(np.linalg.norm(knees.mean(axis=0) - hips.mean(axis=0)))
    if thigh < 2:
        return None
    down = (knees.mean(axis=0) - hips.mean(axis=0)) / thigh
    if down[1] < UPRIGHT:
        return None
    across = np.array([-down[1], down[0]])
    if np.dot(hips[1] - hips[0], across) < 0:  # across points from the right hip to the left
        across = -across
    # The hem: past the knees by a share of the shin (to the ankle when it is labelled).
    shins = np.where(labelled[[RIGHT_ANKLE, LEFT_ANKLE], None],
                     joints[[RIGHT_ANKLE, LEFT_ANKLE]] - knees, down * thigh)
    hem = knees + shins * rng.uniform(0.2, 0.9)
    waist = hips - down * thigh * rng.uniform(0.0, 0.3)
    centre_waist, centre_hem = waist.mean(axis=0), hem.mean(axis=0)
    half_waist = max(float(np.dot(hips[1] - hips[0], across)) / 2, 0.15 * thigh) * \
        rng.uniform(1.2, 1.6)
    half_hem = max(half_waist, float(abs(np.dot(hem[1] - hem[0], across))) / 2) * \
        rng.uniform(1.1, 1.8)
    return np.array([centre_waist - across * half_waist, centre_waist + across * half_waist,
                     centre_hem + across * half_hem, centre_hem - across * half_hem])


def cloth(donor: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A fabric-like picture: another photo, blurred smooth and tinted towards one colour."""
    texture = cv2.resize(donor, (size, size), interpolation=cv2.INTER_AREA)
    blur = 2 * int(rng.integers(3, 9)) + 1
    texture = cv2.GaussianBlur(texture, (blur, blur), 0).astype(np.float32)
    colour = rng.uniform(0, 255, 3).astype(np.float32)
    mix = rng.uniform(0.4, 0.9)
    return np.clip(mix * colour + (1 - mix) * texture, 0, 255).astype(np.uint8)


def put_on_long_clothes(crop: np.ndarray, joints: np.ndarray, labelled: np.ndarray,
                        donor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``crop`` with a coat or dress over the hips and knees (unchanged when they are not
    labelled)."""
    outline = garment_outline(joints, labelled, rng)
    if outline is None:
        return crop
    size = crop.shape[0]
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, np.round(outline).astype(np.int32), 255)
    mask = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[:, :, None] / 255.0
    dressed = mask * cloth(donor, size, rng) + (1 - mask) * crop
    return np.clip(dressed, 0, 255).astype(np.uint8)
