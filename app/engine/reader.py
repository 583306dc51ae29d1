"""Reading frames on a thread of their own, so capture overlaps inference.

Two policies, one class.  A live source (a camera) keeps only its newest frame: when the
model is slower than the camera, older frames are dropped, so the pose never lags behind the
person.  A file keeps a short queue and never drops: every frame of a video is processed,
while the next one is already being decoded; the queue is all it reads ahead (a frame of a huge
photo is 144 MB).

Only the reader's thread touches the source once it starts.  What a consumer learns of the
reading comes through the queue under its lock: the frames, the files passed over (on the
frame after them, or ``skipped_at_end``), and whatever ended the reading.
"""

from __future__ import annotations

import threading
from collections import deque

from app.engine.sources import Frame, FrameSource, SkippedFile


class FrameReader:
    """Pulls frames from ``source`` in the background; ``next()`` hands them out in order."""

    def __init__(self, source: FrameSource, queue_size: int = 2) -> None:
        self._source = source
        self.latest_only = source.is_live
        self._frames: deque[Frame] = deque(maxlen=1 if self.latest_only else queue_size)
        self._capacity = self._frames.maxlen or queue_size
        self._condition = threading.Condition()
        self._finished = False
        self._error: BaseException | None = None
        self._skipped_at_end: tuple[SkippedFile, ...] = ()
        self._stopping = False
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                if not self.latest_only:  # room first: no frame waits outside the queue
                    with self._condition:
                        self._condition.wait_for(
                            lambda: len(self._frames) < self._capacity or self._stopping)
                        if self._stopping:  # closed while full: no frame read for nobody
                            break
                frame = self._source.read()
                skipped_at_end = self._source.take_skipped() if frame is None else ()
                with self._condition:
                    if frame is None or self._stopping:
                        self._skipped_at_end = skipped_at_end
                        break
                    if self.latest_only and self._frames:  # live: no files to skip, none lost
                        self._dropped += 1
                    self._frames.append(frame)
                    self._condition.notify_all()
        except BaseException as error:  # a SourceError, or a bug: either way the consumer's
            with self._condition:
                self._error = error
        finally:
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def next(self, timeout: float | None = None) -> Frame | None:
        """The next frame; None at the end of a file (or after ``timeout`` seconds).

        Raises what ended the reading (a SourceError: media that cannot be read) once the
        frames read before it are used up.
        """
        with self._condition:
            self._condition.wait_for(lambda: self._frames or self._finished, timeout)
            if self._frames:
                frame = self._frames.popleft()
                self._condition.notify_all()
                return frame
            if self._error is not None:
                raise self._error
            return None

    @property
    def dropped(self) -> int:
        """Frames of a live source replaced by a newer one before they were asked for."""
        with self._condition:
            return self._dropped

    @property
    def skipped_at_end(self) -> tuple[SkippedFile, ...]:
        """The files passed over after the last frame, which no frame carries: known once the
        reading has ``finished``."""
        with self._condition:
            return self._skipped_at_end

    @property
    def finished(self) -> bool:
        """Whether the media has ended and every frame been handed out (not when the reading
        failed: ``next`` raises that)."""
        with self._condition:
            return self._finished and not self._frames and self._error is None

    def close(self) -> None:
        """Stop the thread and close the source."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout=5.0)
        self._source.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
