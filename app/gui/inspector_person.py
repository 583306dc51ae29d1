"""One person in the inspector: the photo with the truth and the prediction drawn together,
and the main window's own heatmap tiles and refinement view fed with that person's heatmaps,
so what the user learnt watching live reads the same here."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.gui.compose import ALL_JOINTS
from app.gui.heatmap_panel import HeatmapPanel
from app.gui.images import bgr_to_qimage
from app.gui.inspector_worker import PersonPicture
from app.gui.refinement_view import RefinementView
from app.gui.video_view import BACKGROUND

WAITING = "Each stack's heatmap of the chosen joint appears here"
LEGEND = ("Truth: hollow rings · prediction: filled dots · a line runs from each missed "
          "joint to where it belongs · faint circle: the PCK radius")


class PhotoView(QWidget):
    """A picture as large as fits, its shape kept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setMinimumSize(200, 200)

    def show_image(self, image: np.ndarray | None) -> None:
        self._pixmap = None if image is None else QPixmap.fromImage(bgr_to_qimage(image))
        self.update()

    def pixmap(self) -> QPixmap | None:
        return self._pixmap

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._pixmap is None:
            return
        size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF(0, 0, size.width(), size.height())
        target.moveCenter(QRectF(self.rect()).center())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target.toRect(), self._pixmap)


class PersonPanel(QWidget):
    """The person chosen in the table; clicking a joint's tile follows it through every
    stack below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._picture: PersonPicture | None = None
        self._names: tuple[str, ...] = ()
        self.title = QLabel()
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        # Room for two lines: a label's wrapped height is not asked for inside a splitter.
        self.title.setMinimumHeight(2 * self.title.fontMetrics().lineSpacing() + 4)
        legend = QLabel(LEGEND, wordWrap=True)
        self.photo = PhotoView()
        self.heatmaps = HeatmapPanel()
        self.heatmaps.joint_selected.connect(self._follow)
        self.refinement = RefinementView()
        self.refinement.clear(WAITING)
        self._tiles = QWidget()
        tiles_layout = QVBoxLayout(self._tiles)
        tiles_layout.setContentsMargins(0, 0, 0, 0)
        tiles_layout.addWidget(QLabel("This person's heatmaps (last stack): click a joint to "
                                      "see it at every stack", wordWrap=True))
        tiles_layout.addWidget(self.heatmaps, 1)
        self.refinement.setMinimumHeight(250)
        pictures = QHBoxLayout()
        pictures.addWidget(self.photo, 3)
        pictures.addWidget(self._tiles, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(legend)
        layout.addLayout(pictures, 2)
        layout.addWidget(self.refinement, 1)
        self.clear("Select a person in the table")

    def set_joints(self, names: tuple[str, ...]) -> None:
        self._names = names
        self.heatmaps.set_joints(names)

    def picture(self) -> PersonPicture | None:
        return self._picture

    def show_picture(self, picture: PersonPicture, joint: str | None) -> None:
        """``picture``'s photo and heatmaps, following ``joint`` (None: all joints)."""
        self._picture = picture
        person = picture.person
        missed = ", ".join(person.missed) or "none"
        exchanged = " · left and right exchanged" if person.mirrored else ""
        self.title.setText(f"{person.name}: PCK@0.2 {person.pck:.1f} % · missed: {missed}"
                           f"{exchanged}")
        self.photo.show_image(picture.drawing)
        self._tiles.setVisible(True)
        self.heatmaps.update_heatmaps(picture.heatmaps[-1], person.confidences[-1])
        key = ALL_JOINTS if joint is None else self._names.index(joint)
        self.heatmaps.select_joint(key)
        self._follow(key)  # new maps even where the joint is the one already chosen

    def clear(self, message: str) -> None:
        self._picture = None
        self.title.setText(message)
        self.photo.show_image(None)
        self._tiles.setVisible(False)  # the last person's maps would pass for this one's
        self.refinement.clear(WAITING)

    def _follow(self, joint: int | None) -> None:
        if self._picture is not None:
            self.refinement.show_joint(self._picture.heatmaps, joint, self._names)
