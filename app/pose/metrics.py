"""PCK: the fraction of joints within a fraction of the torso diameter of the truth."""

from __future__ import annotations

import numpy as np


def torso_diameters(truth: np.ndarray, left_shoulder: int, right_hip: int) -> np.ndarray:
    """Distance from left shoulder to right hip for each of (N, J, 2) poses (the LSP rule)."""
    return np.linalg.norm(truth[:, left_shoulder] - truth[:, right_hip], axis=-1)


def pck_hits(
    predicted: np.ndarray,
    truth: np.ndarray,
    visible: np.ndarray,
    reference: np.ndarray,
    threshold: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint hits (N, J) and which of them count (N, J).

    A joint counts when it is visible in the truth and its pose has a measurable (non-zero)
    reference length; it is a hit within ``threshold * reference`` pixels.
    """
    distances = np.linalg.norm(predicted - truth, axis=-1)
    counted = np.asarray(visible, dtype=bool) & (reference[:, None] > 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        hits = (distances <= threshold * reference[:, None]) & counted
    return hits, counted


def pck_percent(hits: np.ndarray, counted: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean PCK over all counted joints, and per joint, in percent (NaN for a joint never seen)."""
    total = counted.sum()
    mean = 100.0 * hits.sum() / total if total else float("nan")
    per_joint_counts = counted.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_joint = 100.0 * hits.sum(axis=0) / per_joint_counts
    return float(mean), per_joint


def mirrored_hits(
    predicted: np.ndarray,
    truth: np.ndarray,
    visible: np.ndarray,
    reference: np.ndarray,
    flip_permutation: np.ndarray,
    threshold: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Which poses (N,) hit more joints with left and right exchanged, and the hits (N, J) of
    each pose read whichever way hits more.

    A pose that scores better mirrored is a left-right mix-up, the model's or the label's (a
    crowd-sourced label may name sides as the viewer sees them); the hits bound what telling
    left from right would be worth.
    """
    hits, _ = pck_hits(predicted, truth, visible, reference, threshold)
    exchanged, _ = pck_hits(predicted[:, flip_permutation], truth, visible, reference, threshold)
    mirrored = exchanged.sum(axis=1) > hits.sum(axis=1)
    return mirrored, np.where(mirrored[:, None], exchanged, hits)
