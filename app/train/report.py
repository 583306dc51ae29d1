"""Evaluation results for people: a console table and PCK-versus-threshold curves (PNG)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.pose.metrics import pck_hits, pck_percent
from app.pose.skeleton import Skeleton
from app.train.evaluate import Evaluation, Predictions


def format_table(evaluation: Evaluation) -> str:
    """PCK per stack and per joint, as aligned text."""
    lines = [f"PCK@{evaluation.threshold} on {evaluation.images} images: "
             f"{evaluation.mean:.1f}%", "", "stack  PCK"]
    lines += [f"{k + 1:>5}  {v:5.1f}" for k, v in enumerate(evaluation.per_stack)]
    lines += ["", f"{'joint':<16} PCK"]
    lines += [f"{name:<16} {value:5.1f}" for name, value in evaluation.per_joint.items()]
    return "\n".join(lines)


def joint_groups(skeleton: Skeleton) -> dict[str, list[int]]:
    """Joints grouped by name without side ("left wrist" and "right wrist" -> "wrist")."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(skeleton.joint_names):
        groups.setdefault(name.removeprefix("left ").removeprefix("right "), []).append(index)
    return groups


def pck_curves(predictions: Predictions, skeleton: Skeleton, thresholds: np.ndarray
               ) -> dict[str, np.ndarray]:
    """PCK of the last stack at each threshold, per joint group."""
    curves = {name: np.zeros(len(thresholds)) for name in joint_groups(skeleton)}
    for t, threshold in enumerate(thresholds):
        hits, counted = pck_hits(predictions.joints[-1], predictions.truth, predictions.visible,
                                 predictions.torso, float(threshold))
        for name, joints in joint_groups(skeleton).items():
            curves[name][t] = pck_percent(hits[:, joints], counted[:, joints])[0]
    return curves


def plot_pck_curves(predictions: Predictions, skeleton: Skeleton, path: str | Path,
                    size: tuple[int, int] = (720, 480)) -> None:
    """Draw the curves with OpenCV (no plotting library needed at run time)."""
    thresholds = np.linspace(0.0, 0.5, 51)
    curves = pck_curves(predictions, skeleton, thresholds)
    width, height = size
    left, right, top, bottom = 60, 170, 30, 50
    image = np.full((height, width, 3), 255, np.uint8)

    def to_pixel(threshold: float, pck: float) -> tuple[int, int]:
        x = left + (width - left - right) * threshold / 0.5
        y = height - bottom - (height - top - bottom) * pck / 100
        return round(x), round(y)

    grey, black = (200, 200, 200), (0, 0, 0)
    for pck in range(0, 101, 20):
        cv2.line(image, to_pixel(0, pck), to_pixel(0.5, pck), grey, 1)
        cv2.putText(image, str(pck), (15, to_pixel(0, pck)[1] + 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, black, 1, cv2.LINE_AA)
    for threshold in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        x, y = to_pixel(threshold, 0)
        cv2.line(image, (x, y), (x, top), grey, 1)
        cv2.putText(image, f"{threshold:.1f}", (x - 12, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    black, 1, cv2.LINE_AA)
    cv2.putText(image, "PCK (%) against threshold (fraction of torso)", (left, 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, black, 1, cv2.LINE_AA)
    palette = cv2.applyColorMap(np.linspace(0, 255, len(curves)).astype(np.uint8)[:, None],
                                cv2.COLORMAP_TURBO)[:, 0]
    for row, (name, values) in enumerate(curves.items()):
        colour = tuple(int(c) for c in palette[row])
        points = np.array([to_pixel(t, v) for t, v in zip(thresholds, values, strict=True)])
        cv2.polylines(image, [points.astype(np.int32)], False, colour, 2, cv2.LINE_AA)
        legend_y = top + 20 + 22 * row
        cv2.line(image, (width - right + 15, legend_y), (width - right + 40, legend_y), colour, 2)
        cv2.putText(image, name, (width - right + 48, legend_y + 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, black, 1, cv2.LINE_AA)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: cannot write the plot")
