"""Starting the desktop app, and its self-test (the whole pipeline through the real window)."""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app import __version__
from app.gui.worker import FrameReport, SourceRequest

if TYPE_CHECKING:
    from app.engine.inspection import InspectionReport
    from app.gui.inspector_window import InspectorWindow
    from app.gui.inspector_worker import PersonPicture
    from app.gui.window import MainWindow


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("HourglassPose")
    QCoreApplication.setApplicationName("HourglassPose")
    QCoreApplication.setApplicationVersion(__version__)
    app.setDesktopFileName("hourglass-pose")  # Wayland docks match assets/*.desktop's icon
    return app


def run_app(checkpoint: str | None = None, device: str = "auto", source: str | None = None,
            inspect: str | None = None) -> int:
    """The app as users launch it: the last source (or the camera), else a friendly prompt;
    with ``inspect``, the inspector on that labelled data beside it."""
    from app.gui.window import MainWindow

    app = make_application()
    window = MainWindow(checkpoint, device)
    window.show()
    if source is not None:
        window.open_path(source)
    else:
        window.start_with_camera()
    if inspect is not None:
        window.inspector.open_data(inspect)
    stop = CloseOnSignals(window)
    code = app.exec()
    stop.restore()
    if stop.received is None:
        return code
    how = "interrupted" if stop.received == signal.SIGINT else "terminated"
    print(f"hourglass-pose: {how}: the window was closed as by its close button", file=sys.stderr)
    return 128 + stop.received


class CloseOnSignals:
    """Ctrl-C in the terminal that started the app, and SIGTERM (a logout, ``kill``), close
    the window as its close button does, so a recording is finished and saved.

    Qt's event loop runs no Python of its own accord, so a timer lets Python see the signal.
    """

    def __init__(self, window: QWidget, poll_ms: int = 200) -> None:
        self.received: int | None = None
        self._window = window
        self._previous = {number: signal.signal(number, self._received)
                          for number in (signal.SIGINT, signal.SIGTERM)}
        self._timer = QTimer(window)
        self._timer.timeout.connect(lambda: None)
        self._timer.start(poll_ms)

    def _received(self, number: int, _frame: object) -> None:
        self.received = number
        self._window.close()

    def restore(self) -> None:
        self._timer.stop()
        for number, handler in self._previous.items():
            signal.signal(number, handler)


@dataclass
class SelfTestResult:
    frames: int = 0
    heatmap_frames: int = 0
    failure: str | None = None
    started: float = field(default_factory=time.monotonic)
    first_frame: float | None = None


def run_self_test(media: str | None, checkpoint: str | None = None, device: str = "auto",
                  frames: int = 20, timeout_s: float = 120.0, screenshot: str | None = None,
                  joint: int | None = None) -> int:
    """Open the real window, run ``frames`` frames through the worker, check and report.

    Without ``media`` the camera is used if one opens, else frames the app draws itself.
    ``screenshot`` saves the window as it was at the end (with ``joint`` chosen in the
    heatmap panel, to show its overlay and refinement).
    """
    window = self_test_window(checkpoint, device)
    # A loop of its own, not the application's: quitting it leaves the application able to run
    # on (a test suite, or a caller that goes on to open the app).
    loop = QEventLoop()
    state = SelfTestResult()
    source = self_test_source(media)

    def on_frame(report: FrameReport) -> None:
        if state.first_frame is None:
            state.first_frame = time.monotonic()
            if joint is not None:
                window.heatmaps.select_joint(joint)
        state.frames += 1
        result = report.result
        if result.heatmaps is not None and window.heatmaps.tile(0).pixmap() is not None:
            state.heatmap_frames += 1
        if not (len(result.keypoints) and np.isfinite(result.keypoints).all()):
            state.failure = "a frame came back without a skeleton"
        if state.frames >= frames or state.failure:
            loop.quit()

    def on_failure(kind: str, message: str) -> None:
        state.failure = f"{kind}: {message}"
        loop.quit()

    def give_up() -> None:
        state.failure = f"timed out after {timeout_s:.0f} s with {state.frames} frames"
        loop.quit()

    window.frame_displayed.connect(on_frame)
    window.worker_failed.connect(on_failure)
    skipped: list[str] = []  # photos of a folder that cannot be read: said, not a failure
    window.link.worker.file_skipped.connect(skipped.append)
    QTimer.singleShot(int(timeout_s * 1000), give_up)
    QTimer.singleShot(0, lambda: window.link.open_source.emit(SourceRequest(source)))
    loop.exec()
    if screenshot and not window.grab().save(screenshot):
        state.failure = state.failure or f"could not save the screenshot {screenshot}"
    stacks = window.last_report.result.stacks if window.last_report else 0
    device_name = (f"{window.model.where} {window.model.precision}" if window.model
                   else "no model")
    window.close()
    # A frame in hand (a person search on a busy machine) can outlast the close's own wait;
    # returning with the worker's thread still running would abort the process.
    if not window.stop_worker(60_000):
        state.failure = state.failure or "the pose worker did not stop within a minute"
    if state.failure is None and state.heatmap_frames == 0:
        state.failure = "no heatmaps reached the heatmap panel"
    for message in skipped:
        print(f"self-test: {message}")
    if state.failure:
        print(f"self-test FAILED: {state.failure}")
        return 1
    seconds = time.monotonic() - (state.first_frame or state.started)
    rate = (state.frames - 1) / seconds if seconds > 0 else 0.0
    print(f"self-test passed: {state.frames} frames, {rate:.1f} frames/s, {stacks} stacks, "
          f"{device_name}, on {window.source.description if window.source else source}")
    return 0


class PauseMeter:
    """The longest the GUI thread went without running a timer meant for every ``tick_ms``:
    how long a user would have found the window frozen."""

    def __init__(self, parent: QWidget, tick_ms: int = 20) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._timer = QTimer(parent)
        self._timer.timeout.connect(self._tick)
        self._timer.start(tick_ms)

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> None:
        self._timer.stop()


def run_inspector_self_test(data: str, checkpoint: str | None = None, device: str = "auto",
                            timeout_s: float = 600.0, screenshot: str | None = None) -> int:
    """Open the real window and its inspector on ``data``, score it, and check that the worst
    person comes up first with their drawing, heatmaps and refinement on screen, the window
    never frozen on the way.  ``screenshot`` saves the inspector as it was at the end."""
    window = self_test_window(checkpoint, device)
    inspector = window.inspector
    loop = QEventLoop()
    failures: list[str] = []
    reports: list[tuple[InspectionReport | None, float]] = []  # each with when it came
    pictures: list[PersonPicture] = []
    started = time.monotonic()

    def report_shown(report: InspectionReport | None) -> None:
        reports.append((report, time.monotonic() - started))
        if report is None or not report.people:
            failures.append("nothing was scored" if report is None else "nobody to score")
            loop.quit()

    def fail(message: str) -> None:
        failures.append(message)
        loop.quit()

    inspector.report_shown.connect(report_shown)
    inspector.person_shown.connect(lambda picture: (pictures.append(picture), loop.quit()))
    inspector.failed.connect(fail)
    window.worker_failed.connect(lambda kind, message: fail(f"{kind}: {message}"))
    QTimer.singleShot(int(timeout_s * 1000), lambda: fail(f"timed out after {timeout_s:.0f} s"))
    meter = PauseMeter(window)
    inspector.open_data(data)
    loop.exec()
    meter.stop()
    if not failures:
        failures += inspector_shown_wrong(inspector, reports[-1][0], pictures[-1])
    if screenshot and not inspector.grab().save(screenshot):
        failures.append(f"could not save the screenshot {screenshot}")
    window.close()
    if not window.stop_worker(60_000):
        failures.append("the worker threads did not stop within a minute")
    if failures:
        print(f"self-test FAILED: {failures[0]}")
        return 1
    (report, seconds), person = reports[-1], pictures[-1].person
    print(f"self-test passed: the inspector scored {len(report.people)} people "
          f"({len(report.skipped)} skipped) in {seconds:.1f} s, PCK@0.2 "
          f"{report.evaluation.mean:.1f} %; the worst, {person.name} at {person.pck:.1f} %, "
          f"shown with {inspector.person.refinement.followed()} at every stack; the window's "
          f"longest pause {1000 * meter.longest:.0f} ms")
    return 0


def inspector_shown_wrong(inspector: InspectorWindow, report: InspectionReport,
                          picture: PersonPicture) -> list[str]:
    """What the inspector's first view lacks, if anything: the worst person selected, their
    drawing, their heatmaps and each stack's refinement."""
    person = inspector.person
    wrong = []
    if picture.person is not report.worst(1)[0]:
        wrong.append(f"the first person shown is {picture.person.name}, not the worst")
    if person.photo.pixmap() is None:
        wrong.append("the drawing of truth and prediction is not shown")
    if person.heatmaps.tile(0).pixmap() is None:
        wrong.append("no heatmaps reached the heatmap tiles")
    if person.refinement.stack_count() != len(picture.heatmaps):
        wrong.append("the refinement view does not show every stack")
    return wrong


def self_test_window(checkpoint: str | None, device: str) -> MainWindow:
    """The real window, shown, with settings of its own that start empty.  Only a Linux
    machine without a display runs it offscreen: on Windows and macOS it uses the system's own
    window plugin, as the app does."""
    displayed = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and "QT_QPA_PLATFORM" not in os.environ and not displayed:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from app.gui.window import MainWindow

    make_application()
    settings = QSettings(QSettings.IniFormat, QSettings.UserScope, "HourglassPose", "self-test")
    settings.clear()
    window = MainWindow(checkpoint, device, settings=settings)
    window.show()
    return window


def self_test_source(media: str | None) -> str:
    """``media``, else the first camera, else the app's own frames (saying why no camera)."""
    from app.engine.camera_access import camera_refusal
    from app.engine.drawn_figure import SYNTHETIC_SOURCE
    from app.engine.open_media import list_cameras

    if media:
        return media
    cameras = list_cameras()
    if cameras:
        return str(cameras[0])
    refusal = camera_refusal()
    print(f"self-test: no camera ({refusal.title if refusal else 'none found'}), so on frames "
          "the app draws")
    return SYNTHETIC_SOURCE
