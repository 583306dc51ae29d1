"""The live view: the latest annotated frame, as large as fits, with a message panel over it."""

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
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gui.images import bgr_to_qimage

BACKGROUND = QColor(18, 18, 20)


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


class VideoView(QWidget):
    """Paints the latest frame scaled to fit, aspect ratio kept, on a dark background.

    Frames arrive already annotated (numpy BGR), so what is shown is exactly what a snapshot
    saves; mirroring is the one thing done here, at paint time, because it is a viewing
    preference (a selfie view) that must not flip the saved frames or the joint sides.
    """

    file_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._mirrored = False
        self.setAcceptDrops(True)
        self._message = MessagePanel()
        self._message.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self._message, 0, Qt.AlignmentFlag.AlignCenter)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def show_frame(self, image: np.ndarray) -> None:
        """Show ``image`` (BGR uint8) from the next paint on; the array is kept, not copied."""
        self._frame = image
        self._image = bgr_to_qimage(image)
        self.update()

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

    def widget_to_frame(self, point: QPointF) -> tuple[float, float] | None:
        """The frame pixel (x, y) under ``point``, mirroring undone; None off the frame."""
        if self._image is None:
            return None
        rect = self._frame_rect()
        if not rect.contains(point):
            return None
        u = (point.x() - rect.left()) / rect.width()
        v = (point.y() - rect.top()) / rect.height()
        if self._mirrored:
            u = 1.0 - u
        return u * self._image.width(), v * self._image.height()

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
