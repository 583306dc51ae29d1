"""Every kind of media behind one interface: cameras, video files, still images, image folders.

The pipeline, the GUI worker and the CLI should not care where frames come from, so every source
hands out the same thing: (H, W, 3) uint8 BGR frames with an index and a timestamp, and every
failure is a ``SourceError`` whose message names the source and is fit to show the user, never
an OpenCV exception.  Each source decodes its first frame while it opens, so a corrupt file or a
missing camera fails where the caller can still ask for something else, not in the middle of a run.

Which source a name opens is open_media's; decoding a photo is image_files'.
"""

from __future__ import annotations

import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from app.engine.image_files import (
    IMAGE_EXTENSIONS,
    NOT_MEDIA,
    UnreadableImage,
    read_image,
    to_bgr8,
)
from app.filekinds import FOLDER, not_a_file

# Containers sometimes report their time base, or nothing, as the frame rate.
_MAX_SANE_FPS = 1000.0
# The frame rate of media that does not say one: a video's timestamps advance at it, the
# app's drawn frames run at it, and recordings of such media are written at it.
FALLBACK_FPS = 30.0
# Cameras drop the odd frame (USB hiccups, exposure changes); only this many failed reads in a
# row mean the camera is gone.
_CAMERA_ATTEMPTS = 3

_NO_CAMERA = "no camera found (is it plugged in, and not in use by another program?)"


@dataclass(frozen=True)
class SkippedFile:
    """A photo of a folder that could not be read: its frame number, name, and why."""

    index: int
    name: str
    reason: str


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 BGR, C-contiguous, read-only: receivers draw on copies
    index: int  # 0, 1, 2... in reading order, loops included
    timestamp: float  # seconds, increasing: media time for videos, time since open otherwise
    file: str | None = None  # the photo's name, for the frames of a folder
    # The photos passed over since the frame before, which used up the numbers below ``index``.
    # They travel with the frame, so whoever takes it from another thread learns of them
    # through the same hand-over, never from the source that the reading thread is changing.
    skipped: tuple[SkippedFile, ...] = ()


class SourceError(Exception):
    """Media that cannot be opened or read; the message names the source, for the user."""


class FrameSource(ABC):
    """Frames one at a time until the media ends (never, for cameras and looping sources).

    Subclasses produce images in ``_grab`` and call ``_prime`` at the end of ``__init__``; this
    class numbers the frames, holds the eagerly decoded first one and turns OpenCV and OS errors
    into ``SourceError``.  Use it from one thread: OpenCV captures are not thread-safe.
    """

    is_live: bool = False
    # Frames unrelated to each other (the photos of a folder): each is searched afresh, never
    # tracked or smoothed from the one before.
    independent_frames: bool = False
    frame_count: int | None = None  # frames in one pass through the media
    fps: float | None = None
    path: Path | None = None  # the file or folder read, which no output may overwrite

    def __init__(self, description: str) -> None:
        self.description = description
        self.size: tuple[int, int] = (0, 0)  # (width, height) of the frame last handed out
        self._index = 0
        self._pending: Frame | None = None
        self._closed = False
        self._passed_over: list[SkippedFile] = []  # since the last frame made

    def take_skipped(self) -> tuple[SkippedFile, ...]:
        """The files passed over since the last frame was made, once: after the end of the
        media, those that no frame carries."""
        skipped, self._passed_over = tuple(self._passed_over), []
        return skipped

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the media or once closed."""
        if self._closed:
            return None
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return self._next_frame()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pending = None
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    @abstractmethod
    def _grab(self) -> tuple[np.ndarray, float] | None:
        """The next image, already through to_bgr8, and its timestamp; None at the end."""

    def _file_name(self) -> str | None:
        """The name of the file the image just grabbed came from, where frames are files."""
        return None

    def _release(self) -> None:  # noqa: B027 (optional hook: stills hold nothing open)
        """Frees what the source holds open."""

    def _pass_over(self, name: str, reason: str) -> None:
        """A file that is no frame: it uses up its frame number, and the next frame says why."""
        self._passed_over.append(SkippedFile(self._index, name, reason))
        self._index += 1

    def _prime(self, failure: str) -> None:
        """Decodes the first frame now, so a bad source fails while opening."""
        try:
            self._pending = self._next_frame()
            if self._pending is None:
                raise SourceError(f"{self.description}: {failure}")
        except SourceError:
            self.close()
            raise

    def _next_frame(self) -> Frame | None:
        with _user_errors(self.description):
            grabbed = self._grab()
        if grabbed is None:
            return None
        image, timestamp = grabbed
        image.flags.writeable = False  # shared between threads, and a still is the same array
        frame = Frame(image, self._index, timestamp, self._file_name(), self.take_skipped())
        self._index += 1
        self.size = (image.shape[1], image.shape[0])
        return frame


class CameraSource(FrameSource):
    """A webcam by OpenCV index; timestamps are seconds since it was opened."""

    is_live = True

    def __init__(self, index: int, size: tuple[int, int] | None = None) -> None:
        super().__init__(f"camera {index}")
        self.index = index
        with _quiet_opencv():
            self._capture = self._open(size)
            self.fps = _sane_fps(self._capture.get(cv2.CAP_PROP_FPS))
            self._started = time.perf_counter()
            self._prime(_NO_CAMERA)

    def read(self) -> Frame | None:
        """The next frame; a camera has no end, so running out of frames is an error."""
        frame = super().read()
        if frame is None and not self._closed:
            raise SourceError(f"{self.description}: the camera stopped delivering frames")
        return frame

    def _open(self, size: tuple[int, int] | None) -> cv2.VideoCapture:
        quiet_ffmpeg()
        with _user_errors(self.description):
            capture = cv2.VideoCapture(self.index)
            if not capture.isOpened():
                raise SourceError(f"{self.description}: {_NO_CAMERA}")
            if size is not None:
                # A request: the driver picks its nearest mode, and self.size tells which.
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        return capture

    def _grab(self) -> tuple[np.ndarray, float] | None:
        for _ in range(_CAMERA_ATTEMPTS):
            ok, image = self._capture.read()
            if ok and image is not None:
                return to_bgr8(image), time.perf_counter() - self._started
        return None

    def _release(self) -> None:
        self._capture.release()


class VideoSource(FrameSource):
    """A video file; with ``loop`` it starts over at the end and time keeps counting up."""

    def __init__(self, path: Path, loop: bool = False) -> None:
        super().__init__(f"video {path.name}")
        self.path = path
        self.loop = loop
        self._capture = self._open()
        self.fps = _sane_fps(self._capture.get(cv2.CAP_PROP_FPS))
        count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if math.isfinite(count) and count >= 1 else None
        self._step = 1.0 / (self.fps or FALLBACK_FPS)
        self._pass_start = 0.0  # where the current pass begins on the looped timeline
        self._media_time: float | None = None  # of the last frame read in this pass
        self._prime(NOT_MEDIA)

    def _open(self) -> cv2.VideoCapture:
        quiet_ffmpeg()
        with _user_errors(self.description):
            capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SourceError(f"{self.description}: {NOT_MEDIA}")
        return capture

    def _grab(self) -> tuple[np.ndarray, float] | None:
        ok, image = self._capture.read()
        if not ok and self.loop and self._media_time is not None:
            self._restart()
            ok, image = self._capture.read()
        if not ok or image is None:
            return None
        return to_bgr8(image), self._pass_start + self._next_media_time()

    def _restart(self) -> None:
        # Reopening is slower than seeking to frame 0 but works for every codec.
        self._capture.release()
        self._capture = self._open()
        self._pass_start += (self._media_time or 0.0) + self._step
        self._media_time = None

    def _next_media_time(self) -> float:
        """The container's time of the frame just read when it is sane, else one frame on.

        Container time follows variable frame rates; the fallback keeps time increasing when
        the container reports nothing or nonsense.
        """
        seconds = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        previous = self._media_time
        sane = math.isfinite(seconds) and seconds >= 0
        if not sane or (previous is not None and seconds <= previous):
            seconds = 0.0 if previous is None else previous + self._step
        self._media_time = seconds
        return seconds

    def _release(self) -> None:
        self._capture.release()


class ImageSource(FrameSource):
    """One still; with ``loop`` it repeats forever, which is how a photo is shown live.

    A still has no media time, so timestamps are seconds since open, as for a camera.
    """

    def __init__(self, path: Path, loop: bool = False) -> None:
        super().__init__(f"image {path.name}")
        self.path = path
        self.loop = loop
        self.frame_count = 1
        try:
            self._image: np.ndarray | None = read_image(path)
        except UnreadableImage as error:
            raise SourceError(f"{self.description}: {error.reason}") from error
        self._shown = False
        self._started = time.perf_counter()
        self._prime(NOT_MEDIA)

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if self._image is None or (self._shown and not self.loop):
            return None
        self._shown = True
        return self._image, time.perf_counter() - self._started

    def _release(self) -> None:
        self._image = None


class ImageFolderSource(FrameSource):
    """The photos of a folder in name order, each a picture of its own: frame N is the Nth
    file, and each frame names its file.

    One bad file should not end a long series, so an unreadable photo is skipped, using up its
    frame number, and the next frame says which and why (``Frame.skipped``; after the last
    frame, ``take_skipped``).  Timestamps are seconds since open: stills have no media time.
    """

    independent_frames = True

    def __init__(self, path: Path, loop: bool = False) -> None:
        super().__init__(f"folder {path.name or path.resolve()}/")
        self.path = path
        self.loop = loop
        with _user_errors(self.description):
            # Not only regular files: a pipe or a broken link named as a photo is skipped with
            # a word (read_image says what it is), never read, and never passed over silently.
            self._files = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                and not_a_file(p) != FOLDER
            )
        if not self._files:
            extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise SourceError(f"{self.description}: contains no images ({extensions})")
        self._position = 0
        self._last_file: str | None = None
        self._started = time.perf_counter()
        self._prime(f"none of its images can be decoded: {NOT_MEDIA}")

    @property
    def frame_count(self) -> int:  # type: ignore[override]
        """Images in the folder, less those found unreadable so far: the reading thread's to
        ask (another thread takes the count as the source opened, see FrameRun)."""
        return len(self._files)

    def _grab(self) -> tuple[np.ndarray, float] | None:
        while self._files:
            if self._position == len(self._files):
                if not self.loop:
                    return None
                self._position = 0
            path = self._files[self._position]
            try:
                image = read_image(path)
            except UnreadableImage as error:
                # Off the list, so a loop does not try it again; its frame number is used up.
                del self._files[self._position]
                self._pass_over(path.name, error.reason)
                continue
            self._position += 1
            self._last_file = path.name
            return image, time.perf_counter() - self._started
        return None

    def _file_name(self) -> str | None:
        return self._last_file


def quiet_ffmpeg() -> None:
    """FFmpeg prints its own line for a file it cannot read ("moov atom not found") before the
    SourceError says it for the user: quiet it, unless the user asked otherwise.  OpenCV reads
    the setting once, when it first uses FFmpeg, so this runs before every capture or video
    writer opens (and again does nothing)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


def _sane_fps(fps: float) -> float | None:
    return fps if math.isfinite(fps) and 0 < fps <= _MAX_SANE_FPS else None


@contextmanager
def _user_errors(description: str) -> Iterator[None]:
    """OpenCV and OS exceptions become one line for the user that names the source."""
    try:
        yield
    except cv2.error as error:
        detail = getattr(error, "err", "") or "OpenCV error"
        raise SourceError(f"{description}: cannot be read ({detail})") from error
    except OSError as error:
        raise SourceError(f"{description}: {error.strerror or error}") from error


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Opening a missing camera makes OpenCV print warnings; the SourceError says it better."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)
