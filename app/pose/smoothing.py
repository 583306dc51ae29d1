"""Temporal smoothing of keypoints with the One Euro filter (Casiez et al., CHI 2012).

The filter adapts its cut-off to speed: still joints are smoothed hard (no jitter), moving
joints lightly (no lag).  Ours also listens to confidence: an unsure joint is smoothed harder,
and a joint that was lost starts afresh instead of sliding in from where it was last seen.
"""

from __future__ import annotations

import math

import numpy as np


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Exponential-smoothing weight of the newest sample for a low-pass at ``cutoff`` Hz."""
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Smooths (J, 2) keypoints frame by frame; one filter state per joint and axis."""

    def __init__(
        self,
        min_cutoff: float = 1.0,
        beta: float = 0.05,
        derivative_cutoff: float = 1.0,
        confidence_threshold: float = 0.2,
    ) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.derivative_cutoff = derivative_cutoff
        self.confidence_threshold = confidence_threshold
        self.reset()

    def reset(self) -> None:
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def __call__(self, points: np.ndarray, confidences: np.ndarray, time: float) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        confident = np.asarray(confidences) >= self.confidence_threshold
        if self._value is None or self._time is None or time <= self._time:
            self._value, self._speed, self._time = points.copy(), np.zeros_like(points), time
            return points.copy()
        dt = time - self._time
        self._time = time
        speed = (points - self._value) / dt
        a_d = smoothing_factor(self.derivative_cutoff, dt)
        self._speed = a_d * speed + (1 - a_d) * self._speed
        # Unsure joints get a lower cut-off: they move only as fast as the evidence allows.
        trust = np.clip(np.asarray(confidences, dtype=np.float64), 0.1, 1.0)[:, None]
        cutoff = (self.min_cutoff + self.beta * np.abs(self._speed)) * trust
        a = smoothing_factor(cutoff, dt)
        smoothed = a * points + (1 - a) * self._value
        # A joint that was not confidently seen restarts from its new position.
        smoothed[~confident] = points[~confident]
        self._speed[~confident] = 0.0
        self._value = smoothed
        return smoothed.copy()
