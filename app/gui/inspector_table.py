"""The inspector's table of people: one row a person, worst first, sortable by any column and
narrowed to the people who missed one joint; beside it, the people whose photo was skipped.

The model holds the report's people in the engine's own worst-first order
(:meth:`InspectionReport.worst`), and the proxy sorts stably, so sorting by PCK again gives
back exactly that order; every column sorts by its number (SORT_ROLE), not its text.
"""

from __future__ import annotations

import math
from collections import Counter
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.engine.inspection import InspectionReport, PersonScore

SORT_ROLE = Qt.ItemDataRole.UserRole
PERSON_ROLE = Qt.ItemDataRole.UserRole + 1
MISSED_COLOUR = QColor(200, 40, 40)
EXCHANGED_COLOUR = QColor(190, 110, 0)
HELP = ("People, worst first: the top rows are the ones the model got most wrong. Select one "
        "to see it; ↑ and ↓ step through them.")

Index = QModelIndex | QPersistentModelIndex
TOP = QModelIndex()  # the table's root: its rows have no children


class Column(IntEnum):
    IMAGE = 0
    PCK = 1
    MISSED = 2
    EXCHANGED = 3
    CONFIDENCE = 4


HEADERS = {
    Column.IMAGE: ("Image", "The photo (#n: the n-th person labelled in it)"),
    Column.PCK: ("PCK@0.2 %", "Share of this person's joints found within 0.2 torso "
                              "lengths of the truth (last stack)"),
    Column.MISSED: ("Missed joints", "Joints placed further than that from the truth"),
    Column.EXCHANGED: ("L/R exchanged",
                       "Yes: the pose scores better with left and right swapped"),
    Column.CONFIDENCE: ("Lowest conf.",
                        "The weakest joint's heatmap peak: low means the model was unsure"),
}


class PeopleModel(QAbstractTableModel):
    """The people of one report, read-only.  Each cell's text and sort key are worked out
    once: a view asks for them tens of thousands of times as it sorts and lays out a thousand
    people, and the GUI thread must not stall on it."""

    def __init__(self) -> None:
        super().__init__()
        self._people: list[PersonScore] = []
        self._missed: list[tuple[str, ...]] = []
        self._texts: list[tuple[str, ...]] = []
        self._keys: list[tuple[object, ...]] = []

    def set_report(self, report: InspectionReport | None) -> None:
        self.beginResetModel()
        self._people = report.worst(len(report.people)) if report else []
        self._missed = [person.missed for person in self._people]
        self._texts = [tuple(display_text(p, column) for column in Column) for p in self._people]
        self._keys = [tuple(sort_key(p, column) for column in Column) for p in self._people]
        self.endResetModel()

    def missed(self, row: int) -> tuple[str, ...]:
        return self._missed[row]

    def missed_counts(self) -> Counter[str]:
        """How many people missed each joint."""
        return Counter(joint for missed in self._missed for joint in missed)

    def rowCount(self, parent: Index = TOP) -> int:
        return 0 if parent.isValid() else len(self._people)

    def columnCount(self, parent: Index = TOP) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        text, tip = HEADERS[Column(section)]
        return {Qt.ItemDataRole.DisplayRole: text, Qt.ItemDataRole.ToolTipRole: tip}.get(role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[row][column]
        if role == SORT_ROLE:
            return self._keys[row][column]
        person = self._people[row]
        if role == PERSON_ROLE:
            return person
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Column.MISSED and self._missed[row]:
                return MISSED_COLOUR
            if column == Column.EXCHANGED and person.mirrored:
                return EXCHANGED_COLOUR
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.PCK,
                                                                    Column.CONFIDENCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.IMAGE:
            return str(person.annotation.image_path)
        return None


def display_text(person: PersonScore, column: Column) -> str:
    match column:
        case Column.IMAGE:
            return person.name
        case Column.PCK:
            return figure(person.pck, "{:.1f}")
        case Column.MISSED:
            return ", ".join(person.missed) or "none"
        case Column.EXCHANGED:
            return "yes" if person.mirrored else ""
        case Column.CONFIDENCE:
            return figure(person.min_confidence, "{:.2f}")


def figure(value: float, form: str) -> str:
    """A person with no torso length has no PCK, and one with no joint counted no weakest
    confidence."""
    return form.format(value) if math.isfinite(value) else "n/a"


def sort_key(person: PersonScore, column: Column) -> object:
    """Numbers sort as numbers, a missing one last; missed joints by how many."""
    match column:
        case Column.IMAGE:
            return person.name
        case Column.PCK:
            return person.pck if math.isfinite(person.pck) else math.inf
        case Column.MISSED:
            return len(person.missed)
        case Column.EXCHANGED:
            return int(person.mirrored)
        case Column.CONFIDENCE:
            return person.min_confidence if math.isfinite(person.min_confidence) else math.inf


class PeopleFilter(QSortFilterProxyModel):
    """Sorts by SORT_ROLE, and with a joint set shows only the people who missed it."""

    def __init__(self) -> None:
        super().__init__()
        self._joint: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_joint(self, joint: str | None) -> None:
        self.beginFilterChange()
        self._joint = joint
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def joint(self) -> str | None:
        return self._joint

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._joint is None:
            return True
        return self._joint in self.sourceModel().missed(source_row)

    def person(self, row: int) -> PersonScore:
        return self.index(row, 0).data(PERSON_ROLE)

    def shown(self) -> list[PersonScore]:
        """The people as the table lists them: filtered, in its order."""
        return [self.person(row) for row in range(self.rowCount())]


def people_table(rows: PeopleFilter) -> QTableView:
    """A view of ``rows`` that selects one person at a time (the arrow keys step), sorts by
    a click on a header, and gives the missed joints the room left."""
    table = QTableView()
    table.setModel(rows)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setResizeContentsPrecision(100)  # widths from the first rows: not all thousand
    header.setSectionResizeMode(Column.MISSED, QHeaderView.ResizeMode.Stretch)
    return table


class PeoplePane(QWidget):
    """The table with its joint filter above it and the skipped photos below it.
    ``joint_filtered`` says the rows shown changed with the filter."""

    joint_filtered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = PeopleModel()
        self.rows = PeopleFilter()
        self.rows.setSourceModel(self.people)
        self.table = people_table(self.rows)
        self.joint_filter = QComboBox()
        self.joint_filter.setToolTip("Only the people who missed this joint")
        self.joint_filter.activated.connect(
            lambda: self.filter_joint(self.joint_filter.currentData()))
        self.skipped = QLabel(wordWrap=True)
        self.skipped.setStyleSheet("color: #b45f06")
        filter_row = QHBoxLayout()
        filter_row.addWidget(QLabel("Show:"))
        filter_row.addWidget(self.joint_filter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(HELP, wordWrap=True))
        layout.addLayout(filter_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.skipped)

    def set_report(self, report: InspectionReport | None) -> None:
        """``report``'s people worst first, the joint filter kept where the joint is there."""
        self.people.set_report(report)
        self.table.sortByColumn(Column.PCK, Qt.SortOrder.AscendingOrder)
        joint = self.rows.joint()
        self.joint_filter.clear()
        self.joint_filter.addItem("Everyone", None)
        counts = self.people.missed_counts()
        for name in report.joint_names if report else ():
            self.joint_filter.addItem(f"Missed {name} ({counts[name]})", name)
        self.joint_filter.setCurrentIndex(max(0, self.joint_filter.findData(joint)))
        self.rows.set_joint(self.joint_filter.currentData())
        skipped = report.skipped if report else []
        self.skipped.setVisible(bool(skipped))
        self.skipped.setText(f"Skipped {len(skipped)} (not scored): " + "; ".join(
            f"{skip.name}: {skip.reason}" for skip in skipped))

    def filter_joint(self, joint: str | None) -> None:
        """Only the people who missed ``joint`` (None: everyone)."""
        self.joint_filter.setCurrentIndex(max(0, self.joint_filter.findData(joint)))
        self.rows.set_joint(self.joint_filter.currentData())
        self.joint_filtered.emit()

    def shown(self) -> list[PersonScore]:
        return self.rows.shown()
