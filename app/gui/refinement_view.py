"""One joint's heatmap after every stack: how each hourglass refines the previous guess."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.engine.drawing import stack_shade
from app.gui.compose import ALL_JOINTS, stack_maps
from app.gui.heatmap_panel import HeatmapTile
from app.gui.images import bgr_to_qcolor

WAITING_MESSAGE = "Each stack's heatmaps appear here with the first frame"


class RefinementView(QWidget):
    """One joint's heatmaps (or all joints combined) side by side, stack 1 to stack N, live.

    Captions carry each stack's shade, the same as its point on the video, so the tile and
    the dot of a stack are recognisably one; the peak under each map shows the network
    growing surer (or not) stack after stack.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles: list[HeatmapTile] = []
        self._title = QLabel()
        font = QFont(self._title.font())
        font.setBold(True)
        self._title.setFont(font)
        self._message = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self._message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._stacks = QWidget()
        self._row = QHBoxLayout(self._stacks)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._stacks, 1)
        layout.addWidget(self._message, 1)
        self.clear()

    def update_stacks(self, title: str, heatmaps: np.ndarray, confidences: np.ndarray) -> None:
        """Show (K, H, W) heatmaps, one per stack, with their (K,) peaks, under ``title``."""
        if len(heatmaps) != len(self._tiles):
            self._build_tiles(len(heatmaps))
        self._title.setText(title)
        for tile, heatmap, confidence in zip(self._tiles, heatmaps, confidences, strict=True):
            tile.set_heatmap(heatmap, float(confidence))
        self._show_tiles(True)

    def show_joint(self, stack_heatmaps: np.ndarray, joint: int | None,
                   joint_names: tuple[str, ...]) -> None:
        """``joint`` through the (K, J, H, W) stacks; with no single joint chosen, all joints
        combined, so that the view shows what each stack adds from the first frame."""
        if joint is None or joint == ALL_JOINTS:
            title, joint = "All joints (click a joint's tile to follow it alone)", ALL_JOINTS
        else:
            title = joint_names[joint]
        self.update_stacks(title, *stack_maps(stack_heatmaps, joint))

    def clear(self, message: str = WAITING_MESSAGE) -> None:
        """Show ``message`` instead of the tiles, e.g. until a model's first frame."""
        self._message.setText(message)
        self._show_tiles(False)

    def followed(self) -> str:
        """What the tiles show: a joint's name, or all joints combined."""
        return self._title.text()

    def stack_count(self) -> int:
        return len(self._tiles)

    def tile(self, stack: int) -> HeatmapTile:
        return self._tiles[stack]

    def _build_tiles(self, stacks: int) -> None:
        for tile in self._tiles:
            self._row.removeWidget(tile)
            tile.deleteLater()
        self._tiles = [
            HeatmapTile(f"stack {k + 1}", bgr_to_qcolor(stack_shade(k, stacks)))
            for k in range(stacks)
        ]
        for tile in self._tiles:
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            self._row.addWidget(tile)

    def _show_tiles(self, shown: bool) -> None:
        self._title.setVisible(shown)
        self._stacks.setVisible(shown)
        self._message.setVisible(not shown)
