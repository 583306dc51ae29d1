"""The inspector's worker: scoring labelled people, and one person's picture and heatmaps, on a
QThread of its own, so that neither the inspector nor the main window ever waits for it.

The same worker-object pattern as the pose worker's (app.gui.worker): requests go in as queued
signals and results come back as the worker's own signals.  One thing cannot be a queued
signal: Cancel, since the worker is busy inside :func:`inspect` and reads no signals until it
returns.  Each scoring request therefore carries its own ``threading.Event``, which the
inspector sets and :func:`inspect` polls between batches; nothing else is shared.

The worker has its own pipeline of the main window's model (read again from its checkpoint),
since a pipeline holds per-run state and must never serve two threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.engine.image_files import read_image
from app.engine.inspection import (
    PersonScore,
    draw_truth_and_prediction,
    inspect,
    person_heatmaps,
)
from app.engine.labelled_data import DatasetError, load_annotations
from app.engine.models import CheckpointError, DeviceError, ModelInfo, PoseModel
from app.engine.pipeline import PosePipeline
from app.gui.thread_link import ThreadLink


@dataclass(frozen=True)
class ModelChoice:
    """Which model the inspector runs, and where: the main window's, as its ModelInfo says."""

    source: Path
    device: str  # an entry of the device list

    @classmethod
    def of(cls, info: ModelInfo) -> ModelChoice:
        return cls(info.source, info.choice)


@dataclass(frozen=True)
class Scoring:
    """How people are scored, as the main window can run the model: with their true box or
    none (the pipeline finds the person, as on a camera), by the first ``stacks`` stacks (None:
    all), with the flip test or not.  Each way gives its own report."""

    box_free: bool = False
    stacks: int | None = None
    flip: bool = False

    def words(self, model_stacks: int) -> str:
        """The way in words, for the inspector's summary."""
        stacks = self.stacks or model_stacks
        return ", ".join(["no box, as the camera sees" if self.box_free else "true box",
                          f"{stacks} of {model_stacks} stacks"]
                         + (["flip test"] if self.flip else []))


@dataclass(frozen=True)
class ScoreRequest:
    """Score every person of ``data`` (an LSP folder or a COCO file) with ``model``."""

    data: Path
    model: ModelChoice
    scoring: Scoring
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    started: float = field(default_factory=time.monotonic, compare=False)

    @property
    def key(self) -> tuple[Path, Path, Scoring]:
        """What decides the results: the device only changes how fast they come."""
        return self.data, self.model.source, self.scoring


@dataclass(frozen=True)
class PersonRequest:
    person: PersonScore
    model: ModelChoice
    scoring: Scoring  # as the person was scored: their heatmaps come from the same crop


@dataclass(frozen=True)
class PersonPicture:
    """What the inspector shows of one person: the photo with the truth and the prediction
    drawn together (BGR; the part of it around the person), and the (K, J, h, w) heatmaps
    of every stack."""

    person: PersonScore
    drawing: np.ndarray
    heatmaps: np.ndarray


class InspectorWorker(QObject):
    """Answers :class:`ScoreRequest` and :class:`PersonRequest` in its own thread, in order."""

    progress = Signal(object, int, int)  # ScoreRequest, people done, people to do
    scored = Signal(object, object)  # ScoreRequest, InspectionReport
    cancelled = Signal(object)  # ScoreRequest
    person_ready = Signal(object)  # PersonPicture
    failed = Signal(object, str)  # the request (ScoreRequest or PersonRequest), message
    shut_down = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._pipeline: tuple[ModelChoice, PosePipeline] | None = None

    def _pipeline_for(self, model: ModelChoice) -> PosePipeline:
        """The pipeline of ``model``, read once for as long as the main window keeps it."""
        if self._pipeline is None or self._pipeline[0] != model:
            pipeline, _ = PoseModel.load(model.source).run_on(model.device)
            self._pipeline = model, pipeline
        return self._pipeline[1]

    @Slot(object)
    def score(self, request: ScoreRequest) -> None:
        if request.cancel.is_set():  # cancelled while it waited behind another
            self.cancelled.emit(request)
            return
        try:
            annotations = load_annotations(request.data)
            report = inspect(self._pipeline_for(request.model), annotations,
                             box_free=request.scoring.box_free,
                             stacks=request.scoring.stacks, flip=request.scoring.flip,
                             cancelled=request.cancel.is_set,
                             progress=lambda done, total: self.progress.emit(request, done,
                                                                             total))
        except Exception as error:  # a dataset, a checkpoint or a device: said, not fatal
            self.failed.emit(request, failure_message(error))
            return
        if report is None:
            self.cancelled.emit(request)
        else:
            self.scored.emit(request, report)

    @Slot(object)
    def show_person(self, request: PersonRequest) -> None:
        try:
            pipeline = self._pipeline_for(request.model)
            image = read_image(request.person.annotation.image_path)
            drawing = draw_truth_and_prediction(image, request.person, pipeline.spec.skeleton)
            heatmaps = person_heatmaps(pipeline, request.person, image,
                                       box_free=request.scoring.box_free,
                                       flip=request.scoring.flip)
        except Exception as error:  # the photo changed on disk since it was scored, say
            self.failed.emit(request, failure_message(error))
            return
        self.person_ready.emit(PersonPicture(request.person, around_person(drawing,
                                                                           request.person),
                                             heatmaps))

    @Slot()
    def shutdown(self) -> None:
        self.shut_down.emit()


def around_person(image: np.ndarray, person: PersonScore) -> np.ndarray:
    """The part of the photo that holds the person's crop, truth and prediction: one person
    of a crowded COCO photo is shown large, and a prediction on someone else still shows."""
    box = person.box
    corners = np.array([[box.cx - box.side / 2, box.cy - box.side / 2],
                        [box.cx + box.side / 2, box.cy + box.side / 2]])
    points = np.concatenate([corners, person.annotation.joints[person.annotation.visible],
                             person.keypoints[-1]])
    low, high = points.min(axis=0), points.max(axis=0)
    radius = person.radius if np.isfinite(person.radius) else 0.0  # no torso length: none
    room = max(radius, 0.05 * float((high - low).max()))  # a joint's ring shows whole
    height, width = image.shape[:2]
    left, top = np.clip(np.floor(low - room), 0, [width, height]).astype(int)
    right, bottom = np.clip(np.ceil(high + room), 0, [width, height]).astype(int)
    return image[top:bottom, left:right] if right > left and bottom > top else image


def failure_message(error: Exception) -> str:
    """The project's own errors say what happened in words; anything else names its type."""
    if isinstance(error, DatasetError | CheckpointError | DeviceError | OSError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class InspectorThread(ThreadLink):
    """The inspector worker's thread, started with the first request, and the requests'
    signals; :meth:`stop` lets the worker finish what it holds (the caller cancels a scoring
    run first)."""

    score = Signal(object)  # ScoreRequest
    show_person = Signal(object)  # PersonRequest

    def __init__(self, parent: QObject) -> None:
        super().__init__(InspectorWorker(), "inspector", parent)

    def send(self, request: ScoreRequest | PersonRequest) -> None:
        if not self.worker_thread.isRunning():
            self.worker_thread.start()
        (self.score if isinstance(request, ScoreRequest) else self.show_person).emit(request)
