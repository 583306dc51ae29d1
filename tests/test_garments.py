"""Long clothes over a training view: they hang from the waist past the knees of upright
people, cover what is there, and leave the targets and the rest of the picture alone."""

from __future__ import annotations

import numpy as np

from app.train.garments import garment_outline, put_on_long_clothes


def standing_joints() -> np.ndarray:
    """LSP14 joints of a person facing the camera in a 128-pixel crop (x, y)."""
    return np.array([
        [50, 120], [50, 95], [52, 70], [76, 70], [78, 95], [78, 120],  # right leg, left leg
        [40, 60], [42, 45], [48, 30], [80, 30], [86, 45], [88, 60],  # right arm, left arm
        [64, 25], [64, 8],  # neck, head top
    ], np.float32)


def test_the_garment_hangs_from_the_waist_past_the_knees():
    joints = standing_joints()
    outline = garment_outline(joints, np.ones(14, bool), np.random.default_rng(0))
    waist_y, hem_y = outline[:2, 1].max(), outline[2:, 1].min()
    assert waist_y <= 70 and hem_y > 95  # from above the hips to below the knees
    assert outline[0, 0] < 52 and outline[1, 0] > 76  # wider than the hips


def test_no_garment_without_hips_and_knees_or_upside_down():
    joints = standing_joints()
    rng = np.random.default_rng(0)
    unlabelled = np.ones(14, bool)
    unlabelled[1] = False  # the right knee
    assert garment_outline(joints, unlabelled, rng) is None
    upside_down = joints.copy()
    upside_down[:, 1] = 128 - upside_down[:, 1]
    assert garment_outline(upside_down, np.ones(14, bool), rng) is None


def test_the_clothes_cover_the_hips_and_knees_and_nothing_above_the_waist():
    crop = np.full((128, 128, 3), 128, np.uint8)
    crop[:, :, 1] = np.arange(128, dtype=np.uint8)[None, :]  # a gradient the cloth replaces
    donor = np.random.default_rng(1).integers(0, 255, (90, 70, 3), dtype=np.uint8)
    dressed = put_on_long_clothes(crop, standing_joints(), np.ones(14, bool), donor,
                                  np.random.default_rng(2))
    changed = np.abs(dressed.astype(int) - crop.astype(int)).sum(axis=2) > 0
    assert changed[82, 64] and changed[95, 50] and changed[95, 78]  # between hips, on knees
    assert not changed[:45].any()  # above the waist: the arms, shoulders and head
    assert dressed.dtype == np.uint8 and dressed.shape == crop.shape
    upside_down = standing_joints()
    upside_down[:, 1] = 128 - upside_down[:, 1]
    assert put_on_long_clothes(crop, upside_down, np.ones(14, bool), donor,
                               np.random.default_rng(2)) is crop


def test_a_training_view_says_where_its_joints_are_in_its_pixels(lspet_subset):
    from app.train.data import Augmentation, LspTrainingSet
    from app.train.datasets import split_dataset

    split = split_dataset(lspet_subset, held_out=8)
    views = LspTrainingSet.mixed([split], 128, 2.0, Augmentation(clothes_probability=1.0))
    rng = np.random.default_rng(0)
    for index in range(6):
        view = views.sample(index, rng)
        heatmap_size = view.target.shape[-1]
        for joint in np.flatnonzero(view.target.reshape(14, -1).max(axis=1) > 0.5):
            peak = np.unravel_index(view.target[joint].argmax(), view.target[joint].shape)
            expected = view.joints[joint] * heatmap_size / 128
            assert np.abs(np.array(peak[::-1]) - expected).max() <= 1.0
