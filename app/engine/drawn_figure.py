"""Frames the app draws itself: a stick figure waving its arms, for self-tests, the bench and
the soak where there is no media and no camera.  The whole pipeline runs on them, though the
figure is no photograph, so they prove the machinery, never the model's accuracy."""

from __future__ import annotations

import math

import cv2
import numpy as np

from app.engine.sources import FALLBACK_FPS, FrameSource

# What the user names (``--input synthetic``) to get these frames instead of media.
SYNTHETIC_SOURCE = "synthetic"


class SyntheticSource(FrameSource):
    """The drawn figure at the fallback frame rate; ``frames`` of them, or without end."""

    fps = FALLBACK_FPS

    def __init__(self, size: tuple[int, int] = (640, 480), frames: int | None = None) -> None:
        super().__init__("generated frames")
        self._frame_size = size
        self.frame_count = frames
        self._prime("cannot draw frames")

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if self.frame_count is not None and self._index >= self.frame_count:
            return None
        time_s = self._index / self.fps
        return draw_figure(self._frame_size, time_s), time_s


def draw_figure(size: tuple[int, int], time_s: float) -> np.ndarray:
    """A stick figure on a plain wall, arms swinging with ``time_s``."""
    width, height = size
    image = np.full((height, width, 3), (170, 190, 205), np.uint8)
    unit = height / 10
    cx = width / 2
    swing = math.sin(2 * math.pi * 0.5 * time_s)

    def at(x: float, y: float) -> tuple[int, int]:
        return round(cx + x * unit), round(y * unit)

    limb, skin, cloth = max(2, round(unit * 0.45)), (150, 180, 230), (90, 60, 40)
    neck, hips = (0, 3.0), (0, 6.0)
    for side in (-1, 1):
        shoulder, hip = (side * 0.9, 3.2), (side * 0.5, 6.0)
        elbow = (side * (1.4 + 0.4 * swing), 4.6 - 1.2 * swing * side)
        wrist = (side * (1.6 + 0.8 * swing), 5.8 - 2.4 * swing * side)
        knee, ankle = (side * 0.6, 7.7), (side * 0.7, 9.4)
        cv2.line(image, at(*shoulder), at(*elbow), skin, limb, cv2.LINE_AA)
        cv2.line(image, at(*elbow), at(*wrist), skin, limb, cv2.LINE_AA)
        cv2.line(image, at(*hip), at(*knee), cloth, limb + 2, cv2.LINE_AA)
        cv2.line(image, at(*knee), at(*ankle), cloth, limb + 2, cv2.LINE_AA)
    torso = np.array([at(-0.9, 3.2), at(0.9, 3.2), at(0.5, 6.2), at(-0.5, 6.2)], np.int32)
    cv2.fillConvexPoly(image, torso, (60, 90, 160), cv2.LINE_AA)
    cv2.line(image, at(*neck), at(*hips), (60, 90, 160), limb, cv2.LINE_AA)
    cv2.circle(image, at(0, 2.2), round(unit * 0.75), skin, -1, cv2.LINE_AA)
    return image
