"""What a webcam does to a picture, as training augmentation.

The training photos are sports photos: sharp, well lit, taken with good lenses and saved as
good JPEGs.  A person at a desk webcam is seen through a small sensor in indoor light: noise,
motion blur when they move, a dark room and its lamp's colour, a video codec's blocks, and a
lens focused on their face with the room behind soft.  Each function here does one of these to a
crop, in the order light meets the camera (scene, optics, sensor, compression), with its
strength drawn from ``rng``, so the network sees the webcam's world while it trains.

Every function takes and returns an (H, W, 3) uint8 BGR picture and leaves the joints where
they are: none of them moves a pixel's content more than a blur's reach.  Training gives them
square crops; ``eval --as-webcam`` gives them whole photos of any shape.
"""

from __future__ import annotations

import cv2
import numpy as np

# Each effect's chance when a view gets the webcam treatment; several may apply at once.
EFFECT_PROBABILITY = 0.5


def low_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim room: darker (a gamma above one crushes the shadows first) and tinted by its
    light, from a warm lamp (red up, blue down) to a cold screen's glow (the reverse)."""
    gain = rng.uniform(0.35, 0.8)
    gamma = rng.uniform(1.0, 1.6)
    warmth = rng.uniform(-0.15, 0.25)
    tint = np.array([1 - warmth, 1.0, 1 + warmth], np.float32)  # B, G, R
    pixels = (image.astype(np.float32) / 255.0) ** gamma * gain * tint
    return np.clip(pixels * 255.0, 0, 255).astype(np.uint8)


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The person or the camera moving during the exposure: a line kernel of 3 to 9 pixels
    at any angle."""
    length = int(rng.integers(3, 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2),
                                   float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def shallow_focus(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A lens focused on the person: the picture's centre sharp, its edges (the room behind)
    blurred, with a soft transition between.  The sharp region is an ellipse fitted to the
    picture, so a whole photo of any shape is focused as a square crop is."""
    height, width = image.shape[:2]
    radius = int(rng.integers(2, 6))
    blurred = cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), 0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    # Half a pixel at least: a picture one pixel across has its centre on its edge.
    centre_x, centre_y = max((width - 1) / 2, 0.5), max((height - 1) / 2, 0.5)
    distance = np.hypot((x - centre_x) / centre_x, (y - centre_y) / centre_y)  # 0 centre, 1 edge
    sharp_within = rng.uniform(0.45, 0.75)
    weight = np.clip((distance - sharp_within) / 0.25, 0.0, 1.0)[..., None]
    return (image * (1 - weight) + blurred * weight).astype(np.uint8)


def sensor_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small sensor's noise: photon noise growing with the light (its deviation with the
    square root of brightness) over a floor of read noise, independent per colour."""
    pixels = image.astype(np.float32)
    shot = rng.uniform(0.3, 1.2)  # deviation in grey levels per sqrt(grey level)
    read = rng.uniform(1.0, 5.0)  # grey levels
    deviation = np.sqrt(shot * shot * pixels + read * read)
    return np.clip(pixels + rng.standard_normal(pixels.shape, np.float32) * deviation,
                   0, 255).astype(np.uint8)


def compression(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A video codec at a webcam's bit rate: 8x8 blocks and ringing, as a JPEG of quality 15
    to 60 makes them."""
    quality = int(rng.integers(15, 61))
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else image


# In the order light meets the camera: the scene, the optics, the sensor, the codec.
EFFECTS = (low_light, motion_blur, shallow_focus, sensor_noise, compression)


def webcam_effects(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Some of the webcam's effects, each with EFFECT_PROBABILITY (at least one)."""
    chosen = rng.random(len(EFFECTS)) < EFFECT_PROBABILITY
    if not chosen.any():
        chosen[rng.integers(len(EFFECTS))] = True
    for effect, apply in zip(EFFECTS, chosen, strict=True):
        if apply:
            image = effect(image, rng)
    return image


def photo_as_webcam(image: np.ndarray, name: str, seed: int) -> np.ndarray:
    """The webcam's effects on the photo called ``name``, drawn from (``seed``, ``name``) alone,
    so a photo is degraded alike whichever others are scored beside it, and in whatever order."""
    return webcam_effects(image, np.random.default_rng([seed, *name.encode()]))
