"""The main window: the video view, the heatmap and refinement docks, and what they show.

The window sends requests to the worker through its link (worker_link.py, which owns the
worker's thread) and draws the reports it gets back; it never touches the model or the source
itself.  Its controls are built in controls.py and its file dialogs in dialogs.py; what it
remembers is settings.py's, what it says on a failure messages.py's and status_line.py's, the
pictures it shows compose.py's, and a snapshot is written by the engine's output module, as
every output is.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from app.engine.frame_run import SourceInfo
from app.engine.models import ModelInfo
from app.engine.output import OutputError, write_snapshot
from app.engine.pipeline import PipelineOptions
from app.engine.search_geometry import PersonChoice
from app.gui.compose import ALL_JOINTS, ViewState, compose_frame
from app.gui.controls import Controls
from app.gui.dialogs import ask_checkpoint, ask_media, ask_recording, ask_snapshot
from app.gui.heatmap_panel import HeatmapPanel
from app.gui.inspector_window import InspectorWindow
from app.gui.messages import Panel, WayOn, failure_notice, no_camera_panel
from app.gui.model_card import show_model_card
from app.gui.refinement_view import RefinementView
from app.gui.settings import (
    LAST_SOURCE,
    Folder,
    load_choices,
    remember_folder,
    restore_layout,
    save_choices,
    save_layout,
)
from app.gui.status_line import figures, notify
from app.gui.video_view import VideoView
from app.gui.worker import Failure, FrameReport, SourceRequest
from app.gui.worker_link import WorkerLink
from app.paths import assets_dir

# Frames larger than this (longest side, pixels) are drawn on a reduced copy for the screen
# (see compose_frame); snapshots are composed at full size.
DISPLAY_MAX_SIDE = 2560


class MainWindow(QMainWindow):
    """Hourglass Pose's window.  ``frame_displayed`` fires once a frame report is on screen
    and ``worker_failed`` with every failure said, the window's own too (for the self-test
    and the tests: the worker hears of a drawn frame through the link)."""

    frame_displayed = Signal(object)  # FrameReport
    worker_failed = Signal(object, str)  # Failure, message

    def __init__(self, checkpoint: str | None = None, device: str = "auto",
                 settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("HourglassPose", "HourglassPose")
        self.setWindowTitle("Hourglass Pose")
        icon_path = assets_dir() / "icon.png"
        if icon_path.is_file():
            self.setWindowIcon(QIcon(str(icon_path)))
        self.model: ModelInfo | None = None
        self.source: SourceInfo | None = None
        self.last_report: FrameReport | None = None
        self.playing = False
        self.recording = False
        self._open_camera_when_found = False
        self._camera_requested = False  # the source asked for last is a camera
        self._closing_when_stopped = False
        self.close_wait_ms = 3000  # closing waits this long for the worker, then says so

        self.video = VideoView()
        self.video.file_dropped.connect(self.open_path)
        self.video.point_chosen.connect(lambda x, y: self.choose_person(PersonChoice(x, y)))
        self.video.area_chosen.connect(
            lambda x, y, w, h: self.choose_person(PersonChoice(x, y, w, h)))
        self.setCentralWidget(self.video)
        self.heatmaps = HeatmapPanel()
        self.heatmaps.joint_selected.connect(self._joint_selected)
        self.heatmap_dock = self._dock("Heatmaps", self.heatmaps, Qt.RightDockWidgetArea)
        self.refinement = RefinementView()
        self.refinement_dock = self._dock("Refinement across stacks", self.refinement,
                                          Qt.BottomDockWidgetArea)
        for dock in (self.heatmap_dock, self.refinement_dock):
            dock.visibilityChanged.connect(self.send_options)

        self.link = WorkerLink(self)
        self.inspector = InspectorWindow(self, self.settings, self.link.worker.model_loaded)
        self.controls = Controls(self)
        # Live figures sit on the right; transient messages use the left of the status bar.
        self.status = QLabel("Loading the model…")
        self.statusBar().addPermanentWidget(self.status)
        restore_layout(self.settings, self, self.heatmap_dock, self.refinement_dock)
        unavailable = self.controls.show_choices(load_choices(self.settings), device)
        if unavailable is not None:  # a device asked for on the command line
            QTimer.singleShot(0, lambda: self._failed(Failure.DEVICE, unavailable))
        self._connect_reports()
        self.link.set_device.emit(self.controls.device_choice)
        self.link.set_loop.emit(self.controls.loop_action.isChecked())
        self.link.load_model.emit(checkpoint or "")
        self.link.start()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect_reports(self) -> None:
        worker = self.link.worker
        worker.frame_ready.connect(self._show_report)
        worker.model_loaded.connect(self._model_loaded)
        worker.source_opened.connect(self._source_opened)
        worker.source_finished.connect(self._source_finished)
        worker.playing_changed.connect(self._playing_changed)
        worker.recording_changed.connect(self._recording_changed)
        worker.failed.connect(self._failed)
        worker.cameras_found.connect(self._cameras_found)
        worker.file_skipped.connect(self._file_skipped)

    def options(self) -> PipelineOptions:
        """The pipeline options the controls describe."""
        needs_heatmaps = (self.heatmap_dock.isVisible() or self.refinement_dock.isVisible()
                          or self.view_state().overlay_joint is not None)
        return PipelineOptions(
            stacks=self.controls.stacks_box.value() if self.model else None,
            flip=self.controls.flip_action.isChecked(),
            smoothing=self.controls.smooth_action.isChecked(),
            keep_heatmaps=needs_heatmaps,
        )

    def view_state(self) -> ViewState:
        return ViewState(threshold=self.controls.threshold_slider.value() / 100,
                         overlay_joint=self.heatmaps.selected_joint())

    @Slot()
    def send_options(self) -> None:
        self.link.set_options.emit(self.options())

    # -- user actions -------------------------------------------------------------------------
    @Slot()
    def choose_file(self) -> None:
        if path := ask_media(self, self.settings):
            self.open_path(path)

    @Slot(str)
    def open_path(self, path: str) -> None:
        remember_folder(self.settings, Folder.MEDIA, path)
        self.settings.setValue(LAST_SOURCE, path)
        self.video.clear_message()
        self._camera_requested = False
        self.link.open_source.emit(SourceRequest(path))

    @Slot()
    def open_camera(self) -> None:
        index = self.controls.camera_box.currentData()
        width, height = self.controls.size_box.currentData()
        self.video.clear_message()
        self.settings.setValue(LAST_SOURCE, str(index))
        self._camera_requested = True
        self.link.open_source.emit(SourceRequest(str(index), (width, height)))

    def start_with_camera(self) -> None:
        """Look for cameras (in the worker); the first one found opens, else say so."""
        self._open_camera_when_found = True
        self.video.show_message("Looking for cameras…", "", [])
        self.link.find_cameras.emit()

    @Slot(list)
    def _cameras_found(self, cameras: list[int]) -> None:
        self.controls.camera_box.clear()
        for index in cameras or [0]:
            self.controls.camera_box.addItem(f"Camera {index}", index)
        if not self._open_camera_when_found:
            return
        self._open_camera_when_found = False
        if cameras:
            self.open_camera()
            return
        self._show_panel(no_camera_panel(self.settings.value(LAST_SOURCE, "")))

    def _show_panel(self, panel: Panel) -> None:
        """A message over the video, its buttons wired to what they offer."""
        last = self.settings.value(LAST_SOURCE, "")
        slots = {
            WayOn.OPEN_FILE: self.choose_file,
            WayOn.REOPEN_LAST: lambda: self.open_path(last),
            WayOn.OPEN_CAMERA: self.open_camera,
            WayOn.LOOK_FOR_CAMERAS: self.start_with_camera,
            WayOn.OPEN_CHECKPOINT: self.choose_checkpoint,
            WayOn.BUILT_IN_MODEL: lambda: self.link.load_model.emit(""),
        }
        self.video.show_message(panel.title, panel.detail,
                                [(label, slots[way_on]) for label, way_on in panel.ways_on])

    def choose_person(self, choice: PersonChoice | None) -> None:
        """Follow the person at ``choice`` (frame pixels), or with None whoever is found."""
        self.link.choose_person.emit(choice)

    @Slot()
    def choose_checkpoint(self) -> None:
        if path := ask_checkpoint(self):
            self.status.setText(f"Loading {path}…")
            self.link.load_model.emit(path)

    @Slot()
    def toggle_playing(self) -> None:
        self.link.set_playing.emit(not self.playing)

    @Slot(bool)
    def toggle_recording(self, on: bool) -> None:
        if on == self.recording:
            return
        if not on:
            self.link.stop_recording.emit()
            return
        if base := ask_recording(self, self.settings):
            self.start_recording(base)
        else:
            self.controls.record_action.setChecked(False)

    def start_recording(self, base: str) -> None:
        base = base.removesuffix(".mp4")
        remember_folder(self.settings, Folder.RECORDINGS, base)
        self.link.start_recording.emit(base)

    @Slot()
    def snapshot(self) -> str | None:
        if self.last_report is None:
            self.statusBar().showMessage("Nothing to save yet", 4000)
            return None
        path = ask_snapshot(self, self.settings)
        return self.save_snapshot(path) if path else None

    def save_snapshot(self, path: str) -> str | None:
        """Write the annotated frame (true orientation) as a PNG; a message if it fails."""
        if self.last_report is None or self.model is None:
            return None
        try:
            write_snapshot(path, self.composed(self.last_report),
                           self.source.path if self.source else None)
        except OutputError as error:
            self._failed(Failure.OUTPUT, f"{error}; the snapshot was not saved")
            return None
        remember_folder(self.settings, Folder.SNAPSHOTS, path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return path

    @Slot()
    def show_model_card(self) -> None:
        if self.model is not None:
            show_model_card(self, self.model)

    @Slot(object)
    def _joint_selected(self, joint: int | None) -> None:
        shown = self.last_report
        if (self.refinement_dock.isVisible() and shown is not None
                and shown.result.heatmaps is not None):
            self._show_refinement(shown.result.heatmaps)
        self.send_options()
        self.view_changed()

    @Slot()
    def toggle_all_joints(self) -> None:
        all_joints = self.heatmaps.selected_joint() == ALL_JOINTS
        self.heatmaps.select_joint(None if all_joints else ALL_JOINTS)

    @Slot()
    def view_changed(self) -> None:
        self.video.set_mirrored(self.controls.mirror_action.isChecked())
        if self.last_report is not None:
            self._draw(self.last_report)

    # -- reports from the worker --------------------------------------------------------------
    @Slot(object)
    def _model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        self.controls.show_model(info)
        self.heatmaps.set_joints(info.spec.skeleton.joint_names)
        self.refinement.clear()
        self.send_options()
        self.statusBar().showMessage(f"Model loaded: {info.source.name} on {info.where}", 5000)
        self._update_status()

    @Slot(object)
    def _source_opened(self, info: SourceInfo) -> None:
        self.source = info
        self.video.clear_message()
        self.controls.mirror_action.setChecked(self.controls.mirror_camera if info.is_live
                                                else False)
        self.setWindowTitle(f"Hourglass Pose — {info.description}")
        self.send_options()

    @Slot()
    def _source_finished(self) -> None:
        self.statusBar().showMessage("End of the file: press Play to watch it again", 5000)

    @Slot(bool)
    def _playing_changed(self, playing: bool) -> None:
        self.playing = playing
        self.controls.play_action.setText("Pause" if playing else "Play")

    @Slot(str)
    def _file_skipped(self, message: str) -> None:
        """A photo of a folder that cannot be read: said in passing, the others play on."""
        self.statusBar().showMessage(message, 6000)

    @Slot(bool, str)
    def _recording_changed(self, recording: bool, message: str) -> None:
        self.recording = recording
        self.controls.record_action.setChecked(recording)
        self.statusBar().showMessage(message, 6000)

    @Slot(object, str)
    def _failed(self, kind: Failure, message: str) -> None:
        self.worker_failed.emit(kind, message)
        notice = failure_notice(kind, message, self._camera_requested,
                                self.model.source.name if self.model else None)
        if isinstance(notice, Panel):
            self._show_panel(notice)
        else:
            notify(self, notice)
        if kind is Failure.DEVICE and self.model is not None:
            self.controls.show_device(self.model.choice)
        self._update_status()

    @Slot(object)
    def _show_report(self, report: FrameReport) -> None:
        try:
            self._show(report)
        finally:
            self.link.acknowledge_report.emit()  # the worker holds back until then

    def _show(self, report: FrameReport) -> None:
        self.last_report = report
        self._draw(report)
        result = report.result
        if result.heatmaps is not None:
            if self.heatmap_dock.isVisible():
                self.heatmaps.update_heatmaps(result.heatmaps[-1], result.confidences)
            if self.refinement_dock.isVisible():
                self._show_refinement(result.heatmaps)
        self._update_status(report)
        self.frame_displayed.emit(report)

    def _show_refinement(self, stack_heatmaps: np.ndarray) -> None:
        assert self.model is not None
        self.refinement.show_joint(stack_heatmaps, self.heatmaps.selected_joint(),
                                   self.model.spec.skeleton.joint_names)

    def composed(self, report: FrameReport, max_side: int | None = None) -> np.ndarray:
        """The frame as shown: full size, or reduced to at most ``max_side`` pixels."""
        assert self.model is not None
        return compose_frame(report.image, report.result, self.model.spec.skeleton,
                             self.model.spec.heatmap_size, self.view_state(), max_side)

    def _draw(self, report: FrameReport) -> None:
        if self.model is not None:
            height, width = report.image.shape[:2]
            self.video.show_frame(self.composed(report, DISPLAY_MAX_SIDE), (width, height))
            result = report.result
            self.video.show_person(result.box.as_xywh(), result.found, result.chosen)
            self.controls.automatic_action.setEnabled(result.chosen)

    def _update_status(self, report: FrameReport | None = None) -> None:
        self.status.setText(figures(report, self.model, self.controls.flip_action.isChecked(),
                                    self.source, self.recording))

    # -- closing ------------------------------------------------------------------------------
    def stop_worker(self, timeout_ms: int = 10000) -> bool:
        """Ask the worker to finish (recordings are closed properly) and wait for its thread;
        the inspector's thread too (every thread must end before the window goes)."""
        inspector_stopped = self.inspector.stop(timeout_ms)
        return self.link.stop(timeout_ms) and inspector_stopped

    def closeEvent(self, event: QCloseEvent) -> None:
        save_layout(self.settings, self)
        live = self.source is not None and self.source.is_live
        save_choices(self.settings, self.controls.choices(live))
        if self.stop_worker(self.close_wait_ms):
            event.accept()
            return
        # The worker is still busy (a model loading from a slow disk) and stops as soon as it
        # is done.  Destroying its running thread would abort the app, so the window says so
        # and closes by itself when the thread has finished.
        event.ignore()
        if not self._closing_when_stopped:
            self._closing_when_stopped = True
            self.video.show_message(
                "Closing…", "Hourglass Pose closes as soon as the model has finished what it "
                "is doing (loading a checkpoint can take a while).", [])
            self.link.worker_thread.finished.connect(self.close, Qt.QueuedConnection)
