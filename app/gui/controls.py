"""The window's controls: its actions and their keys, the toolbar, the menus, and the user's
choices they stand for (settings.Choices), shown at start and read back at close.

Built here so that window.py is about what the controls do: each one is connected to the
window's slot for it (Step and Loop straight to the worker's link), and nothing here acts by
itself.  Three choices are the user's even when
the controls show something else, so they are kept beside the controls: the stack count asked
for (a smaller model shows fewer), where the model should run (a fault can move it to the
CPU), and whether a camera is mirrored (files never are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QSpinBox, QToolBar

from app.engine.models import ModelInfo, device_choices
from app.gui.settings import Choices

if TYPE_CHECKING:
    from app.gui.window import MainWindow

CAPTURE_SIZES = ((640, 480), (1280, 720), (1920, 1080))


class Controls:
    """The actions and toolbar widgets of ``window``, and its menus."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._build_actions(window)
        self._build_toolbar(window)
        self._build_menus(window)
        self.wanted_stacks = Choices().stacks
        self.mirror_camera = Choices().mirror_camera
        self.device_choice = "auto"
        self.stacks_box.valueChanged.connect(self._stacks_chosen)
        self.device_box.activated.connect(self._device_chosen)

    def _action(self, text: str, slot: Callable, shortcut: str | QKeySequence | None = None,
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self._window)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def _build_actions(self, window: MainWindow) -> None:
        self.open_action = self._action("&Open…", window.choose_file,
                                        QKeySequence.Open, tip="Open a video, image or folder")
        self.camera_action = self._action("&Camera", window.open_camera, "Ctrl+K",
                                          tip="Use the camera chosen in the toolbar")
        self.checkpoint_action = self._action("Open chec&kpoint…", window.choose_checkpoint,
                                              "Ctrl+Shift+O", tip="Load another model")
        self.labelled_action = self._action(
            "Open &labelled data…", window.inspector.choose_data, "Ctrl+Shift+L",
            tip="Score labelled people (an LSP folder or a COCO keypoints file) and see "
                "where the model is wrong")
        self.play_action = self._action("Play", window.toggle_playing, Qt.Key_Space,
                                        tip="Play or pause")
        self.step_action = self._action("Step", window.link.step, Qt.Key_Period,
                                        tip="One frame forward (paused files)")
        self.loop_action = self._action("Loop", window.link.set_loop, "Ctrl+L", True,
                                        tip="Loop videos and images")
        self.mirror_action = self._action("Mirror", window.view_changed, "M", True,
                                          tip="Show the picture mirrored (display only)")
        self.flip_action = self._action("Flip test", window.send_options, "F", True,
                                        tip="Average with the mirrored input (about 2x slower)")
        self.smooth_action = self._action("Smoothing", window.send_options, "S", True,
                                          tip="One Euro filter on the joints over time")
        self.snapshot_action = self._action("Snapshot", window.snapshot, "Ctrl+S",
                                            tip="Save the annotated frame as PNG")
        self.record_action = self._action("Record", window.toggle_recording, "Ctrl+R", True,
                                          tip="Record annotated MP4 and keypoints (JSON lines)")
        self.all_joints_action = self._action("All joints", window.toggle_all_joints,
                                              "A", tip="Overlay every joint's heatmap on the video")
        self.automatic_action = self._action(
            "Automatic", lambda _checked=False: window.choose_person(None), Qt.Key_Escape,
            tip="Stop following the person you chose (click a person, or drag a box, to "
                "choose one)")
        self.automatic_action.setEnabled(False)
        self.about_model_action = self._action("About the &model", window.show_model_card,
                                               "F1", tip="What the loaded model is, how good")
        self.quit_action = self._action("&Quit", window.close, QKeySequence.Quit)

    def _build_toolbar(self, window: MainWindow) -> None:
        bar = QToolBar("Controls", window)
        bar.setObjectName("controls")
        window.addToolBar(bar)
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
        bar.addWidget(self.stacks_box)
        bar.addWidget(QLabel(" Threshold "))
        self.threshold_slider = QSlider(Qt.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(Choices().threshold)
        self.threshold_slider.setFixedWidth(90)
        self.threshold_slider.setToolTip("Joints below this confidence are hidden")
        self.threshold_slider.valueChanged.connect(window.view_changed)
        bar.addWidget(self.threshold_slider)
        bar.addSeparator()
        for action in (self.mirror_action, self.flip_action, self.smooth_action,
                       self.all_joints_action, self.automatic_action):
            bar.addAction(action)
        self.device_box = QComboBox()
        self.device_box.setToolTip("Where the network runs")
        bar.addWidget(self.device_box)
        bar.addSeparator()
        bar.addAction(self.snapshot_action)
        bar.addAction(self.record_action)
        for digit in range(1, 10):  # keys 1-9 choose the stack count
            window.addAction(self._action(f"Run {digit} stacks",
                                          lambda _=False, k=digit: self.stacks_box.setValue(k),
                                          str(digit)))

    def _build_menus(self, window: MainWindow) -> None:
        menus = {
            "&File": (self.open_action, self.camera_action, self.checkpoint_action,
                      self.labelled_action, None,
                      self.snapshot_action, self.record_action, None, self.quit_action),
            "&Playback": (self.play_action, self.step_action, self.loop_action),
            "&View": (self.mirror_action, self.all_joints_action, self.automatic_action,
                      window.heatmap_dock.toggleViewAction(),
                      window.refinement_dock.toggleViewAction()),
            "&Model": (self.flip_action, self.smooth_action, self.checkpoint_action, None,
                       self.about_model_action),
        }
        for title, actions in menus.items():
            menu = window.menuBar().addMenu(title)
            for action in actions:  # None: a separator
                menu.addAction(action) if action else menu.addSeparator()

    # -- the user's choices -------------------------------------------------------------------
    def show_choices(self, choices: Choices, device: str) -> str | None:
        """The controls as the user left them, on the device asked for on the command line
        (``auto``: the one chosen last); a message when that device is not here."""
        self.loop_action.setChecked(choices.loop)
        self.flip_action.setChecked(choices.flip)
        self.smooth_action.setChecked(choices.smoothing)
        self.threshold_slider.setValue(choices.threshold)
        self.wanted_stacks = choices.stacks
        self.mirror_camera = choices.mirror_camera
        for choice, label in device_choices().items():
            self.device_box.addItem(label, choice)
        chosen = device if device != "auto" else choices.device
        index = self.device_box.findData(chosen)
        if chosen == "auto" or index < 0:
            index = self.device_box.count() - 1  # CUDA where present, else the faster CPU
        self.device_box.setCurrentIndex(index)
        self.device_choice = self.device_box.currentData()
        if device in ("auto", self.device_choice):
            return None
        return (f"{device.upper()} was asked for, but PyTorch sees no such device here: "
                f"running on the {self.device_choice.upper()}")

    def choices(self, live: bool) -> Choices:
        """What to remember; the mirror is a camera's, so it is read only while one is
        ``live``."""
        return Choices(
            loop=self.loop_action.isChecked(), flip=self.flip_action.isChecked(),
            smoothing=self.smooth_action.isChecked(), threshold=self.threshold_slider.value(),
            stacks=self.stacks_box.value(),
            mirror_camera=self.mirror_action.isChecked() if live else self.mirror_camera,
            device=self.device_choice)

    def show_model(self, info: ModelInfo) -> None:
        """The stack count the user wants, as far as this model has stacks (without a word
        to the worker: the window sends its options next), and where the model runs."""
        stacks = info.spec.config.stacks
        self.stacks_box.blockSignals(True)
        self.stacks_box.setRange(1, stacks)
        self.stacks_box.setValue(min(self.wanted_stacks, stacks) if self.wanted_stacks
                                 else stacks)
        self.stacks_box.blockSignals(False)
        self.show_device(info.choice)

    def show_device(self, choice: str) -> None:
        """The device box says where the model runs, also after a fault moved it."""
        index = self.device_box.findData(choice)
        if index >= 0:
            self.device_box.setCurrentIndex(index)

    def _stacks_chosen(self, stacks: int) -> None:
        self.wanted_stacks = stacks
        self._window.send_options()

    def _device_chosen(self) -> None:
        self.device_choice = self.device_box.currentData()
        self._window.link.set_device.emit(self.device_choice)
