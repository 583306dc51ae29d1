"""Numpy BGR images to Qt and back: the one crossing between OpenCV's pixels and Qt's."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 BGR array as a QImage that owns its pixels.

    The copy lets the caller reuse or free the array as soon as this returns; a QImage built
    straight on the numpy buffer would read freed memory once the frame is gone.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR image, got {image.dtype} {image.shape}")
    pixels = np.ascontiguousarray(image)
    height, width = pixels.shape[:2]
    borrowed = QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_BGR888)
    return borrowed.copy()


def qimage_to_bgr(image: QImage) -> np.ndarray:
    """Any QImage as an (H, W, 3) uint8 BGR array of its own: for snapshots and tests."""
    converted = image.convertToFormat(QImage.Format.Format_BGR888)
    height, width = converted.height(), converted.width()
    rows = np.frombuffer(converted.constBits(), np.uint8, count=converted.sizeInBytes())
    rows = rows.reshape(height, converted.bytesPerLine())  # lines are padded to 4 bytes
    return rows[:, : 3 * width].reshape(height, width, 3).copy()


def bgr_to_qcolor(colour: tuple[int, int, int]) -> QColor:
    """A BGR colour from the drawing functions as a QColor, so text matches the frames."""
    blue, green, red = colour
    return QColor(red, green, blue)
