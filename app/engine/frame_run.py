"""One source read through the pipeline, frame by frame: the loop that the app's worker,
``infer`` and the bench all run, so that its rules are written once.

The rules: frames are read on the reader's thread, so decoding overlaps the model; a photo of a
folder is a picture of its own, searched afresh, never tracked or smoothed from the one before;
the files passed over are recorded where they were, before the frame after them (and those
after the last frame as the media ends); a recording that cannot be written on ends there,
keeping what it has, and the run goes on without it.  How fast to go, and what to do when a
frame fails, stay the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Self

from app.engine.output import OutputError, PoseRecorder
from app.engine.pipeline import PipelineOptions, PosePipeline, PoseResult
from app.engine.reader import FrameReader
from app.engine.sources import Frame, FrameSource, SkippedFile


@dataclass(frozen=True)
class SourceInfo:
    """What the run's consumers may know of the media, taken as it opened: from then on only
    the reader's thread touches the source (a folder's count shrinks as bad photos turn up)."""

    description: str
    is_live: bool
    frame_count: int | None
    fps: float | None
    size: tuple[int, int]
    path: str | None = None  # the file or folder, which no output may overwrite
    independent_frames: bool = False  # photos of a folder: each searched afresh

    @classmethod
    def of(cls, source: FrameSource) -> Self:
        path = None if source.path is None else str(source.path)
        return cls(source.description, source.is_live, source.frame_count, source.fps,
                   source.size, path, source.independent_frames)


@dataclass(frozen=True)
class Step:
    """A frame through the run: the frame (with the files passed over before it) and its
    pose."""

    frame: Frame
    result: PoseResult

    @property
    def skipped(self) -> tuple[SkippedFile, ...]:
        return self.frame.skipped


class FrameRun:
    """``source`` through ``pipeline`` with ``options``, into ``recorder`` when there is one.

    The run is the one owner of these four, and any of them may be replaced between frames:
    the app keeps one run for as long as it runs, so it changes device, options, recording and
    media (:meth:`open`) while it plays; it starts with no media and, until a model has
    loaded, no pipeline (one comes before the first frame is processed).
    ``recording_failed`` hears of a recording that ended itself (see PoseRecorder.record): the
    recorder, closed with what it could keep, and why; without it, that OutputError is raised.
    Iterating gives every frame to the end; the app reads and processes each itself, to pace
    them, to pause, and to run a paused frame again.
    """

    def __init__(self, source: FrameSource | None, pipeline: PosePipeline | None,
                 options: PipelineOptions | None = None, recorder: PoseRecorder | None = None,
                 recording_failed: Callable[[PoseRecorder, OutputError], None] | None = None
                 ) -> None:
        self.pipeline = pipeline
        self.options = options or PipelineOptions()
        self.recorder = recorder
        self._recording_failed = recording_failed
        self.info: SourceInfo | None = None  # the media opened last, kept after it closes
        self._reader: FrameReader | None = None
        self._end_taken = False
        if source is not None:
            self.open(source)

    def open(self, source: FrameSource) -> None:
        """Reads ``source`` from now on, instead of the media before (closed): searched afresh,
        as nothing followed there is in this one."""
        self.close()
        self.info = SourceInfo.of(source)  # before the reader's thread owns the source
        self._reader = FrameReader(source)
        self._end_taken = False
        if self.pipeline is not None:
            self.pipeline.reset()

    @property
    def is_open(self) -> bool:
        """Whether there is media to read (none yet, or it was closed)."""
        return self._reader is not None

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame, the files passed over before it recorded; None when none came
        within ``timeout``, or at the end (then ``finished``).  Raises the source's
        SourceError."""
        assert self._reader is not None, "media opened first"
        frame = self._reader.next(timeout)
        if frame is not None:
            self._record_skipped(frame.skipped)
        return frame

    def take_skipped_at_end(self) -> tuple[SkippedFile, ...]:
        """Once ``finished``: the files passed over after the last frame, which no frame
        carries, recorded; the first call has them, later ones nothing."""
        if not self.finished or self._end_taken:
            return ()
        self._end_taken = True
        assert self._reader is not None
        skipped = self._reader.skipped_at_end
        self._record_skipped(skipped)
        return skipped

    def process(self, frame: Frame, record: bool = True) -> PoseResult:
        """The pose of ``frame``, recorded unless ``record`` is false (a paused frame run again
        is no new frame).  Raises what the pipeline raises."""
        assert self.pipeline is not None, "a model before the first frame"
        if self.info is not None and self.info.independent_frames:
            self.pipeline.reset()
        result = self.pipeline.process(frame, self.options)
        if record and self.recorder is not None:
            try:
                self.recorder.record(frame, result, self.pipeline.spec.skeleton)
            except OutputError as error:
                self._recording_ended(error)
        return result

    def __iter__(self) -> Iterator[Step]:
        """Every frame to the end of the media (never, for a camera or a loop)."""
        while (frame := self.read()) is not None:
            yield Step(frame, self.process(frame))

    @property
    def finished(self) -> bool:
        """Whether the media has ended and its every frame been read."""
        return self._reader is not None and self._reader.finished

    @property
    def dropped(self) -> int:
        """Frames of a live source that a newer one replaced before they were read."""
        return 0 if self._reader is None else self._reader.dropped

    def close(self) -> None:
        """Stops the reader and closes the source, if open; the recorder is its owner's to
        close."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _record_skipped(self, skipped: tuple[SkippedFile, ...]) -> None:
        for skip in skipped:
            if self.recorder is None:
                return
            try:
                self.recorder.record_skipped(skip)
            except OutputError as error:
                self._recording_ended(error)

    def _recording_ended(self, error: OutputError) -> None:
        recorder, self.recorder = self.recorder, None
        if self._recording_failed is None:
            raise error
        assert recorder is not None
        self._recording_failed(recorder, error)
