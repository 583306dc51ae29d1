"""Draws the app icon, an hourglass whose sand is a skeleton's joints, for every platform:
``icon.png`` (the window, Linux menus), ``icon.ico`` (the Windows executable) and ``icon.icns``
(the macOS bundle), each size drawn from the same vector drawing rather than scaled from one
bitmap, so that small sizes stay sharp.

Run from the repository root: ``.venv/bin/python assets/make_icon.py``.  The icons are
committed, so neither the app nor a build needs to run this.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
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
# Windows picks the nearest of these for the taskbar, Explorer's views and the title bar.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# macOS icon types holding PNG data, and their pixel sizes (the @2x types serve Retina screens).
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"ic11", 32), (b"icp6", 64), (b"ic12", 64),
              (b"ic07", 128), (b"ic08", 256), (b"ic13", 256), (b"ic09", 512), (b"ic14", 512),
              (b"ic10", 1024))


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


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("could not encode a PNG")
    return bytes(data)


def ico_file(pngs: dict[int, bytes]) -> bytes:
    """A Windows icon whose images are PNGs (read by Windows since Vista): the header, one
    directory entry per size (0 stands for 256), then the images."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, png in sorted(pngs.items()):
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png),
                               offset + len(images))
        images += png
    return header + entries + images


def icns_file(pngs: dict[int, bytes]) -> bytes:
    """A macOS icon: the "icns" header, then one element per type, each a PNG."""
    elements = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
                        for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(elements)) + elements


def write(target: Path, data: bytes) -> None:
    target.write_bytes(data)
    print(f"wrote {target} ({len(data) / 1024:.0f} KiB)")


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    folder = Path(__file__).resolve().parent
    sizes = set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    pngs = {size: png_bytes(draw_icon(size)) for size in sorted(sizes)}
    write(folder / "icon.png", pngs[SIZE])
    write(folder / "icon.ico", ico_file({size: pngs[size] for size in ICO_SIZES}))
    write(folder / "icon.icns", icns_file(pngs))
