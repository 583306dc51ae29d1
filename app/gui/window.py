"""The main window: the video view, the heatmap and refinement docks, controls and status.

The window owns the worker thread.  It sends requests to the worker by signal and draws the
reports it gets back; it never touches the model or the source itself.  What it remembers is
settings.py's, what it says on a failure messages.py's, the pictures it shows compose.py's,
and a snapshot is written by the engine's output module, as every output is.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QSettings, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSpinBox,
    QToolBar,
    QWidget,
)

from app.engine.image_files import IMAGE_EXTENSIONS
from app.engine.output import OutputError, write_snapshot
from app.engine.pipeline import PipelineOptions
from app.engine.search_geometry import PersonChoice
from app.gui.compose import ALL_JOINTS, ViewState, compose_frame, stack_maps
from app.gui.heatmap_panel import HeatmapPanel
from app.gui.messages import Panel, WayOn, failure_notice, no_camera_panel
from app.gui.model_card import model_card_html
from app.gui.refinement_view import RefinementView
from app.gui.settings import (
    LAST_SOURCE,
    Choices,
    Folder,
    folder,
    load_choices,
    remember_folder,
    restore_layout,
    save_choices,
    save_layout,
)
from app.gui.video_view import VideoView
from app.gui.worker import (
    Failure,
    FrameReport,
    ModelInfo,
    PoseWorker,
    SourceInfo,
    SourceRequest,
)
from app.model.devices import device_choices
from app.paths import assets_dir

# Videos are whatever OpenCV's FFmpeg opens; these are the common ones offered by the dialog.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
MEDIA_FILTER = ("Media (" + " ".join(f"*{ext}" for ext in (*VIDEO_EXTENSIONS,
                                                            *sorted(IMAGE_EXTENSIONS)))
                + ");;All files (*)")
CHECKPOINT_FILTER = "Checkpoints (*.safetensors *.pt *.pth *.tar);;All files (*)"
CAPTURE_SIZES = ((640, 480), (1280, 720), (1920, 1080))
# Frames larger than this (longest side, pixels) are drawn on a reduced copy for the screen
# (see compose_frame); snapshots are composed at full size.
DISPLAY_MAX_SIDE = 2560


class MainWindow(QMainWindow):
    """Hourglass Pose's window; ``frame_shown`` fires after each report is drawn."""

    # Requests to the worker (queued: they run in the worker's thread).
    request_source = Signal(object)  # SourceRequest
    request_options = Signal(object)
    request_model = Signal(str)
    request_device = Signal(str)
    request_playing = Signal(bool)
    request_step = Signal()
    request_loop = Signal(bool)
    request_recording = Signal(str)
    request_stop_recording = Signal()
    request_shutdown = Signal()
    request_cameras = Signal()
    request_person = Signal(object)  # PersonChoice, or None: follow whoever is found
    report_shown = Signal()

    frame_shown = Signal(object)  # FrameReport
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
            dock.visibilityChanged.connect(self._send_options)

        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        # Live figures sit on the right; transient messages use the left of the status bar.
        self.status = QLabel("Loading the model…")
        self.statusBar().addPermanentWidget(self.status)
        self._restore_settings(device)
        self._start_worker(checkpoint, self.device_box.currentData())

    # -- construction -------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None,
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self.choose_file,
                                        QKeySequence.Open, tip="Open a video, image or folder")
        self.camera_action = self._action("&Camera", self.open_camera, "Ctrl+K",
                                          tip="Use the camera chosen in the toolbar")
        self.checkpoint_action = self._action("Open chec&kpoint…", self.choose_checkpoint,
                                              "Ctrl+Shift+O", tip="Load another model")
        self.play_action = self._action("Play", self.toggle_playing, Qt.Key_Space,
                                        tip="Play or pause")
        self.step_action = self._action("Step", self.request_step.emit, Qt.Key_Period,
                                        tip="One frame forward (paused files)")
        self.loop_action = self._action("Loop", self.request_loop.emit, "Ctrl+L", True,
                                        tip="Loop videos and images")
        self.mirror_action = self._action("Mirror", self._view_changed, "M", True,
                                          tip="Show the picture mirrored (display only)")
        self.flip_action = self._action("Flip test", self._send_options, "F", True,
                                        tip="Average with the mirrored input (about 2x slower)")
        self.smooth_action = self._action("Smoothing", self._send_options, "S", True,
                                          tip="One Euro filter on the joints over time")
        self.snapshot_action = self._action("Snapshot", self.snapshot, "Ctrl+S",
                                            tip="Save the annotated frame as PNG")
        self.record_action = self._action("Record", self.toggle_recording, "Ctrl+R", True,
                                          tip="Record annotated MP4 and keypoints (JSON lines)")
        self.all_joints_action = self._action("All joints", self._toggle_all_joints,
                                              "A", tip="Overlay every joint's heatmap on the video")
        self.automatic_action = self._action(
            "Automatic", lambda _checked=False: self.choose_person(None), Qt.Key_Escape,
            tip="Stop following the person you chose (click a person, or drag a box, to "
                "choose one)")
        self.automatic_action.setEnabled(False)
        self.about_model_action = self._action("About the &model", self.show_model_card,
                                               "F1", tip="What the loaded model is, how good")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.Quit)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Controls", self)
        bar.setObjectName("controls")
        self.addToolBar(bar)
        bar.addAction(self.open_action)
        self.camera_box = QComboBox()
        self.camera_box.setToolTip("Camera")
        self.camera_box.addItem("Camera 0", 0)
        bar.addWidget(self.camera_box)
        self.size_box = QComboBox()
        self.size_box.setToolTip("Capture resolution")
        for width, height in CAPTURE_SIZES:
            self.size_box.addItem(f"{width}x{height}", (width, height))
        bar.addWidget(self.size_box)
        bar.addAction(self.camera_action)
        bar.addSeparator()
        for action in (self.play_action, self.step_action, self.loop_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Stacks "))
        self.stacks_box = QSpinBox()
        self.stacks_box.setRange(1, 1)
        self.stacks_box.setToolTip("How many stacks run: fewer is faster (keys 1-9)")
        self.stacks_box.valueChanged.connect(self._stacks_chosen)
        bar.addWidget(self.stacks_box)
        bar.addWidget(QLabel(" Threshold "))
        self.threshold_slider = QSlider(Qt.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(Choices().threshold)
        self.threshold_slider.setFixedWidth(90)
        self.threshold_slider.setToolTip("Joints below this confidence are hidden")
        self.threshold_slider.valueChanged.connect(self._view_changed)
        bar.addWidget(self.threshold_slider)
        bar.addSeparator()
        for action in (self.mirror_action, self.flip_action, self.smooth_action,
                       self.all_joints_action, self.automatic_action):
            bar.addAction(action)
        self.device_box = QComboBox()
        self.device_box.setToolTip("Where the network runs")
        bar.addWidget(self.device_box)
        self.device_box.activated.connect(self._device_chosen)
        bar.addSeparator()
        bar.addAction(self.snapshot_action)
        bar.addAction(self.record_action)
        for digit in range(1, 10):  # keys 1-9 choose the stack count
            self.addAction(self._action(f"Run {digit} stacks",
                                        lambda _=False, k=digit: self.stacks_box.setValue(k),
                                        str(digit)))

    def _build_menus(self) -> None:
        menus = {
            "&File": (self.open_action, self.camera_action, self.checkpoint_action, None,
                      self.snapshot_action, self.record_action, None, self.quit_action),
            "&Playback": (self.play_action, self.step_action, self.loop_action),
            "&View": (self.mirror_action, self.all_joints_action, self.automatic_action,
                      self.heatmap_dock.toggleViewAction(),
                      self.refinement_dock.toggleViewAction()),
            "&Model": (self.flip_action, self.smooth_action, self.checkpoint_action, None,
                       self.about_model_action),
        }
        for title, actions in menus.items():
            menu = self.menuBar().addMenu(title)
            for action in actions:  # None: a separator
                menu.addAction(action) if action else menu.addSeparator()

    # -- settings -----------------------------------------------------------------------------
    def _restore_settings(self, device: str) -> None:
        restore_layout(self.settings, self, self.heatmap_dock, self.refinement_dock)
        choices = load_choices(self.settings)
        self.loop_action.setChecked(choices.loop)
        self.flip_action.setChecked(choices.flip)
        self.smooth_action.setChecked(choices.smoothing)
        self.threshold_slider.setValue(choices.threshold)
        self._wanted_stacks = choices.stacks
        self._mirror_setting = choices.mirror_camera
        for choice, label in device_choices().items():
            self.device_box.addItem(label, choice)
        chosen = device if device != "auto" else choices.device
        index = self.device_box.findData(chosen)
        if chosen == "auto" or index < 0:
            index = self.device_box.count() - 1  # CUDA where present, else the faster CPU
        self.device_box.setCurrentIndex(index)
        # The user's choice, kept in the settings even while a fault (CUDA out of memory)
        # has the model running elsewhere.
        self._device_choice = self.device_box.currentData()
        if device not in ("auto", self._device_choice):  # asked for on the command line
            message = (f"{device.upper()} was asked for, but PyTorch sees no such device here: "
                       f"running on the {self._device_choice.upper()}")
            QTimer.singleShot(0, lambda: self._failed(Failure.DEVICE, message))

    def _save_settings(self) -> None:
        save_layout(self.settings, self)
        live = self.source is not None and self.source.is_live
        save_choices(self.settings, Choices(
            loop=self.loop_action.isChecked(), flip=self.flip_action.isChecked(),
            smoothing=self.smooth_action.isChecked(), threshold=self.threshold_slider.value(),
            stacks=self.stacks_box.value(),
            mirror_camera=self.mirror_action.isChecked() if live else self._mirror_setting,
            device=self._device_choice))

    # -- the worker ---------------------------------------------------------------------------
    def _start_worker(self, checkpoint: str | None, device: str) -> None:
        self.thread_ = QThread(self)
        self.thread_.setObjectName("pose-worker")
        self.worker = PoseWorker(checkpoint, device)
        self.worker.moveToThread(self.thread_)
        self.thread_.started.connect(self.worker.start)
        for signal, slot in (
            (self.request_source, self.worker.open_source),
            (self.request_options, self.worker.set_options),
            (self.request_model, self.worker.load_model),
            (self.request_device, self.worker.set_device),
            (self.request_playing, self.worker.set_playing),
            (self.request_step, self.worker.step),
            (self.request_loop, self.worker.set_loop),
            (self.request_recording, self.worker.start_recording),
            (self.request_stop_recording, self.worker.stop_recording),
            (self.request_shutdown, self.worker.shutdown),
            (self.request_cameras, self.worker.find_cameras),
            (self.request_person, self.worker.choose_person),
            (self.report_shown, self.worker.report_shown),
        ):
            signal.connect(slot)
        self.worker.frame_ready.connect(self._show_report)
        self.worker.model_loaded.connect(self._model_loaded)
        self.worker.source_opened.connect(self._source_opened)
        self.worker.source_finished.connect(self._source_finished)
        self.worker.playing_changed.connect(self._playing_changed)
        self.worker.recording_changed.connect(self._recording_changed)
        self.worker.failed.connect(self._failed)
        self.worker.cameras_found.connect(self._cameras_found)
        self.worker.file_skipped.connect(self._file_skipped)
        # Direct: the GUI thread may be blocked in wait() for exactly this quit.
        self.worker.shut_down.connect(self.thread_.quit, Qt.DirectConnection)
        self.request_loop.emit(self.loop_action.isChecked())
        self.thread_.start()

    def options(self) -> PipelineOptions:
        """The pipeline options the controls describe."""
        needs_heatmaps = (self.heatmap_dock.isVisible() or self.refinement_dock.isVisible()
                          or self.view_state().overlay_joint is not None)
        return PipelineOptions(
            stacks=self.stacks_box.value() if self.model else None,
            flip=self.flip_action.isChecked(),
            smoothing=self.smooth_action.isChecked(),
            keep_heatmaps=needs_heatmaps,
        )

    def view_state(self) -> ViewState:
        return ViewState(threshold=self.threshold_slider.value() / 100,
                         overlay_joint=self.heatmaps.selected_joint())

    @Slot(int)
    def _stacks_chosen(self, stacks: int) -> None:
        self._wanted_stacks = stacks
        self._send_options()

    @Slot()
    def _send_options(self) -> None:
        self.request_options.emit(self.options())

    @Slot()
    def _device_chosen(self) -> None:
        self._device_choice = self.device_box.currentData()
        self.request_device.emit(self._device_choice)

    def _show_model_device(self) -> None:
        """The device box says where the model runs, also after a fault moved it."""
        if self.model is not None:
            index = self.device_box.findData(self.model.choice)
            if index >= 0:
                self.device_box.setCurrentIndex(index)

    # -- user actions -------------------------------------------------------------------------
    @Slot()
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video or image",
                                              folder(self.settings, Folder.MEDIA), MEDIA_FILTER)
        if path:
            self.open_path(path)

    @Slot(str)
    def open_path(self, path: str) -> None:
        remember_folder(self.settings, Folder.MEDIA, path)
        self.settings.setValue(LAST_SOURCE, path)
        self.video.clear_message()
        self._camera_requested = False
        self.request_source.emit(SourceRequest(path))

    @Slot()
    def open_camera(self) -> None:
        index = self.camera_box.currentData()
        width, height = self.size_box.currentData()
        self.video.clear_message()
        self.settings.setValue(LAST_SOURCE, str(index))
        self._camera_requested = True
        self.request_source.emit(SourceRequest(str(index), (width, height)))

    def start_with_camera(self) -> None:
        """Look for cameras (in the worker); the first one found opens, else say so."""
        self._open_camera_when_found = True
        self.video.show_message("Looking for cameras…", "", [])
        self.request_cameras.emit()

    @Slot(list)
    def _cameras_found(self, cameras: list[int]) -> None:
        self.camera_box.clear()
        for index in cameras or [0]:
            self.camera_box.addItem(f"Camera {index}", index)
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
            WayOn.BUILT_IN_MODEL: lambda: self.request_model.emit(""),
        }
        self.video.show_message(panel.title, panel.detail,
                                [(label, slots[way_on]) for label, way_on in panel.ways_on])

    def choose_person(self, choice: PersonChoice | None) -> None:
        """Follow the person at ``choice`` (frame pixels), or with None whoever is found."""
        self.request_person.emit(choice)

    @Slot()
    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.status.setText(f"Loading {path}…")
            self.request_model.emit(path)

    @Slot()
    def toggle_playing(self) -> None:
        self.request_playing.emit(not self.playing)

    @Slot(bool)
    def toggle_recording(self, on: bool) -> None:
        if on == self.recording:
            return
        if not on:
            self.request_stop_recording.emit()
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        start = folder(self.settings, Folder.RECORDINGS)
        base, _ = QFileDialog.getSaveFileName(self, "Record to", f"{start}/pose-{stamp}",
                                              "Recording (*.mp4)")
        if not base:
            self.record_action.setChecked(False)
            return
        self.start_recording(base)

    def start_recording(self, base: str) -> None:
        base = base.removesuffix(".mp4")
        remember_folder(self.settings, Folder.RECORDINGS, base)
        self.request_recording.emit(base)

    @Slot()
    def snapshot(self) -> str | None:
        if self.last_report is None:
            self.statusBar().showMessage("Nothing to save yet", 4000)
            return None
        start = folder(self.settings, Folder.SNAPSHOTS)
        path, _ = QFileDialog.getSaveFileName(
            self, "Save snapshot", f"{start}/pose-{time.strftime('%Y%m%d-%H%M%S')}.png",
            "PNG (*.png)")
        if path:
            return self.save_snapshot(path)
        return None

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
        if self.model is None:
            return
        box = QMessageBox(self)
        box.setWindowTitle("About the model")
        box.setTextFormat(Qt.RichText)
        box.setText(model_card_html(self.model))
        box.exec()

    @Slot(object)
    def _joint_selected(self, joint: int | None) -> None:
        shown = self.last_report
        if (self.refinement_dock.isVisible() and shown is not None
                and shown.result.heatmaps is not None):
            self._show_refinement(shown.result.heatmaps)
        self._send_options()
        self._view_changed()

    @Slot()
    def _toggle_all_joints(self) -> None:
        all_joints = self.heatmaps.selected_joint() == ALL_JOINTS
        self.heatmaps.select_joint(None if all_joints else ALL_JOINTS)

    @Slot()
    def _view_changed(self) -> None:
        self.video.set_mirrored(self.mirror_action.isChecked())
        if self.last_report is not None:
            self._draw(self.last_report)

    # -- reports from the worker --------------------------------------------------------------
    @Slot(object)
    def _model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        stacks = info.spec.config.stacks
        self.stacks_box.blockSignals(True)
        self.stacks_box.setRange(1, stacks)
        self.stacks_box.setValue(min(self._wanted_stacks, stacks) if self._wanted_stacks
                                 else stacks)
        self.stacks_box.blockSignals(False)
        self.heatmaps.set_joints(info.spec.skeleton.joint_names)
        self.refinement.clear()
        self._show_model_device()
        self._send_options()
        self.statusBar().showMessage(f"Model loaded: {info.source.name} on {info.where}", 5000)
        self._update_status()

    @Slot(object)
    def _source_opened(self, info: SourceInfo) -> None:
        self.source = info
        self.video.clear_message()
        self.mirror_action.setChecked(self._mirror_setting if info.is_live else False)
        self.setWindowTitle(f"Hourglass Pose — {info.description}")
        self._send_options()

    @Slot()
    def _source_finished(self) -> None:
        self.statusBar().showMessage("End of the file: press Play to watch it again", 5000)

    @Slot(bool)
    def _playing_changed(self, playing: bool) -> None:
        self.playing = playing
        self.play_action.setText("Pause" if playing else "Play")

    @Slot(str)
    def _file_skipped(self, message: str) -> None:
        """A photo of a folder that cannot be read: said in passing, the others play on."""
        self.statusBar().showMessage(message, 6000)

    @Slot(bool, str)
    def _recording_changed(self, recording: bool, message: str) -> None:
        self.recording = recording
        self.record_action.setChecked(recording)
        self.statusBar().showMessage(message, 6000)

    @Slot(object, str)
    def _failed(self, kind: Failure, message: str) -> None:
        self.worker_failed.emit(kind, message)
        notice = failure_notice(kind, message, self._camera_requested,
                                self.model.source.name if self.model else None)
        if isinstance(notice, Panel):
            self._show_panel(notice)
        else:
            self.notify(notice)
        if kind is Failure.DEVICE:
            self._show_model_device()
        self._update_status()

    def notify(self, message: str) -> None:
        """A warning that does not block: the video keeps running behind it."""
        box = QMessageBox(QMessageBox.Warning, "Hourglass Pose", message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.statusBar().showMessage(message, 8000)

    @Slot(object)
    def _show_report(self, report: FrameReport) -> None:
        try:
            self._show(report)
        finally:
            self.report_shown.emit()  # the worker sends the next frame only after this

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
        self.frame_shown.emit(report)

    def _show_refinement(self, stack_heatmaps: np.ndarray) -> None:
        """The chosen joint through the (K, J, H, W) stacks; with no single joint chosen, all
        joints combined, so that the view shows what each stack adds from the first frame."""
        joint = self.heatmaps.selected_joint()
        if joint is None or joint == ALL_JOINTS:
            title = "All joints (click a joint's tile to follow it alone)"
            joint = ALL_JOINTS
        else:
            title = self.model.spec.skeleton.joint_names[joint]
        self.refinement.update_stacks(title, *stack_maps(stack_heatmaps, joint))

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
            self.automatic_action.setEnabled(result.chosen)

    def _update_status(self, report: FrameReport | None = None) -> None:
        parts = []
        if report is not None:
            timings = report.result.timings_ms
            parts += [f"{report.fps:5.1f} frames/s", f"model {timings['model']:5.1f} ms",
                      f"{report.result.stacks} stack{'s' * (report.result.stacks > 1)}"]
            if report.dropped:
                parts.append(f"{report.dropped} frames dropped")
        if self.model is not None:
            parts += [self.model.where, self.model.precision]
            if self.flip_action.isChecked():
                parts.append("flip test")
        if self.source is not None:
            parts.append(self.source.description)
        if self.recording:
            parts.append("● REC")
        self.status.setText("   ·   ".join(parts) if parts else
                            "Ready" if self.model is not None else "No model loaded")

    # -- closing ------------------------------------------------------------------------------
    def stop_worker(self, timeout_ms: int = 10000) -> bool:
        """Ask the worker to finish (recordings are closed properly) and wait for its thread."""
        if not self.thread_.isRunning():
            return True
        self.request_shutdown.emit()
        return self.thread_.wait(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
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
            self.thread_.finished.connect(self.close, Qt.QueuedConnection)

