"""Line charts drawn with OpenCV, so reports need no plotting library at run time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

BLACK, GREY = (0, 0, 0), (200, 200, 200)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_line_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    path: str | Path,
    title: str,
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    size: tuple[int, int] = (720, 480),
    markers: bool = False,
) -> None:
    """Write :func:`line_chart` as a PNG at ``path``."""
    if not cv2.imwrite(str(path), line_chart(series, title, x_ticks, y_ticks, size, markers)):
        raise OSError(f"{path}: cannot write the chart")


def png_bytes(image: np.ndarray) -> bytes:
    """A chart encoded as PNG, for callers that write it their own way (replacing a file)."""
    encoded, data = cv2.imencode(".png", image)
    if not encoded:
        raise ValueError("cannot encode the chart as PNG")
    return data.tobytes()


def line_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    size: tuple[int, int] = (720, 480),
    markers: bool = False,
) -> np.ndarray:
    """A BGR image with one line per named (xs, ys) series and a legend on the right."""
    width, height = size
    left, right, top, bottom = 60, 190, 34, 50
    x_low, x_high, y_low, y_high = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    image = np.full((height, width, 3), 255, np.uint8)

    def to_pixel(x: float, y: float) -> tuple[int, int]:
        px = left + (width - left - right) * (x - x_low) / (x_high - x_low)
        py = height - bottom - (height - top - bottom) * (y - y_low) / (y_high - y_low)
        return round(px), round(py)

    for y in y_ticks:
        cv2.line(image, to_pixel(x_low, y), to_pixel(x_high, y), GREY, 1)
        cv2.putText(image, f"{y:g}", (12, to_pixel(x_low, y)[1] + 5), FONT, 0.45, BLACK, 1,
                    cv2.LINE_AA)
    for x in x_ticks:
        px, py = to_pixel(x, y_low)
        cv2.line(image, (px, py), (px, top), GREY, 1)
        cv2.putText(image, f"{x:g}", (px - 10, py + 20), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    cv2.putText(image, title, (left, 22), FONT, 0.5, BLACK, 1, cv2.LINE_AA)
    palette = cv2.applyColorMap(np.linspace(25, 230, max(len(series), 2)).astype(np.uint8)[:, None],
                                cv2.COLORMAP_TURBO)[:, 0]
    for row, (name, (xs, ys)) in enumerate(series.items()):
        colour = tuple(int(c) for c in palette[row])
        points = np.array([to_pixel(x, y) for x, y in zip(xs, ys, strict=True)], np.int32)
        cv2.polylines(image, [points], False, colour, 2, cv2.LINE_AA)
        if markers:
            for point in points:
                cv2.circle(image, tuple(int(v) for v in point), 4, colour, -1, cv2.LINE_AA)
        legend_y = top + 20 + 22 * row
        cv2.line(image, (width - right + 15, legend_y), (width - right + 40, legend_y), colour, 2)
        cv2.putText(image, name, (width - right + 48, legend_y + 5), FONT, 0.45, BLACK, 1,
                    cv2.LINE_AA)
    return image
