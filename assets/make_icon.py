"""Draws the app icon (assets/icon.png): an hourglass whose sand is a skeleton's joints.

Run from the repository root: ``.venv/bin/python assets/make_icon.py``.  The PNG is committed,
so the app never needs to run this.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)

SIZE = 256


def draw_icon(size: int = SIZE) -> QImage:
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.scale(size / 256, size / 256)

    background = QLinearGradient(0, 0, 0, 256)
    background.setColorAt(0, QColor(38, 40, 58))
    background.setColorAt(1, QColor(18, 18, 28))
    painter.setPen(Qt.NoPen)
    painter.setBrush(QBrush(background))
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 48, 48)

    glass = QPainterPath()
    glass.moveTo(64, 40)
    glass.lineTo(192, 40)
    glass.cubicTo(192, 100, 136, 112, 136, 128)
    glass.cubicTo(136, 144, 192, 156, 192, 216)
    glass.lineTo(64, 216)
    glass.cubicTo(64, 156, 120, 144, 120, 128)
    glass.cubicTo(120, 112, 64, 100, 64, 40)
    heat = QLinearGradient(0, 40, 0, 216)
    heat.setColorAt(0.0, QColor(252, 255, 164, 70))
    heat.setColorAt(0.5, QColor(221, 81, 58, 110))
    heat.setColorAt(1.0, QColor(120, 28, 109, 160))
    painter.setBrush(QBrush(heat))
    painter.setPen(QPen(QColor(235, 235, 245), 7, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
    painter.drawPath(glass)
    painter.setPen(QPen(QColor(235, 235, 245), 10, Qt.SolidLine, Qt.RoundCap))
    painter.drawLine(QPointF(52, 36), QPointF(204, 36))
    painter.drawLine(QPointF(52, 220), QPointF(204, 220))

    # A figure with raised arms: the skeleton the network sees, coloured by side.
    joints = {
        "head": (128, 62), "neck": (128, 84), "l_sh": (146, 88), "r_sh": (110, 88),
        "l_el": (162, 70), "r_el": (94, 70), "l_wr": (170, 52), "r_wr": (86, 52),
        "l_hip": (140, 168), "r_hip": (116, 168), "l_kn": (150, 190), "r_kn": (106, 190),
        "l_an": (156, 208), "r_an": (100, 208),
    }
    left, right, centre = QColor(40, 140, 235), QColor(255, 140, 30), QColor(90, 200, 90)
    limbs = [("head", "neck", centre), ("neck", "l_sh", left), ("neck", "r_sh", right),
             ("l_sh", "l_el", left), ("l_el", "l_wr", left), ("r_sh", "r_el", right),
             ("r_el", "r_wr", right), ("l_hip", "l_kn", left), ("l_kn", "l_an", left),
             ("r_hip", "r_kn", right), ("r_kn", "r_an", right), ("l_hip", "r_hip", centre),
             ("l_sh", "l_hip", left), ("r_sh", "r_hip", right)]
    for a, b, colour in limbs:
        painter.setPen(QPen(colour, 7, Qt.SolidLine, Qt.RoundCap))
        painter.drawLine(QPointF(*joints[a]), QPointF(*joints[b]))
    painter.setPen(QPen(QColor(20, 20, 28), 2))
    painter.setBrush(QColor(120, 230, 120))
    for x, y in joints.values():
        painter.drawEllipse(QPointF(x, y), 6, 6)
    painter.end()
    return image


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    target = Path(__file__).resolve().parent / "icon.png"
    if not draw_icon().save(str(target)):
        raise SystemExit(f"could not write {target}")
    print(f"wrote {target}")
