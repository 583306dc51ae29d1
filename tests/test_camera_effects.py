"""The webcam augmentation: each effect does what a webcam does to a real crop (measured, not
assumed), leaves the picture's shape and the person where they are, and training batches are
unchanged until it is switched on."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import cv2
import numpy as np
import pytest

from app.engine.labelled_data import load_annotations
from app.train.camera_effects import (
    EFFECTS,
    compression,
    low_light,
    motion_blur,
    sensor_noise,
    shallow_focus,
    webcam_effects,
)
from app.train.data import Augmentation, LspTrainingSet


@pytest.fixture(scope="module")
def crop(lspet_image) -> np.ndarray:
    """A real photo's 128 px square, as training crops are."""
    image = cv2.imread(str(lspet_image))
    side = min(image.shape[:2])
    return cv2.resize(image[:side, :side], (128, 128), interpolation=cv2.INTER_AREA)


def sharpness(image: np.ndarray) -> float:
    """The variance of the Laplacian: fine detail, which every blur takes away."""
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def blockiness(image: np.ndarray) -> float:
    """How much more the picture steps across 8-pixel block edges than within blocks."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
    steps = np.abs(np.diff(grey, axis=1))
    return float(steps[:, 7::8].mean() / steps.mean())


# sha256 of what every effect, and webcam_effects, made of square_pattern() for seeds 0 to 11
# before the effects took pictures of any shape: training's square crops must not change.
SQUARE_DIGEST = "49b838ab109b7d3369cde3f98b930dfedc706036118c1c159601c9af66a4fbf9"


def square_pattern() -> np.ndarray:
    """A 96 px square of gradients and noise, made by numpy alone (no decoder to vary)."""
    y, x = np.mgrid[0:96, 0:96]
    base = (np.stack([x * 2, y * 2, x + y], axis=-1)
            + np.random.default_rng(1).integers(0, 40, (96, 96, 3)))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_square_crops_get_the_same_bytes_as_before_any_shape_was_allowed():
    image, digest = square_pattern(), hashlib.sha256()
    for seed in range(12):
        digest.update(webcam_effects(image, np.random.default_rng(seed)).tobytes())
        for effect in EFFECTS:
            digest.update(effect(image, np.random.default_rng(seed)).tobytes())
    assert digest.hexdigest() == SQUARE_DIGEST


@pytest.mark.parametrize("size", [(216, 301), (301, 216), (40, 1), (1, 40), (1, 1)])
@pytest.mark.parametrize("effect", [*EFFECTS, webcam_effects])
def test_every_effect_takes_a_photo_of_any_shape(crop, effect, size):
    photo = cv2.resize(crop, size)  # (width, height): eval --as-webcam's whole photos
    out = effect(photo, np.random.default_rng(7))
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_focus_on_a_tall_photo_keeps_its_centre_sharp(crop):
    photo = cv2.resize(crop, (216, 301), interpolation=cv2.INTER_CUBIC)
    focused = shallow_focus(photo, np.random.default_rng(3))
    assert np.array_equal(focused[120:180, 80:136], photo[120:180, 80:136])
    assert sharpness(focused[:30]) < 0.8 * sharpness(photo[:30])


@pytest.mark.parametrize("effect", EFFECTS)
def test_every_effect_keeps_the_crop_a_crop_and_repeats_with_its_seed(crop, effect):
    out = effect(crop, np.random.default_rng(7))
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.array_equal(out, effect(crop, np.random.default_rng(7)))
    assert not np.array_equal(out, crop)


def test_low_light_darkens_and_tints(crop):
    darker = [low_light(crop, np.random.default_rng(seed)) for seed in range(20)]
    assert all(d.mean() < 0.85 * crop.mean() for d in darker)
    red_over_blue = [d[..., 2].mean() / max(d[..., 0].mean(), 1) for d in darker]
    assert np.ptp(red_over_blue) > 0.2  # warm lamps and cold screens, not one tint


def test_blurs_take_detail_away_and_focus_keeps_the_centre_sharp(crop):
    rng = np.random.default_rng(3)
    assert sharpness(motion_blur(crop, rng)) < 0.7 * sharpness(crop)
    focused = shallow_focus(crop, rng)
    centre, edge = slice(44, 84), slice(0, 20)
    assert np.array_equal(focused[centre, centre], crop[centre, centre])
    assert sharpness(focused[edge]) < 0.8 * sharpness(crop[edge])


def test_sensor_noise_grows_with_the_light(crop):
    grey = np.full_like(crop, 30), np.full_like(crop, 220)
    rng = np.random.default_rng(5)
    dark, bright = (float((sensor_noise(g, np.random.default_rng(5)).astype(float) - g).std())
                    for g in grey)
    assert 1 <= dark < bright <= 25
    assert abs(float(sensor_noise(crop, rng).astype(float).mean() - crop.mean())) < 2


def test_compression_leaves_block_edges(crop):
    assert blockiness(compression(crop, np.random.default_rng(2))) > blockiness(crop)


def test_at_least_one_effect_always_applies(crop):
    for seed in range(30):
        assert not np.array_equal(webcam_effects(crop, np.random.default_rng(seed)), crop)


def test_batches_are_unchanged_until_switched_on(lspet_subset):
    annotations = load_annotations(lspet_subset)[:6]
    plain = LspTrainingSet(annotations, 64, 2.0, Augmentation())
    before = plain.batch(np.arange(6), np.random.default_rng(11))
    again = plain.batch(np.arange(6), np.random.default_rng(11))
    assert all(np.array_equal(a, b) for a, b in zip(before, again, strict=True))
    webcam = LspTrainingSet(annotations, 64, 2.0, replace(Augmentation(), webcam_probability=1.0),
                            images=plain.images)
    changed = webcam.batch(np.arange(6), np.random.default_rng(11))
    assert not np.array_equal(changed[0], before[0])
    # The effects come after the crop is drawn: the first person's joints are where they were
    # (the later people's crops differ, drawn from the same generator after the effects).
    assert np.array_equal(changed[1][0], before[1][0])
