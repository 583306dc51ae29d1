"""The whole set's PCK at a glance: a bar per joint, the worst in red, and a bar per stack.

Painted with QPainter (no chart library): a bar chart is a few rectangles, and the joint bars
are also buttons, since the worst joint is the first thing a user wants to look into.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.engine.drawing import stack_shade
from app.engine.scoring import Evaluation
from app.gui.images import bgr_to_qcolor

WORST_JOINTS = 3  # painted red
WORST = QColor(215, 55, 55)
OTHER = QColor(110, 140, 175)
GRID = QColor(128, 128, 128, 60)
GAP = 28  # between the joint and the stack groups, pixels


def short_name(joint: str) -> str:
    """"left wrist" as "L wrist", so fourteen captions fit under fourteen bars."""
    for side, letter in (("left ", "L "), ("right ", "R ")):
        if joint.startswith(side):
            return letter + joint.removeprefix(side)
    return joint


class PckChart(QWidget):
    """Bars of the per-joint and per-stack PCK of one report; ``joint_clicked`` names the
    joint whose bar was clicked."""

    joint_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._joints: dict[str, float] = {}
        self._stacks: list[float] = []
        self._joint_bars: dict[str, QRectF] = {}  # where each joint's column was painted
        self.setMinimumHeight(150)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("PCK@0.2 of every person together. Click a joint's bar to list the "
                        "people whose joint was missed.")

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        self._joints = dict(evaluation.per_joint) if evaluation else {}
        self._stacks = list(evaluation.per_stack) if evaluation else []
        self.update()

    def worst_joints(self) -> list[str]:
        scored = [(value, joint) for joint, value in self._joints.items()
                  if not math.isnan(value)]
        return [joint for _, joint in sorted(scored)[:WORST_JOINTS]]

    def sizeHint(self) -> QSize:
        return QSize(900, 160)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().windowText().color()
        line = self.fontMetrics().height()
        plot = QRectF(4, line + 6, self.width() - 8, self.height() - 3 * line - 10)
        painter.setPen(text_colour)
        if not self._joints:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "The whole set's PCK per joint and per stack appears here")
            return
        bars = len(self._joints) + len(self._stacks)
        width = (plot.width() - GAP) / max(bars, 1)
        stack_left = plot.left() + len(self._joints) * width + GAP
        painter.drawText(QRectF(plot.left(), 0, stack_left - plot.left(), line),
                         Qt.AlignmentFlag.AlignLeft,
                         "PCK@0.2 % per joint, whole set (worst in red; click a bar to list "
                         "who missed it)")
        painter.drawText(QRectF(stack_left, 0, plot.right() - stack_left, line),
                         Qt.AlignmentFlag.AlignLeft, "per stack")
        painter.setPen(GRID)
        for value in (0, 50, 100):
            y = plot.bottom() - value / 100 * plot.height()
            painter.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
        worst = set(self.worst_joints())
        self._joint_bars = {}
        for index, (joint, value) in enumerate(self._joints.items()):
            column = QRectF(plot.left() + index * width, plot.top(), width, plot.height())
            self._joint_bars[joint] = column.adjusted(0, -line, 0, 2 * line)
            self._paint_bar(painter, column, value, short_name(joint),
                            WORST if joint in worst else OTHER, text_colour)
        stacks = len(self._stacks)
        for stack, value in enumerate(self._stacks):
            column = QRectF(stack_left + stack * width, plot.top(), width, plot.height())
            self._paint_bar(painter, column, value, f"stack {stack + 1}",
                            bgr_to_qcolor(stack_shade(stack, stacks)), text_colour)

    def _paint_bar(self, painter: QPainter, column: QRectF, value: float, caption: str,
                   colour: QColor, text_colour: QColor) -> None:
        """A bar of ``value`` percent in ``column``, its figure above, ``caption`` below."""
        line = self.fontMetrics().height()
        label = QRectF(column.left(), column.bottom() + 2, column.width(), line)
        painter.setPen(text_colour)
        painter.drawText(label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         self.fontMetrics().elidedText(caption, Qt.TextElideMode.ElideRight,
                                                       int(column.width())))
        if math.isnan(value):  # a joint this dataset does not label
            painter.drawText(column, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                             "n/a")
            return
        height = max(value, 0.0) / 100 * column.height()
        bar = QRectF(column.left() + column.width() * 0.15, column.bottom() - height,
                     column.width() * 0.7, height)
        painter.fillRect(bar, colour)
        painter.drawText(QRectF(column.left(), bar.top() - line, column.width(), line),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                         f"{value:.0f}")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        for joint, area in self._joint_bars.items():
            if area.contains(event.position()):
                self.joint_clicked.emit(joint)
                return
