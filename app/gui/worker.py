"""The worker: capture and inference on a QThread of their own, results to the GUI by signal.

This is Qt's worker-object pattern: a ``QObject`` moved to a ``QThread``; the GUI talks to it
only through queued signals (requests in through the window's link, app.gui.worker_link, and
reports out), so no state is shared mutably between the threads; even the model to load, and
where, come as requests.  A timer in the worker's thread drives one frame per tick, and
requests are handled between ticks, which is why a change of stacks, device, model or source
takes effect on the next frame.  Every failure becomes a ``failed`` signal with its
:class:`Failure` kind; the worker itself keeps going.

What a tick does is the playback state's to say (:class:`Playback`); whether it may do it now
is the back-pressure's: a GUI that has not drawn the last reports holds the worker back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, StrEnum

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.engine.frame_run import FrameRun
from app.engine.models import (
    CPU_THROUGH_TORCH,
    CheckpointError,
    DeviceError,
    PoseModel,
    fallback_choice,
)
from app.engine.open_media import list_cameras, open_source
from app.engine.output import OutputError, PoseRecorder
from app.engine.pipeline import PipelineOptions, PoseResult
from app.engine.playback_clock import PlaybackClock
from app.engine.recording import finish_recording, start_recording
from app.engine.search_geometry import PersonChoice
from app.engine.sources import Frame, FrameSource, SkippedFile, SourceError

# Reports sent to the GUI and not yet drawn: past this many the worker waits (looking again
# every few ms) instead of reading on, so a GUI slower than the model (a huge photo, a busy
# machine) drops camera frames or slows a file down, instead of queueing frames without end.
MAX_REPORTS_IN_FLIGHT = 2
BACKPRESSURE_POLL_MS = 5


class Failure(StrEnum):
    """What failed, which decides how the window says it (the message says what happened)."""

    SOURCE = "source"  # the media or camera cannot be read: the window offers another
    MODEL = "model"  # a checkpoint cannot be loaded: the running model, if any, goes on
    DEVICE = "device"  # the device asked for is not there, or failed: the CPU takes over
    OUTPUT = "output"  # a recording or snapshot cannot be written
    FRAME = "frame"  # a frame failed on the CPU: playback pauses


class Playback(Enum):
    """What the next tick does with the source."""

    PAUSED = "paused"  # nothing: the last frame stays on screen
    PLAYING = "playing"  # reads the next frame, at the media's pace (cameras: at once)
    STEPPING = "stepping"  # reads one frame, then pauses
    RERUNNING = "rerunning"  # paused, runs the frame on screen again with the new options


@dataclass(frozen=True)
class SourceRequest:
    """What to open: a path, a camera index, or the app's own frames; a camera's resolution."""

    spec: str
    camera_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class FrameReport:
    """A finished frame for the GUI: the true (unmirrored) image and its pose.

    ``image`` is the worker's own frame, shared rather than copied (a photo can be 144 MB)
    and read-only: the worker runs it again while paused, so the GUI draws on copies.  The
    result is made afresh for each report and is the GUI's.
    """

    image: np.ndarray
    result: PoseResult
    fps: float
    dropped: int


class PoseWorker(QObject):
    """Keeps the pace, the back-pressure and the playback of one FrameRun (which owns the
    pipeline, the options, the recording and the media, and reads, processes and records);
    lives in its own thread, and answers the GUI's requests between frames."""

    frame_ready = Signal(object)  # FrameReport
    model_loaded = Signal(object)  # app.engine.models.ModelInfo
    source_opened = Signal(object)  # app.engine.frame_run.SourceInfo
    source_finished = Signal()
    playing_changed = Signal(bool)
    recording_changed = Signal(bool, str)  # recording?, message
    cameras_found = Signal(list)  # indices of the cameras that deliver frames
    file_skipped = Signal(str)  # a photo of a folder that cannot be read: its name and why
    failed = Signal(object, str)  # Failure, message
    shut_down = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._device = "auto"  # where a model loaded next runs (the device list's entry)
        self._model: PoseModel | None = None
        self._run = FrameRun(None, None, recording_failed=self._recording_failed)
        self._loop = True
        self._playback = Playback.PAUSED
        self._last_frame: Frame | None = None
        self._request: SourceRequest | None = None
        self._clock = PlaybackClock()
        self._timer: QTimer | None = None
        self._in_flight = 0  # frame reports emitted and not yet drawn by the GUI

    @Slot()
    def acknowledge_report(self) -> None:
        """The GUI has drawn a report (a queued signal: the count lives in this thread only)."""
        self._in_flight = max(0, self._in_flight - 1)

    # -- life cycle ---------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Called in the worker thread once it runs, before any request: the timer that
        drives the frames is made here, to belong to this thread."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)

    @Slot()
    def shutdown(self) -> None:
        """Stop cleanly: finish a recording, close the source, then say so."""
        if self._timer is not None:
            self._timer.stop()
        self.stop_recording()
        self._run.close()
        self.shut_down.emit()

    # -- requests from the GUI ----------------------------------------------------------------
    @Slot(str)
    def load_model(self, path: str) -> None:
        try:
            self._install(PoseModel.load(path or None), self._device)
        except (CheckpointError, DeviceError) as error:
            self.failed.emit(Failure.MODEL, str(error))

    @Slot(str)
    def set_device(self, device: str) -> None:
        if self._model is None:
            self._device = device
            return
        try:
            self._install(self._model, device)
        except DeviceError as error:
            self.failed.emit(Failure.DEVICE, str(error))

    def _install(self, model: PoseModel, choice: str) -> None:
        """``choice``: an entry of the device list (auto, cpu, cpu-torch, cuda)."""
        pipeline, info = model.run_on(choice)
        self._model, self._device = model, choice
        self._run.pipeline = pipeline
        stacks = self._run.options.stacks
        if stacks is not None and stacks > model.spec.config.stacks:
            self._run.options = replace(self._run.options, stacks=None)
        self.model_loaded.emit(info)
        if info.note:
            self.failed.emit(Failure.DEVICE, info.note)
        self._schedule(0)

    @Slot(object)
    def set_options(self, options: PipelineOptions) -> None:
        self._run.options = options
        if self._run.pipeline is not None and not options.tracking:
            self._run.pipeline.reset()
        self._rerun_if_paused()

    @Slot(object)
    def choose_person(self, choice: PersonChoice | None) -> None:
        """Follow the person the user pointed at, or (None) whoever the search finds."""
        pipeline = self._run.pipeline
        if pipeline is None:
            return
        if choice is None:
            pipeline.follow_anyone()
        else:
            pipeline.choose(choice)
        self._rerun_if_paused()

    def _rerun_if_paused(self) -> None:
        """A paused frame is shown again with the new options (a step reads a new one)."""
        if self._playback is Playback.PAUSED and self._last_frame is not None:
            self._playback = Playback.RERUNNING
            self._schedule(0)

    @Slot(object)
    def open_source(self, request: SourceRequest) -> None:
        self._run.close()
        self._request = request
        try:
            source = open_source(request.spec, loop=self._loop, camera_size=request.camera_size)
        except SourceError as error:
            self.failed.emit(Failure.SOURCE, str(error))
            return
        self._start_reading(source)

    @Slot()
    def find_cameras(self) -> None:
        """Probe the cameras here, not in the GUI: opening one can take a second each."""
        self.cameras_found.emit(list_cameras())

    @Slot(bool)
    def set_loop(self, loop: bool) -> None:
        self._loop = loop

    @Slot(bool)
    def set_playing(self, playing: bool) -> None:
        if playing and self._run.finished and self._request:
            self.open_source(self._request)  # Play at the end of a file plays it again
            return
        playing = playing and self._run.is_open
        self._playback = Playback.PLAYING if playing else Playback.PAUSED
        self._clock.restart()
        self.playing_changed.emit(playing)
        self._schedule(0)

    @Slot()
    def step(self) -> None:
        """One frame forward while paused (a rerun still waiting is overtaken by it)."""
        if self._playback in (Playback.PAUSED, Playback.RERUNNING):
            self._playback = Playback.STEPPING
            self._schedule(0)

    @Slot(str)
    def start_recording(self, base_path: str) -> None:
        """Annotated MP4 and keypoints JSON lines: see app.engine.recording."""
        self.stop_recording()
        try:
            self._run.recorder = start_recording(base_path, self._run.info)
        except OutputError as error:
            self.failed.emit(Failure.OUTPUT, str(error))
            return
        self.recording_changed.emit(True, f"Recording to {base_path}.mp4")

    @Slot()
    def stop_recording(self) -> None:
        recorder, self._run.recorder = self._run.recorder, None
        if recorder is not None and (problem := self._finish_recording(recorder)) is not None:
            self.failed.emit(Failure.OUTPUT, problem)

    def _finish_recording(self, recorder: PoseRecorder) -> str | None:
        """Finish ``recorder`` and say what became of it; what went wrong, if anything."""
        try:
            status = finish_recording(recorder)
        except OutputError as error:
            self.recording_changed.emit(False, "The recording could not be saved")
            return str(error)
        self.recording_changed.emit(False, status)
        return None

    # -- the frame loop -----------------------------------------------------------------------
    def _start_reading(self, source: FrameSource) -> None:
        self._run.open(source)
        self._last_frame = None
        self._clock.forget_rate()
        self.source_opened.emit(self._run.info)
        self.set_playing(True)

    def _schedule(self, delay_ms: int) -> None:
        if self._timer is not None and not self._timer.isActive():
            self._timer.start(max(0, delay_ms))

    @Slot()
    def _tick(self) -> None:
        run = self._run
        if not run.is_open or run.pipeline is None or self._playback is Playback.PAUSED:
            return
        if self._in_flight >= MAX_REPORTS_IN_FLIGHT:  # the GUI is behind
            self._schedule(BACKPRESSURE_POLL_MS)
            return
        if self._playback is Playback.RERUNNING:
            self._playback = Playback.PAUSED
            if self._last_frame is not None:
                self._process(self._last_frame, record=False)  # not a new frame
            return
        try:
            frame = run.read(timeout=1.0)
        except SourceError as error:
            run.close()
            self.set_playing(False)
            self.failed.emit(Failure.SOURCE, str(error))
            return
        if frame is None:
            if run.finished:
                self._say_skipped(run.take_skipped_at_end())
                self.set_playing(False)
                self.source_finished.emit()
            else:
                self._schedule(0)  # not read yet (a slow camera): a step waits for it too
            return
        if self._playback is Playback.STEPPING:
            self._playback = Playback.PAUSED
        self._say_skipped(frame.skipped)
        self._last_frame = frame
        self._process(frame)

    def _say_skipped(self, skipped: tuple[SkippedFile, ...]) -> None:
        """Which photos of a folder were passed over, and why (the run has recorded them)."""
        for skip in skipped:
            self.file_skipped.emit(f"Skipped {skip.name}: {skip.reason}")

    def _process(self, frame: Frame, record: bool = True) -> None:
        try:
            result = self._run.process(frame, record)
        except Exception as error:  # one bad frame must not stop the worker
            self._frame_failed(frame, error)
            return
        self._clock.frame_shown()
        self._in_flight += 1
        self.frame_ready.emit(FrameReport(frame.image, result, self._clock.fps,
                                          self._run.dropped))
        if self._playback is Playback.PLAYING:
            self._schedule(self._clock.delay_ms(frame.timestamp, self._run.info))

    def _frame_failed(self, frame: Frame, error: Exception) -> None:
        """Off the GPU after any failure there (out of memory, a lost device), off OpenVINO
        after one there; on the CPU through PyTorch, pause with the reason, rather than fail
        again on every frame."""
        detail = str(error) if isinstance(error, DeviceError) else (
            f"frame {frame.index} could not be processed ({type(error).__name__}: {error})")
        assert self._run.pipeline is not None
        fallback = fallback_choice(self._run.pipeline)
        if fallback is not None:
            how = " through PyTorch" if fallback == CPU_THROUGH_TORCH else ""
            self.failed.emit(Failure.DEVICE, f"{detail}; switching to the CPU{how}")
            self.set_device(fallback)
            self._schedule(0)
            return
        self.set_playing(False)
        self.failed.emit(Failure.FRAME, f"{detail}; playback is paused")

    def _recording_failed(self, recorder: PoseRecorder, error: OutputError) -> None:
        """The recorder has ended itself, keeping what it could, and its error says what."""
        self._finish_recording(recorder)
        self.failed.emit(Failure.OUTPUT, f"{error}; the recording was stopped")
