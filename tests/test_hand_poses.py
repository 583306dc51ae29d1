"""A forearm swung about its elbow brings the hand to the face or chest, in the photo and in
the labels together."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.labelled_data import Annotation
from app.train.hand_poses import raise_a_hand

BLUE = (255, 0, 0)


def hanging_arms() -> tuple[np.ndarray, Annotation]:
    """A grey 200x200 photo of a standing person whose right forearm, painted blue, hangs
    straight down from the elbow at (70, 90) to the wrist at (70, 130)."""
    joints = np.array([
        [80, 190], [80, 160], [85, 120], [115, 120], [120, 160], [120, 190],  # legs
        [70, 130], [70, 90], [80, 60], [120, 60], [130, 90], [130, 130],  # arms
        [100, 55], [100, 20],  # neck, head top
    ], np.float32)
    image = np.full((200, 200, 3), 128, np.uint8)
    cv2.line(image, (70, 90), (70, 144), BLUE, 12)  # the forearm and hand
    annotation = Annotation(Path("person.jpg"), joints, np.ones(14, bool), 0)
    return image, annotation


def test_the_hand_comes_to_the_face_or_chest_with_its_label():
    image, annotation = hanging_arms()
    chosen = set()
    for seed in range(8):
        raised, moved = raise_a_hand(image, annotation, np.random.default_rng(seed))
        changed = np.flatnonzero(np.abs(moved.joints - annotation.joints).sum(axis=1) > 0)
        assert len(changed) == 1 and changed[0] in (6, 11)  # one wrist, nothing else
        chosen.add(int(changed[0]))
        wrist, elbow = moved.joints[changed[0]], moved.joints[changed[0] + 1 if changed[0] == 6
                                                               else changed[0] - 1]
        assert np.linalg.norm(wrist - elbow) == pytest.approx(40, abs=0.5)  # the same forearm
        assert wrist[1] < 115  # up, nearer the neck (y 55) than where it hung (y 130)
        if changed[0] == 6:  # the blue forearm went with its wrist and left its old place
            x, y = np.round(wrist).astype(int)
            assert (raised[y, x] == BLUE).all()
            assert not (raised[135, 70] == BLUE).all()
    assert chosen == {6, 11}  # either arm


def test_no_hand_is_raised_upside_down_or_without_the_head():
    image, annotation = hanging_arms()
    flipped = annotation.joints.copy()
    flipped[:, 1] = 199 - flipped[:, 1]
    upside_down = replace(annotation, joints=flipped)
    assert raise_a_hand(image, upside_down, np.random.default_rng(0))[1] is upside_down
    headless = replace(annotation, visible=np.r_[np.ones(13, bool), False])
    assert raise_a_hand(image, headless, np.random.default_rng(0))[1] is headless
