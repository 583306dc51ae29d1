"""Hands raised to the face and the chest, made from photos where they hang or swing.

A person at a desk touches their face, rests a hand on their chest, holds a mug; sports photos
show arms out and down.  This swings one forearm about its elbow, so that the wrist comes to
rest near the neck or the face, in the photo itself: the forearm and hand are cut out along
the bone, turned, pasted over the body, and where they were is filled from around it.  The
wrist's label moves with it, before any crop or target is made.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from app.engine.labelled_data import Annotation
from app.pose.skeleton import LSP14

# Each arm's (elbow, wrist), and the joints the hand goes between.
ARMS = tuple((LSP14.index(f"{side} elbow"), LSP14.index(f"{side} wrist"))
             for side in ("right", "left"))
NECK, HEAD_TOP = LSP14.index("neck"), LSP14.index("head top")
HAND_BEYOND_WRIST = 0.35  # of the forearm's length: the hand, cut out with it
THICKNESS = 0.45  # of the forearm's length: the width cut out around the bone


def forearm_mask(shape: tuple[int, int], elbow: np.ndarray, wrist: np.ndarray) -> np.ndarray:
    """The forearm and hand as a 0/255 mask: a thick segment from the elbow past the wrist."""
    length = float(np.linalg.norm(wrist - elbow))
    tip = wrist + (wrist - elbow) * HAND_BEYOND_WRIST
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, tuple(np.round(elbow).astype(int)), tuple(np.round(tip).astype(int)), 255,
             max(2, round(length * THICKNESS)), cv2.LINE_AA)
    return mask


def resting_place(annotation: Annotation, elbow: np.ndarray, length: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Where the wrist goes: towards a point between the chest and the face, at the forearm's
    own length from the elbow."""
    neck, head = annotation.joints[NECK], annotation.joints[HEAD_TOP]
    aim = neck + (head - neck) * rng.uniform(-0.6, 0.7)  # from the chest to the face
    aim = aim + rng.normal(0, 0.15, 2) * np.linalg.norm(head - neck)
    direction = aim - elbow
    return elbow + direction / max(float(np.linalg.norm(direction)), 1e-6) * length


def raise_a_hand(image: np.ndarray, annotation: Annotation, rng: np.random.Generator
                 ) -> tuple[np.ndarray, Annotation]:
    """The photo with one forearm swung so the hand rests near the face or chest, and the
    annotation with its wrist moved; unchanged unless an arm, the neck and the head are
    labelled and the head is up."""
    labelled = annotation.visible > 0
    arms = [arm for arm in ARMS if labelled[list(arm)].all()]
    if not arms or not labelled[[NECK, HEAD_TOP]].all():
        return image, annotation
    if annotation.joints[HEAD_TOP, 1] >= annotation.joints[NECK, 1]:
        return image, annotation  # not upright: a handstand's hands stay on the ground
    elbow_index, wrist_index = arms[rng.integers(len(arms))]
    elbow = annotation.joints[elbow_index].astype(np.float64)
    wrist = annotation.joints[wrist_index].astype(np.float64)
    length = float(np.linalg.norm(wrist - elbow))
    if length < 4:
        return image, annotation
    target = resting_place(annotation, elbow, length, rng)
    angle = np.degrees(np.arctan2(*(wrist - elbow)[::-1]) - np.arctan2(*(target - elbow)[::-1]))
    turn = cv2.getRotationMatrix2D((float(elbow[0]), float(elbow[1])), float(angle), 1.0)
    height, width = image.shape[:2]
    old = forearm_mask((height, width), elbow, wrist)
    turned_image = cv2.warpAffine(image, turn, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT)
    new = cv2.warpAffine(old, turn, (width, height), flags=cv2.INTER_LINEAR)
    vacated = cv2.dilate(cv2.bitwise_and(old, cv2.bitwise_not(new)), np.ones((3, 3), np.uint8))
    result = cv2.inpaint(image, vacated, max(3, round(length * 0.2)), cv2.INPAINT_TELEA)
    alpha = new.astype(np.float32)[:, :, None] / 255.0
    result = (alpha * turned_image + (1 - alpha) * result).round().astype(np.uint8)
    joints = annotation.joints.copy()
    joints[wrist_index] = turn @ np.array([wrist[0], wrist[1], 1.0])
    return result, replace(annotation, joints=joints)
