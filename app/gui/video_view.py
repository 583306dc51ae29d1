"""The live view: the latest annotated frame, as large as fits, with a message panel over it;
the box of the person followed, drawn faintly; a click or a dragged box chooses a person."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gui.images import bgr_to_qimage

BACKGROUND = QColor(18, 18, 20)
# The box of the person followed: faint when the app chose them, stronger when the user did.
AUTOMATIC_BOX = QColor(255, 255, 255, 70)
CHOSEN_BOX = QColor(90, 200, 255, 170)
HINT_TEXT = QColor(235, 235, 235)
HINT_BACKGROUND = QColor(20, 20, 24, 170)
# A press and release closer than this (widget pixels) is a click, not a dragged box.
DRAG_THRESHOLD = 6


class MessagePanel(QFrame):
    """A title, a line of detail and buttons: shown instead of a frame when there is none to
    show (no camera, a file that would not open), so the way out is one click away."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messagePanel")
        self.setStyleSheet(
            "QFrame#messagePanel { background: rgba(40, 40, 46, 235); border-radius: 10px; }"
            "QFrame#messagePanel QLabel { color: #f0f0f0; }"
        )
        self.setMaximumWidth(460)
        self._title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        font = QFont(self._title.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self._title.setFont(font)
        self._detail = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self._buttons = QHBoxLayout()
        self._actions: list[tuple[str, Callable[[], None]]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(self._title)
        layout.addWidget(self._detail)
        layout.addLayout(self._buttons)

    def title(self) -> str:
        return self._title.text()

    def action_texts(self) -> list[str]:
        return [text for text, _ in self._actions]

    def set_message(self, title: str, detail: str,
                    actions: list[tuple[str, Callable[[], None]]]) -> None:
        self._actions = list(actions)
        self._title.setText(title)
        self._detail.setText(detail)
        self._detail.setVisible(bool(detail))
        while (item := self._buttons.takeAt(0)) is not None:
            if item.widget() is not None:
                item.widget().deleteLater()
        self._buttons.addStretch()
        for text, callback in actions:
            button = QPushButton(text)
            button.clicked.connect(lambda _checked=False, run=callback: run())
            self._buttons.addWidget(button)
        self._buttons.addStretch()


def person_hint(found: bool, chosen: bool) -> str:
    """The line in the view's corner that says whom the app follows, if it is not plain."""
    if chosen:
        return ("Following the person you chose · Esc: automatic" if found else
                "Looking for the person you chose… · Esc: automatic")
    return "" if found else "Looking for a person…"


class VideoView(QWidget):
    """Paints the latest frame scaled to fit, aspect ratio kept, on a dark background.

    Frames arrive already annotated (numpy BGR), so what is shown is exactly what a snapshot
    saves; mirroring is the one thing done here, at paint time, because it is a viewing
    preference (a selfie view) that must not flip the saved frames or the joint sides.
    """

    file_dropped = Signal(str)
    point_chosen = Signal(float, float)  # frame pixels (x, y): the person there
    area_chosen = Signal(float, float, float, float)  # frame pixels (x, y, w, h)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._frame_size: tuple[int, int] = (0, 0)  # (width, height) of the true frame
        self._mirrored = False
        self._person_box: tuple[float, float, float, float] | None = None
        self._chosen = False
        self._hint = ""
        self._press: QPointF | None = None
        self._drag: QRectF | None = None
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._message = MessagePanel()
        self._message.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self._message, 0, Qt.AlignmentFlag.AlignCenter)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def show_frame(self, image: np.ndarray, frame_size: tuple[int, int] | None = None) -> None:
        """Show ``image`` (BGR uint8) from the next paint on; the array is kept, not copied.
        ``frame_size`` (width, height) is the true frame's when ``image`` is a reduced copy:
        points and boxes are given and reported in the true frame's pixels."""
        self._frame = image
        self._image = bgr_to_qimage(image)
        self._frame_size = frame_size or (image.shape[1], image.shape[0])
        self.update()

    def show_person(self, box: tuple[float, float, float, float], found: bool,
                    chosen: bool) -> None:
        """Whom the app follows: the box (x, y, w, h, frame pixels) it looked in, drawn
        faintly when a person was ``found`` there; ``chosen`` when the user picked them."""
        self._person_box = box if found else None
        self._chosen = chosen
        self._hint = person_hint(found, chosen)
        self.update()

    def hint(self) -> str:
        return self._hint

    def person_box(self) -> tuple[float, float, float, float] | None:
        return self._person_box

    def last_frame(self) -> np.ndarray | None:
        return self._frame

    def set_mirrored(self, mirrored: bool) -> None:
        self._mirrored = mirrored
        self.update()

    def is_mirrored(self) -> bool:
        return self._mirrored

    def show_message(self, title: str, detail: str,
                     actions: list[tuple[str, Callable[[], None]]]) -> None:
        """Put a panel with ``title``, ``detail`` and one button per (text, callback) over
        the view; it stays until :meth:`clear_message` or the next message."""
        self._message.set_message(title, detail, actions)
        self._message.show()

    def clear_message(self) -> None:
        self._message.hide()

    def message_visible(self) -> bool:
        return not self._message.isHidden()

    def message_title(self) -> str:
        return self._message.title()

    def message_actions(self) -> list[str]:
        return self._message.action_texts()

    def widget_to_frame(self, point: QPointF, clamp: bool = False) -> tuple[float, float] | None:
        """The frame pixel (x, y) under ``point``, mirroring undone; None off the frame, or
        with ``clamp`` the nearest point on it."""
        if self._image is None:
            return None
        rect = self._frame_rect()
        if not clamp and not rect.contains(point):
            return None
        u = min(max((point.x() - rect.left()) / rect.width(), 0.0), 1.0)
        v = min(max((point.y() - rect.top()) / rect.height(), 0.0), 1.0)
        if self._mirrored:
            u = 1.0 - u
        width, height = self._frame_size
        return u * width, v * height

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._press, self._drag = event.position(), None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None:
            moved = event.position() - self._press
            if self._drag is not None or moved.manhattanLength() >= DRAG_THRESHOLD:
                self._drag = QRectF(self._press, event.position()).normalized()
                self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, drag = self._press, self._drag
        self._press = self._drag = None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self.update()
        if drag is None:
            point = self.widget_to_frame(press)
            if point is not None:
                self.point_chosen.emit(*point)
            return
        corners = [self.widget_to_frame(corner, clamp=True)
                   for corner in (drag.topLeft(), drag.bottomRight())]
        (x0, y0), (x1, y1) = corners  # the mirror may have swapped left and right
        left, top = min(x0, x1), min(y0, y1)
        width, height = abs(x1 - x0), abs(y1 - y0)
        if width >= 1 and height >= 1:
            self.area_chosen.emit(left, top, width, height)

    def _frame_rect(self) -> QRectF:
        """Where the frame lands: as large as fits, centred, aspect ratio kept."""
        size = QSizeF(self._image.size()).scaled(QSizeF(self.size()),
                                                 Qt.AspectRatioMode.KeepAspectRatio)
        rect = QRectF(QPointF(), size)
        rect.moveCenter(QRectF(self.rect()).center())
        return rect

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._image is None:
            return
        target = self._frame_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._mirrored:  # x -> 2 * centre - x flips the frame about its own centre
            painter.translate(2 * target.center().x(), 0)
            painter.scale(-1, 1)
        painter.drawImage(target, self._image)
        if self._person_box is not None:  # mirrored with the picture
            self._paint_person_box(painter, target)
        painter.resetTransform()
        if self._drag is not None:
            painter.setPen(QPen(CHOSEN_BOX, 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self._drag)
        if self._hint:
            self._paint_hint(painter, target)

    def _paint_person_box(self, painter: QPainter, target: QRectF) -> None:
        width, height = self._frame_size
        x, y, w, h = self._person_box
        sx, sy = target.width() / width, target.height() / height
        box = QRectF(target.left() + x * sx, target.top() + y * sy, w * sx, h * sy)
        painter.setPen(QPen(CHOSEN_BOX if self._chosen else AUTOMATIC_BOX, 2 if self._chosen
                            else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box, 6, 6)

    def _paint_hint(self, painter: QPainter, target: QRectF) -> None:
        metrics = painter.fontMetrics()
        text = QRectF(metrics.boundingRect(self._hint)).adjusted(-8, -4, 8, 4)
        text.moveTopLeft(target.topLeft() + QPointF(10, 10))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(HINT_BACKGROUND)
        painter.drawRoundedRect(text, 5, 5)
        painter.setPen(HINT_TEXT)
        painter.drawText(text, Qt.AlignmentFlag.AlignCenter, self._hint)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.file_dropped.emit(path)

    @staticmethod
    def _dropped_path(event: QDropEvent) -> str | None:
        """The first local file among the dragged URLs: web links cannot be opened."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                return url.toLocalFile()
        return None
