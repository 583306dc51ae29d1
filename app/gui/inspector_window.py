"""File ▸ Open labelled data: where the model is wrong, person by person.

A window of its own beside the main one, never modal: it scores every labelled person with
the main window's model on the inspector's thread (inspector_worker.py), then shows the whole
set's PCK (inspector_chart.py), the people worst first (inspector_table.py) and the person
selected (inspector_person.py).  Its first view answers a newcomer's first question without
a word of help: the worst person is selected, their first missed joint followed through every
stack.  It scores as the main window can run the model (true box or none, how many stacks,
the flip test), each chosen on its own bar.  Results are kept, by data, model and that
choice, for as long as the app runs, so
reopening a set shows it at once; closing the window only hides it, and a scoring underway
carries on.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.engine.inspection import InspectionReport, PersonScore, write_table_csv
from app.engine.models import ModelInfo
from app.engine.output import OutputError
from app.gui.inspector_chart import PckChart
from app.gui.inspector_dialogs import (
    ask_labelled_data,
    ask_table_csv,
    data_path,
)
from app.gui.inspector_person import PersonPanel
from app.gui.inspector_table import PeoplePane
from app.gui.inspector_worker import (
    InspectorThread,
    ModelChoice,
    PersonPicture,
    PersonRequest,
    ScoreRequest,
    Scoring,
)
from app.gui.settings import Folder, remember_folder
from app.gui.status_line import notify

BOX_CHOICES = (("True box (as eval scores)", False), ("No box (as the camera sees)", True))


class InspectorWindow(QMainWindow):
    """The inspector; ``report_shown`` (an InspectionReport, or None when cancelled),
    ``person_shown`` (a PersonPicture on screen) and ``failed`` (what the user was told) are
    for the self-test and the tests."""

    report_shown = Signal(object)
    person_shown = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget, settings: QSettings,
                 model_loaded: SignalInstance) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hourglass Pose — labelled data")
        self.settings = settings
        self.data: Path | None = None
        self.model: ModelInfo | None = None
        self._results: dict[tuple, InspectionReport] = {}
        self._running: ScoreRequest | None = None
        self._shown: ScoreRequest | None = None  # whose report the table holds
        self._wanted: PersonScore | None = None  # the person selected
        self._person_in_flight = False
        self.link = InspectorThread(self)
        worker = self.link.worker
        worker.progress.connect(self._progress)
        worker.scored.connect(self._scored)
        worker.cancelled.connect(self._cancelled)
        worker.person_ready.connect(self._person_ready)
        worker.failed.connect(self._failed)
        model_loaded.connect(self.set_model)
        self._build()
        self.resize(1400, 900)

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        open_button = QPushButton("Open labelled data…")
        open_button.clicked.connect(self.choose_data)
        self.data_label = QLabel("No labelled data open")
        self.box_choice = QComboBox()
        for label, box_free in BOX_CHOICES:
            self.box_choice.addItem(label, box_free)
        self.box_choice.setToolTip("True box: each person cropped from their labelled joints, "
                                   "as eval scores. No box: the app finds the person itself, "
                                   "as it does on a camera.")
        self.box_choice.activated.connect(self._score)
        self.stacks_box = QSpinBox()
        self.stacks_box.setRange(1, 1)
        self.stacks_box.setToolTip("How many stacks score the people: the first k, as the "
                                   "main window's stacks control runs them")
        self.stacks_box.valueChanged.connect(self._score)
        self.flip_box = QCheckBox("Flip test")
        self.flip_box.setToolTip("Each person also scored mirrored, the two averaged (as the "
                                 "main window's flip test and eval --flip)")
        self.flip_box.toggled.connect(self._score)
        self.export_button = QPushButton("Export table as CSV…")
        self.export_button.setToolTip("The people listed, in the table's order")
        self.export_button.clicked.connect(self.choose_export)
        top = QHBoxLayout()
        for widget in (open_button, self.data_label, QLabel("Person box:"), self.box_choice,
                       QLabel("Stacks:"), self.stacks_box, self.flip_box, self.export_button):
            top.addWidget(widget, 1 if widget is self.data_label else 0)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.summary = QLabel(wordWrap=True)
        self.chart = PckChart()
        self.people = PeoplePane()
        self.people.joint_filtered.connect(self._select_first)
        self.chart.joint_clicked.connect(self.people.filter_joint)
        self.table = self.people.table
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.person = PersonPanel()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.people)
        split.addWidget(self.person)
        split.setSizes([620, 780])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addLayout(progress_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart)
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self._show_running(False)
        self.show_report(None)

    # -- what to score ------------------------------------------------------------------------
    @Slot()
    def choose_data(self) -> None:
        parent = self.parentWidget() if self.isHidden() else self
        if chosen := ask_labelled_data(parent, self.settings):
            remember_folder(self.settings, Folder.LABELLED, str(chosen))
            self.open_data(chosen)

    def open_data(self, path: str | Path) -> None:
        """Show the window and score ``path`` (an LSP folder, its joints.mat, or a COCO
        file); at once if it was scored before with this model and box."""
        self.data = data_path(path)
        self.data_label.setText(f"<b>{self.data.name}</b> &nbsp; {self.data.parent}")
        self.show()
        self.raise_()
        self.activateWindow()
        self._score()

    @Slot(object)
    def set_model(self, info: ModelInfo) -> None:
        """The main window's model changed (or first loaded, or moved to another device):
        what is open is scored with it, by as many of its stacks as before, or all of them
        when all were scored."""
        self.model = info
        stacks = info.spec.config.stacks
        scored_all = self.stacks_box.value() == self.stacks_box.maximum()
        self.stacks_box.blockSignals(True)  # scored once below, not once per change
        self.stacks_box.setRange(1, stacks)
        if scored_all:
            self.stacks_box.setValue(stacks)
        self.stacks_box.blockSignals(False)
        if self.data is not None:
            self._score()

    @Slot()
    def _score(self) -> None:
        if self.data is None:
            return
        if self.model is None:
            self.summary.setText("Waiting for the main window to load its model…")
            return
        request = ScoreRequest(self.data, ModelChoice.of(self.model), self.scoring())
        busy = self._running or self._shown
        if busy is not None and busy.key == request.key:
            return  # already scoring it, or showing it (the device changed, say)
        if self._running is not None:
            self._running.cancel.set()
        if request.key in self._results:
            self._running = None
            self._show_running(False)
            self._finish(request, self._results[request.key], "earlier (kept)")
            return
        self._running = request
        self._show_running(True)
        self.progress.setRange(0, 0)  # busy until the first count: loading the data
        self.summary.setText(f"Reading {request.data.name}…")
        self.link.send(request)

    def scoring(self) -> Scoring:
        """The way chosen on the bar; all stacks is None, so it names the same report
        whichever model is loaded."""
        stacks = self.stacks_box.value()
        return Scoring(self.box_choice.currentData(),
                       None if stacks == self.stacks_box.maximum() else stacks,
                       self.flip_box.isChecked())

    @Slot()
    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel.set()
            self.cancel_button.setEnabled(False)
            self.summary.setText("Cancelling…")

    def _show_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)

    # -- the worker's answers -----------------------------------------------------------------
    @Slot(object, int, int)
    def _progress(self, request: ScoreRequest, done: int, total: int) -> None:
        if request is self._running and not request.cancel.is_set():
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
            self.summary.setText(f"Scoring {request.data.name}: {done} of {total} people…")

    @Slot(object, object)
    def _scored(self, request: ScoreRequest, report: InspectionReport) -> None:
        self._results[request.key] = report
        if request is self._running:
            self._running = None
            self._show_running(False)
            self._finish(request, report, f"in {time.monotonic() - request.started:.1f} s")

    @Slot(object)
    def _cancelled(self, request: ScoreRequest) -> None:
        if request is self._running:
            self._running = None
            self._show_running(False)
            self._shown = None
            self.show_report(None)
            self.summary.setText("Cancelled: nothing was scored. Choose the data again, or "
                                 "another box, to score it.")

    @Slot(object, str)
    def _failed(self, request: ScoreRequest | PersonRequest, message: str) -> None:
        if isinstance(request, PersonRequest):
            self._person_in_flight = False
            if self._wanted is not None and self._wanted is not request.person:
                self._send_person()  # moved on meanwhile: this one is no longer asked for
                return
            self.person.clear(f"{request.person.name} cannot be shown: {message}")
        elif request is self._running:
            self._running = None
            self._show_running(False)
            self.summary.setText(f"Could not score {request.data.name}: {message}")
        else:
            return
        self._tell(message)

    def _tell(self, message: str) -> None:
        """A warning that nothing waits for, and the failed signal."""
        self.failed.emit(message)
        notify(self, message)

    # -- the report ---------------------------------------------------------------------------
    def _finish(self, request: ScoreRequest, report: InspectionReport, how: str) -> None:
        assert self.model is not None  # nothing is scored before the first model
        self._shown = request
        mode = request.scoring.words(self.model.spec.config.stacks)
        self.summary.setText(
            f"<b>{len(report.people)} people</b> scored {how} ({mode}) with "
            f"{request.model.source.name} on {self.model.where}: PCK@0.2 "
            f"<b>{report.evaluation.mean:.1f} %</b> (last stack)")
        self.show_report(report)

    def show_report(self, report: InspectionReport | None) -> None:
        """The report in the chart and table, worst first, its worst person selected."""
        self.people.set_report(report)
        self.chart.set_evaluation(report.evaluation if report else None)
        self.export_button.setEnabled(bool(report and report.people))
        if report is not None:
            self.person.set_joints(report.joint_names)
        self._select_first()
        self.report_shown.emit(report)

    def shown_report(self) -> InspectionReport | None:
        return self._results.get(self._shown.key) if self._shown else None

    @Slot()
    def _select_first(self) -> None:
        """The worst person of those listed: the default view's answer."""
        if self.people.rows.rowCount():
            before = self.table.currentIndex()
            self.table.selectRow(0)
            self.table.scrollToTop()
            if self.table.currentIndex() == before:  # the same person, maybe a new joint
                self._row_changed()
        else:
            self._wanted = None
            self.person.clear("Nobody to show" if self._shown else "Select a person")
        self.table.setFocus()  # so that the arrow keys step through the people

    # -- one person ---------------------------------------------------------------------------
    def _row_changed(self) -> None:
        row = self.table.selectionModel().currentIndex().row()
        if row < 0 or self._shown is None:
            return
        self._wanted = self.people.rows.person(row)
        picture = self.person.picture()
        if picture is not None and picture.person is self._wanted:
            self._show(picture)  # only the joint followed may change: nothing to compute
        elif not self._person_in_flight:
            self._send_person()

    def _send_person(self) -> None:
        """One person's request at a time: stepping fast through the table asks only for the
        person stopped at, not for every one passed."""
        assert self._wanted is not None and self._shown is not None and self.model
        self._person_in_flight = True
        model = ModelChoice(self._shown.model.source, self.model.choice)
        self.link.send(PersonRequest(self._wanted, model, self._shown.scoring))

    @Slot(object)
    def _person_ready(self, picture: PersonPicture) -> None:
        self._person_in_flight = False
        if self._wanted is None:
            return
        if picture.person is not self._wanted:
            self._send_person()
            return
        self._show(picture)

    def _show(self, picture: PersonPicture) -> None:
        self.person.show_picture(picture, self.joint_to_follow(picture.person))
        self.person_shown.emit(picture)

    def joint_to_follow(self, person: PersonScore) -> str | None:
        """The joint the table is narrowed to, else the person's first missed joint."""
        joint = self.people.rows.joint()
        if joint is not None and joint in person.missed:
            return joint
        return person.missed[0] if person.missed else None

    # -- out of the app -----------------------------------------------------------------------
    @Slot()
    def choose_export(self) -> None:
        if self.data is not None and (path := ask_table_csv(self, self.settings, self.data)):
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the table as it is shown (filtered, in its order); the name always ends .csv,
        which no labelled data does (a joints.mat, a .json, photos), so the input is never
        overwritten."""
        report = self.shown_report()
        if report is None:
            return None
        target = Path(path).with_suffix(".csv")
        try:
            write_table_csv(report, target, self.people.shown())
        except (OSError, OutputError) as error:
            self._tell(f"The table was not saved: {error}")
            return None
        self.statusBar().showMessage(f"Saved {target}", 6000)
        return target

    # -- closing ------------------------------------------------------------------------------
    def stop(self, timeout_ms: int) -> bool:
        """Cancel any scoring and stop the inspector's thread: the main window's close."""
        if self._running is not None:
            self._running.cancel.set()
        return self.link.stop(timeout_ms)
