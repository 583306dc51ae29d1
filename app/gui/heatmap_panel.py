"""Every joint's heatmap at a glance, on one fixed colour scale, and the joint to follow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QScrollArea, QWidget

from app.engine.drawing import colour_scale, colourise_heatmap, confidence_colour
from app.gui.compose import ALL_JOINTS
from app.gui.images import bgr_to_qcolor, bgr_to_qimage

CARD = QColor(30, 30, 34)
CARD_HOVER = QColor(44, 44, 50)
NO_DATA = QColor(12, 12, 14)
CAPTION = QColor(225, 225, 225)


class HeatmapTile(QWidget):
    """One heatmap as a dark card: the colourised map, a caption and a confidence under it.

    The card is dark whatever the palette, so the colour-coded captions (stack shades,
    confidence colours, taken from the drawing functions like the frames' own) stay readable.
    The map is colourised once per update and only scaled when painted.
    """

    clicked = Signal()

    PADDING = 4
    IMAGE_SIDE = 76
    MIN_IMAGE_SIDE = 40

    def __init__(self, caption: str, caption_colour: QColor = CAPTION,
                 detail_format: str = "{:.2f}", selectable: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._caption = caption
        self._caption_colour = caption_colour
        self._detail_format = detail_format
        self._detail = ""
        self._detail_colour = CAPTION
        self._pixmap: QPixmap | None = None
        self._selectable = selectable
        self._selected = False
        self._hovered = False
        self.setToolTip(caption)
        font = QFont(self.font())  # a notch smaller, so "right shoulder" fits a dock's column
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        if selectable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_heatmap(self, heatmap: np.ndarray, confidence: float) -> None:
        self._pixmap = QPixmap.fromImage(bgr_to_qimage(colourise_heatmap(heatmap)))
        self._detail = self._detail_format.format(confidence)
        self._detail_colour = bgr_to_qcolor(confidence_colour(confidence))
        self.update()

    def pixmap(self) -> QPixmap | None:
        return self._pixmap

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self.update()

    def is_selected(self) -> bool:
        return self._selected

    def sizeHint(self) -> QSize:
        return self._size_for(self.IMAGE_SIDE)

    def minimumSizeHint(self) -> QSize:
        return self._size_for(self.MIN_IMAGE_SIDE)

    def _text_height(self) -> int:
        return 2 * self.fontMetrics().height()

    def _size_for(self, side: int) -> QSize:
        return QSize(side + 2 * self.PADDING, side + 3 * self.PADDING + self._text_height())

    def _card_rect(self) -> QRect:
        """The card, centred: tiles stretched by a layout keep square maps."""
        side = min(self.width() - 2 * self.PADDING,
                   self.height() - 3 * self.PADDING - self._text_height())
        card = QRect(QPoint(0, 0), self._size_for(max(0, side)))
        card.moveCenter(self.rect().center())
        return card

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = self._card_rect()
        self._paint_card(painter, card)
        image = card.adjusted(self.PADDING, self.PADDING, -self.PADDING, 0)
        image.setHeight(image.width())
        if self._pixmap is None:
            painter.fillRect(image, NO_DATA)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(image, self._pixmap)
        line = self.fontMetrics().height()
        text = QRect(card.left() + 2, image.bottom() + self.PADDING, card.width() - 4, line)
        self._paint_text(painter, text, self._caption, self._caption_colour)
        self._paint_text(painter, text.translated(0, line), self._detail, self._detail_colour)

    def _paint_card(self, painter: QPainter, card: QRect) -> None:
        if self._selected:
            painter.setPen(QPen(self.palette().highlight().color(), 3))
        elif self._hovered:
            painter.setPen(QPen(QColor(120, 120, 130), 1))
        else:
            painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(CARD_HOVER if self._hovered else CARD)
        painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 5, 5)

    def _paint_text(self, painter: QPainter, rect: QRect, text: str, colour: QColor) -> None:
        painter.setPen(colour)
        elided = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, elided)

    def enterEvent(self, event: QEnterEvent) -> None:
        self._hovered = self._selectable
        self.update()

    def leaveEvent(self, event: QEvent) -> None:
        self._hovered = False
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if (event.button() == Qt.MouseButton.LeftButton
                and self._card_rect().contains(event.position().toPoint())):
            self.clicked.emit()


class ColourLegend(QWidget):
    """The 0 to 1 scale all tiles share: maps are not stretched per joint, so the bar reads
    as absolute confidence and a weak joint looks weak."""

    BAR_WIDTH = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bar = QPixmap.fromImage(bgr_to_qimage(colour_scale(256, 1)))
        self.setToolTip("Heatmap colour scale: the network's belief that the joint is there")

    def sizeHint(self) -> QSize:
        return QSize(self.BAR_WIDTH + 6 + self.fontMetrics().horizontalAdvance("0.5"), 200)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        half_line = self.fontMetrics().height() // 2
        bar = QRect(0, half_line, self.BAR_WIDTH, self.height() - 2 * half_line)
        painter.drawPixmap(bar, self._bar)
        painter.setPen(self.palette().windowText().color())
        for value in (1.0, 0.5, 0.0):
            y = round(bar.top() + (1.0 - value) * (bar.height() - 1))
            label = QRect(bar.right() + 6, y - half_line, self.width(), 2 * half_line)
            painter.drawText(label, Qt.AlignmentFlag.AlignVCenter, f"{value:g}")


class HeatmapPanel(QWidget):
    """A grid of per-joint heatmap tiles, "All joints" (the maximum over joints) first.

    Clicking a tile picks the joint whose heatmap the video overlays and whose refinement is
    followed; clicking it again drops the overlay.  Tiles are built once per joint set and
    only their pixmaps change per frame.  As many columns as the dock's width allows.
    """

    joint_selected = Signal(object)  # int (ALL_JOINTS or a joint) or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: tuple[str, ...] = ()
        self._tiles: dict[int, HeatmapTile] = {}  # in display order
        self._selected: int | None = None
        self._columns = 0
        grid_widget = QWidget()
        self._grid = QGridLayout(grid_widget)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self._scroll = QScrollArea()
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(grid_widget)
        self._scroll.viewport().installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._scroll, 1)
        layout.addWidget(ColourLegend(), 0, Qt.AlignmentFlag.AlignTop)
        self.setMinimumWidth(260)  # two columns of tiles and the legend, never a sliver

    def set_joints(self, names: Sequence[str]) -> None:
        """One tile per joint of the model; a new joint set clears the selection."""
        names = tuple(names)
        if names == self._names:
            return
        self._names = names
        for tile in self._tiles.values():
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self._tiles = {ALL_JOINTS: self._make_tile(ALL_JOINTS, "All joints", "mean {:.2f}")}
        for joint, name in enumerate(names):
            self._tiles[joint] = self._make_tile(joint, name)
        self._columns = 0
        self._reflow()
        self.select_joint(None)

    def _make_tile(self, key: int, caption: str, detail_format: str = "{:.2f}") -> HeatmapTile:
        tile = HeatmapTile(caption, detail_format=detail_format, selectable=True)
        tile.setFixedSize(tile.sizeHint())
        tile.clicked.connect(lambda: self._tile_clicked(key))
        return tile

    def tile(self, key: int) -> HeatmapTile:
        """The tile of joint ``key`` (ALL_JOINTS for the combined one)."""
        return self._tiles[key]

    def update_heatmaps(self, heatmaps: np.ndarray, confidences: np.ndarray) -> None:
        """Show the last stack's (J, H, W) heatmaps on the 0..1 scale and the (J,) peaks."""
        if len(heatmaps) != len(self._names):
            raise ValueError(f"{len(heatmaps)} heatmaps for {len(self._names)} joints")
        self._tiles[ALL_JOINTS].set_heatmap(heatmaps.max(axis=0), float(confidences.mean()))
        for joint, (heatmap, confidence) in enumerate(zip(heatmaps, confidences, strict=True)):
            self._tiles[joint].set_heatmap(heatmap, float(confidence))

    def selected_joint(self) -> int | None:
        """None: no overlay; ALL_JOINTS: every joint's map; otherwise a joint index."""
        return self._selected

    def select_joint(self, key: int | None) -> None:
        """Highlight ``key``'s tile (None: none) and emit joint_selected if it changed."""
        if key is not None and key not in self._tiles:
            raise ValueError(f"no tile for joint {key}")
        if key == self._selected:
            return
        for tile_key, tile in self._tiles.items():
            tile.set_selected(tile_key == key)
        self._selected = key
        self.joint_selected.emit(key)

    def _tile_clicked(self, key: int) -> None:
        self.select_joint(None if key == self._selected else key)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._scroll.viewport() and event.type() == QEvent.Type.Resize:
            self._reflow()
        return super().eventFilter(watched, event)

    def _reflow(self) -> None:
        """Put as many tiles on a row as the viewport's width allows."""
        if not self._tiles:
            return
        spacing = self._grid.horizontalSpacing()
        step = next(iter(self._tiles.values())).width() + spacing
        columns = max(1, (self._scroll.viewport().width() + spacing) // step)
        if columns == self._columns:
            return
        self._columns = columns
        for tile in self._tiles.values():
            self._grid.removeWidget(tile)
        for index, tile in enumerate(self._tiles.values()):
            self._grid.addWidget(tile, index // columns, index % columns)
