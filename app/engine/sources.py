"""Every kind of media behind one interface: cameras, video files, still images, image folders.

The pipeline, the GUI worker and the CLI should not care where frames come from, so every source
hands out the same thing: (H, W, 3) uint8 BGR frames with an index and a timestamp, and every
failure is a ``SourceError`` whose message names the source and is fit to show the user, never
an OpenCV exception.  Each source decodes its first frame while it opens, so a corrupt file or a
missing camera fails where the caller can still ask for something else, not in the middle of a run.
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

from app.filekinds import FOLDER, MISSING, not_a_file, read_regular_file

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

# ANYDEPTH keeps 16-bit samples so to_bgr8 can scale them instead of OpenCV clipping them.
# IMREAD_UNCHANGED would do that too, but it also ignores the EXIF orientation, and phone
# photos would come out lying on their side.  (ANYCOLOR drops alpha, as to_bgr8 would.)
_IMREAD_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR

# FFmpeg prints its own line for a file it cannot read ("moov atom not found") before the
# SourceError says it for the user; quiet unless asked otherwise.  Read when OpenCV first uses
# FFmpeg, so it is set here, before any capture opens.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

# Containers sometimes report their time base, or nothing, as the frame rate.
_MAX_SANE_FPS = 1000.0
# The frame rate of media that does not say one: a video's timestamps advance at it, the
# app's drawn frames run at it, and recordings of such media are written at it.
FALLBACK_FPS = 30.0
# Cameras drop the odd frame (USB hiccups, exposure changes); only this many failed reads in a
# row mean the camera is gone.
_CAMERA_ATTEMPTS = 3

# OpenCV refuses to decode images of more pixels than this (CV_IO_MAX_IMAGE_PIXELS's default).
_MAX_IMAGE_PIXELS = 1 << 30
_MAX_IMAGE_SIDE = math.isqrt(_MAX_IMAGE_PIXELS)

_NOT_MEDIA = "not readable media (OpenCV cannot decode it; is the file corrupt or truncated?)"
_NO_CAMERA = "no camera found (is it plugged in, and not in use by another program?)"

_BGR_CONVERSIONS = {1: cv2.COLOR_GRAY2BGR, 3: None, 4: cv2.COLOR_BGRA2BGR}


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 BGR, C-contiguous, read-only: receivers draw on copies
    index: int  # 0, 1, 2... in reading order, loops included
    timestamp: float  # seconds, increasing: media time for videos, time since open otherwise
    file: str | None = None  # the photo's name, for the frames of a folder


@dataclass(frozen=True)
class SkippedFile:
    """A photo of a folder that could not be read: its frame number, name, and why."""

    index: int
    name: str
    reason: str


class SourceError(Exception):
    """Media that cannot be opened or read; the message names the source, for the user."""


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """The one pixel layout the rest of the app handles, from whatever a decoder produced.

    Grey, 16-bit and float images keep their contrast (scaled, not clipped); alpha is dropped
    because the network sees colour only.  Raises ValueError for layouts no image file yields.
    """
    image = np.ascontiguousarray(_to_uint8(np.asarray(image)))
    channels = image.shape[2] if image.ndim == 3 else 1 if image.ndim == 2 else 0
    if image.size == 0 or channels not in _BGR_CONVERSIONS:
        raise ValueError(f"cannot show an image of shape {image.shape}")
    conversion = _BGR_CONVERSIONS[channels]
    return image if conversion is None else cv2.cvtColor(image, conversion)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"cannot show {image.dtype} pixels")


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

    def __init__(self, description: str) -> None:
        self.description = description
        self.size: tuple[int, int] = (0, 0)  # (width, height) of the frame last handed out
        self._index = 0
        self._pending: Frame | None = None
        self._closed = False
        # Files passed over, in order (folders only).  Appended by whichever thread reads, so
        # a consumer takes the ones before the frame in its hand: see ``skipped_before``.
        self.skipped_files: list[SkippedFile] = []

    def skipped_before(self, index: int | None, reported: int) -> list[SkippedFile]:
        """The skipped files after the first ``reported``, up to frame ``index`` (all of them
        when ``index`` is None: at the end of the media)."""
        return [skip for skip in self.skipped_files[reported:]
                if index is None or skip.index < index]

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
        frame = Frame(image=image, index=self._index, timestamp=timestamp, file=self._file_name())
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
        self._prime(_NOT_MEDIA)

    def _open(self) -> cv2.VideoCapture:
        with _user_errors(self.description):
            capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SourceError(f"{self.description}: {_NOT_MEDIA}")
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
        self._prime(_NOT_MEDIA)

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
    frame number, and listed in ``skipped_files`` with why.  Timestamps are seconds since
    open: stills have no media time.
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
        self._prime(f"none of its images can be decoded: {_NOT_MEDIA}")

    @property
    def frame_count(self) -> int:  # type: ignore[override]
        """Images in the folder, less those found unreadable so far."""
        return len(self._files)

    @property
    def skipped(self) -> int:
        """How many of its images could not be read."""
        return len(self.skipped_files)

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
                self.skipped_files.append(SkippedFile(self._index, path.name, error.reason))
                self._index += 1
                continue
            self._position += 1
            self._last_file = path.name
            return image, time.perf_counter() - self._started
        return None

    def _file_name(self) -> str | None:
        return self._last_file


SYNTHETIC_SOURCE = "synthetic"


class SyntheticSource(FrameSource):
    """Frames the app draws itself (a figure waving its arms), for self-tests with no media
    and no camera: the whole pipeline runs, though the figure is no photograph."""

    fps = FALLBACK_FPS

    def __init__(self, size: tuple[int, int] = (640, 480), frames: int | None = None) -> None:
        super().__init__("generated frames")
        self._frame_size = size
        self.frame_count = frames
        self._prime("cannot draw frames")

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if self.frame_count is not None and self._index >= self.frame_count:
            return None
        time_s = self._index / self.fps
        return draw_figure(self._frame_size, time_s), time_s


def draw_figure(size: tuple[int, int], time_s: float) -> np.ndarray:
    """A stick figure on a plain wall, arms swinging with ``time_s``."""
    width, height = size
    image = np.full((height, width, 3), (170, 190, 205), np.uint8)
    unit = height / 10
    cx = width / 2
    swing = math.sin(2 * math.pi * 0.5 * time_s)

    def at(x: float, y: float) -> tuple[int, int]:
        return round(cx + x * unit), round(y * unit)

    limb, skin, cloth = max(2, round(unit * 0.45)), (150, 180, 230), (90, 60, 40)
    neck, hips = (0, 3.0), (0, 6.0)
    for side in (-1, 1):
        shoulder, hip = (side * 0.9, 3.2), (side * 0.5, 6.0)
        elbow = (side * (1.4 + 0.4 * swing), 4.6 - 1.2 * swing * side)
        wrist = (side * (1.6 + 0.8 * swing), 5.8 - 2.4 * swing * side)
        knee, ankle = (side * 0.6, 7.7), (side * 0.7, 9.4)
        cv2.line(image, at(*shoulder), at(*elbow), skin, limb, cv2.LINE_AA)
        cv2.line(image, at(*elbow), at(*wrist), skin, limb, cv2.LINE_AA)
        cv2.line(image, at(*hip), at(*knee), cloth, limb + 2, cv2.LINE_AA)
        cv2.line(image, at(*knee), at(*ankle), cloth, limb + 2, cv2.LINE_AA)
    torso = np.array([at(-0.9, 3.2), at(0.9, 3.2), at(0.5, 6.2), at(-0.5, 6.2)], np.int32)
    cv2.fillConvexPoly(image, torso, (60, 90, 160), cv2.LINE_AA)
    cv2.line(image, at(*neck), at(*hips), (60, 90, 160), limb, cv2.LINE_AA)
    cv2.circle(image, at(0, 2.2), round(unit * 0.75), skin, -1, cv2.LINE_AA)
    return image


def open_source(
    source: str | int | Path,
    *,
    loop: bool = False,
    camera_size: tuple[int, int] | None = None,
) -> FrameSource:
    """Opens what the user named: a camera index, a folder, an image or a video file (or the
    app's own drawn frames, ``SYNTHETIC_SOURCE``).

    Files are told apart by extension, so anything that is not a known image format is offered
    to the video decoders, which read far more formats than we could list.
    """
    if source == SYNTHETIC_SOURCE:
        return SyntheticSource()
    if is_camera_index(source):
        return CameraSource(int(source), camera_size)
    path = media_path(source)
    if path.is_dir():
        return ImageFolderSource(path, loop)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageSource(path, loop)
    return VideoSource(path, loop)


def is_camera_index(source: str | int | Path) -> bool:
    """A camera named by its number: 0, or "0" as the command line gives it."""
    return isinstance(source, int) or (
        isinstance(source, str) and source.isascii() and source.isdigit())


def check_media(source: str) -> None:
    """Before the model loads (seconds): a SourceError unless the media named is something to
    read (a camera index and the app's drawn frames are opened as they are): nothing there, or
    a pipe that would be waited on forever, is said at once."""
    if source != SYNTHETIC_SOURCE and not is_camera_index(source):
        media_path(source)


def media_path(source: str | Path) -> Path:
    """The path of the file or folder the user named, once it is one: a SourceError for an
    empty name, nothing there, or what reading would wait on (a pipe, a device), said before
    anything opens it."""
    if str(source) == "":  # Path("") is the current folder: an unset shell variable
        raise SourceError("no input given: the media's name is empty")
    path = Path(source).expanduser()
    what = not_a_file(path)
    if what == MISSING:
        raise SourceError(f"{source}: no such file or folder")
    if what not in (None, FOLDER):  # reading a pipe or a device would wait, perhaps forever
        raise SourceError(f"{source}: {what}, not a video, an image, a folder of photos or "
                          "a camera index")
    return path


def list_cameras(max_index: int = 4) -> list[int]:
    """Camera indices from 0 to ``max_index`` that open and deliver a frame, for a camera menu.

    Drivers list devices that are busy or are not cameras at all, so only a frame counts.
    """
    found = []
    for index in range(max_index + 1):
        try:
            with CameraSource(index):
                found.append(index)
        except SourceError:
            continue
    return found


def _sane_fps(fps: float) -> float | None:
    return fps if math.isfinite(fps) and 0 < fps <= _MAX_SANE_FPS else None


class UnreadableImage(OSError):
    """An image file that cannot be decoded whole: the message names the file and says why,
    ``reason`` says why alone (for messages that name the file their own way)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def read_image(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 BGR, the way every part of the app reads photos: the
    EXIF orientation applied, 16-bit and grey images converted by to_bgr8, any path (non-ASCII
    ones too), and a JPEG cut short refused rather than padded with grey.  UnreadableImage
    when it cannot be decoded whole."""
    path = Path(path)
    try:
        # Bytes first: cv2.imread cannot open non-ASCII paths on Windows.  A pipe named as a
        # photo is refused, not waited on.
        data = read_regular_file(path)
    except OSError as error:
        raise UnreadableImage(path, str(error.strerror or error)) from error
    if data and not _is_truncated_jpeg(data):
        try:
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), _IMREAD_FLAGS)
            if decoded is not None:
                return to_bgr8(decoded)
        except (ValueError, cv2.error):
            pass
        size = _declared_size(data)
        if size is not None and size[0] * size[1] > _MAX_IMAGE_PIXELS:
            raise UnreadableImage(
                path, f"too large to open: {size[0]:,} x {size[1]:,} pixels, and OpenCV "
                f"decodes at most {_MAX_IMAGE_PIXELS:,} pixels (about {_MAX_IMAGE_SIDE:,} x "
                f"{_MAX_IMAGE_SIDE:,}); scale it down first")
    raise UnreadableImage(path, _NOT_MEDIA)


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as a PNG or JPEG header states it, without decoding; None if unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        position = 2
        while position + 9 <= len(data) and data[position] == 0xFF:
            marker = data[position + 1]
            if marker == 0xFF:
                position += 1
            elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height = int.from_bytes(data[position + 5:position + 7], "big")
                return int.from_bytes(data[position + 7:position + 9], "big"), height
            else:
                position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return None


def _is_truncated_jpeg(data: bytes) -> bool:
    """Whether a JPEG stops before its end marker.

    libjpeg fills a cut-off JPEG with grey and OpenCV reports success, so the cut is found
    here: the end marker must follow the first scan.  Searching from the first scan, not
    checking the last two bytes, accepts the thumbnails inside EXIF data and the videos that
    phones append after the image ("motion photos").
    """
    if not data.startswith(b"\xff\xd8"):
        return False
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False  # not a marker where one belongs: leave the verdict to the decoder
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", position) < 0
        else:
            position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return True


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
