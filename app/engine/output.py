"""Writing results: keypoints as JSON lines, annotated video and snapshots, never at the cost of
a file the user already had.

``infer`` and the app's Record write through one :class:`PoseRecorder`, and the app's
Snapshot through :func:`write_snapshot`.  The JSON-lines format is one object per frame with
the frame index, its time, the crop box and every joint by name, in true (unmirrored) frame
pixels.

Every output is checked before anything is opened for writing
(:func:`app.engine.output_paths.check_outputs`), then written under a temporary name in its own
folder and renamed over the target only when the run keeps it (:mod:`app.atomic_write`).  A run
that fails, or is stopped before its first frame, leaves whatever was at the target as it was;
a recording whose own files cannot be written on (a disk filling up) keeps the frames it wrote,
whole and playable (:class:`PoseRecorder`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from app.atomic_write import AtomicFile, final_target, write_atomically
from app.engine.clips import letterbox
from app.engine.drawing import draw_pose
from app.engine.output_paths import (
    KEYPOINTS,
    SNAPSHOT,
    VIDEO,
    OutputError,
    check_outputs,
    replace_target,
    reserve_temporary,
)
from app.engine.pipeline import PoseResult
from app.engine.sources import FALLBACK_FPS, Frame, SkippedFile, quiet_ffmpeg
from app.pose.skeleton import Skeleton

# OpenCV's video encoder does not report a full disk: it drops frames, then cannot write the
# index an MP4 needs at its end, and the file does not play.  So every DISK_CHECK_EVERY frames
# a recording makes sure the frames up to the next check fit (twice their average size so far),
# with the index and ROOM_TO_SPARE (the keypoints, the file system's own blocks) after them, and
# ends there, playable, when they do not.  Before its first frame it asks room for a second of
# video, a frame counted as FIRST_FRAME_SHARE of its raw size (mp4v keeps about 1/100).
DISK_CHECK_EVERY = 15
ROOM_TO_SPARE = 4 * 2**20
INDEX_BYTES_PER_FRAME = 64  # an MP4's index: each frame's size, place, time (about 20 bytes)
FIRST_FRAME_SHARE = 1 / 16
MIN_VIDEO_SIDE = 2  # pixels: the MP4 encoder opens nothing for a frame 1 pixel wide or high


def pose_record(result: PoseResult, skeleton: Skeleton, file: str | None = None) -> dict:
    """The JSON object for one frame; ``file`` names the photo it came from, in a folder."""
    record = {
        "frame": result.frame_index,
        "time": round(result.timestamp, 4),
        "stacks": result.stacks,
        "box": [round(v, 2) for v in result.box.as_xywh()],
        "keypoints": [
            {"name": name, "x": round(float(x), 2), "y": round(float(y), 2),
             "confidence": round(float(c), 4)}
            for name, (x, y), c in zip(skeleton.joint_names, result.keypoints,
                                       result.confidences, strict=True)
        ],
    }
    if file is not None:
        record["file"] = file
    return record


def skipped_record(skipped: SkippedFile) -> dict:
    """The JSON object for a photo of a folder that could not be read: where it was, and why."""
    return {"frame": skipped.index, "file": skipped.name, "skipped": skipped.reason}


class JsonLinesWriter:
    """Appends one JSON object per line and flushes it, so a crash loses at most one frame.

    The lines go to a temporary file that replaces ``path`` on :meth:`close`; :meth:`discard`
    leaves ``path`` as it was.  After a failed write the file is cut back to its whole lines.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lines = 0
        self._whole_bytes = 0  # the lines written whole (json.dumps writes ASCII only)
        self._write_failed = False
        self._file_on_disk = reserve_temporary(self.path)
        try:
            # Appended to when written as it is: a file the shell opened (``>> log``) keeps
            # what it held, as it would for any program; a pipe or device is the same either way.
            self._file: IO[str] = open(  # noqa: SIM115 (closed by finish)
                self._file_on_disk.path, "a" if self._file_on_disk.direct else "w",
                encoding="utf-8")
        except OSError as error:
            self._file_on_disk.discard()
            raise OutputError(f"{self.path}: cannot write here ({error.strerror})") from error

    def write(self, record: dict) -> None:
        try:
            line = json.dumps(record, allow_nan=False)  # NaN is not JSON: refuse, never write it
        except ValueError as error:
            raise OutputError(f"{self.path}: a frame held a number JSON cannot hold "
                              f"({error})") from error
        try:
            self._file.write(line + "\n")
            self._file.flush()
            self.lines += 1
            self._whole_bytes += len(line) + 1
        except OSError as error:
            self._write_failed = True
            raise OutputError(f"{self.path}: writing failed ({error.strerror})") from error

    def finish(self) -> None:
        """Closes the file, also after a failed write (whose unwritten line is dropped then:
        that failure was reported already); a failure first seen here is an OutputError."""
        if self._file.closed:
            return
        try:
            self._file.close()
        except OSError as error:
            if not self._write_failed:
                raise OutputError(f"{self.path}: closing failed ({error.strerror})") from error
        if self._write_failed and not self._file_on_disk.direct:
            with contextlib.suppress(OSError):  # a line cut off by a full disk is no JSON
                os.truncate(self._file_on_disk.path, self._whole_bytes)

    def commit(self) -> None:
        replace_target(self._file_on_disk)

    def close(self) -> None:
        """Finish and keep: what was written replaces ``path``."""
        self.finish()
        self.commit()

    def discard(self) -> None:
        """Finish and forget: ``path`` stays as it was."""
        with contextlib.suppress(OutputError):  # what failed is being thrown away
            self.finish()
        self._file_on_disk.discard()


class VideoWriter:
    """MP4 (mp4v) of annotated frames; the size is fixed by the first frame, and later frames
    of another size (the photos of a folder) are letterboxed into it: the encoder would drop
    them without a word.

    Frames go to a temporary file that replaces ``path`` on :meth:`close` (a video of no frames
    replaces nothing); :meth:`discard` leaves ``path`` as it was.
    """

    def __init__(self, path: str | Path, fps: float | None) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else FALLBACK_FPS  # a source that does not say
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] = (0, 0)  # (width, height), from the first frame
        self._file_on_disk: AtomicFile | None = None
        self.frames = 0
        self._room_checked_at = -1  # the frame count at the last check that found room
        folder = final_target(self.path).parent
        if not folder.is_dir():
            raise OutputError(f"{self.path}: the folder {folder} does not exist")

    def write(self, image: np.ndarray) -> None:
        self.check_room(image)
        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self._size:
            image = letterbox(image, self._size)
        self._writer.write(image)
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        if min(width, height) < MIN_VIDEO_SIDE:  # the encoder's refusal would blame the file
            raise OutputError(f"{self.path}: the frames are {width}x{height} pixels, too small "
                              f"for a video (at least {MIN_VIDEO_SIDE}x{MIN_VIDEO_SIDE})")
        self._size = (width, height)
        self._file_on_disk = reserve_temporary(self.path)
        quiet_ffmpeg()
        self._writer = cv2.VideoWriter(str(self._file_on_disk.path),
                                       cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
        if not self._writer.isOpened():
            self._writer = None
            self._file_on_disk.discard()
            raise OutputError(f"{self.path}: cannot open a video file for writing")

    def check_room(self, image: np.ndarray) -> None:
        """Every DISK_CHECK_EVERY frames, before ``image`` is written: an OutputError when the
        frames up to the next check might not fit with the index after them, so the video
        ends where it still plays; before the first, when not even a second of video fits."""
        if self.frames % DISK_CHECK_EVERY or self._room_checked_at == self.frames:
            return
        try:
            free = shutil.disk_usage(final_target(self.path).parent).free
        except OSError:
            return  # no answer (some network drives): write on, as OpenCV would
        ahead = math.ceil(self.fps) if self.frames == 0 else DISK_CHECK_EVERY
        needed = self._room_for(ahead, image)
        if free < needed and self.frames == 0:
            raise OutputError(f"{self.path}: the disk has {_megabytes(free)} free, not enough "
                              f"for a second of this video (about {_megabytes(needed)})")
        if free < needed:
            raise OutputError(f"{self.path}: the disk is almost full ({_megabytes(free)} "
                              f"left), so the video ends at frame {self.frames}")
        self._room_checked_at = self.frames

    def _room_for(self, ahead: int, image: np.ndarray) -> int:
        """Bytes the next ``ahead`` frames, the index and the margin may take: the frames at
        twice their average so far, or a share of their raw size before any is on disk."""
        written = 0
        if self._file_on_disk is not None:
            with contextlib.suppress(OSError):
                written = self._file_on_disk.path.stat().st_size
        frame = written / self.frames if written and self.frames else (
            image.nbytes * FIRST_FRAME_SHARE)
        return int(2 * frame * ahead + INDEX_BYTES_PER_FRAME * (self.frames + ahead)
                   + ROOM_TO_SPARE)

    def finish(self) -> None:
        """Finalise the MP4 (its index is written now: until then it does not play)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def commit(self) -> None:
        if self._file_on_disk is None:
            return
        if self.frames:
            replace_target(self._file_on_disk)
        else:
            self._file_on_disk.discard()

    def close(self) -> None:
        """Finish and keep: the video replaces ``path`` (unless it has no frames)."""
        self.finish()
        self.commit()

    def discard(self) -> None:
        """Finish and forget: ``path`` stays as it was."""
        self.finish()
        if self._file_on_disk is not None:
            self._file_on_disk.discard()


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def keep_or_discard(writers: Sequence[JsonLinesWriter | VideoWriter], keep: bool) -> None:
    """Finish every writer, then each replaces its target (``keep``) or none does.

    Finishing comes first for all of them, so that one failing (a full disk) leaves every
    target as it was; that failure is raised.
    """
    if keep:
        try:
            for writer in writers:
                writer.finish()
        except OutputError:
            for writer in writers:
                writer.discard()
            raise
    for writer in writers:
        if keep:
            writer.commit()
        else:
            writer.discard()


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Encode ``image`` by the name's ending and save it whole, or leave ``path`` as it was.

    Encoded here and written by Python, because cv2.imwrite reports success on a full disk;
    this also reaches paths OpenCV cannot open (non-ASCII names on Windows).
    """
    path = Path(path)
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise OutputError(f"{path}: not an image type OpenCV can write")
    try:
        write_atomically(path, encoded.tobytes())
    except OSError as error:
        raise OutputError(f"{path}: could not be written ({error.strerror})") from error


class PoseRecorder:
    """One recording: each frame's pose as a JSON line and, where a video is asked for, the
    frame with its pose drawn on a copy, as an MP4.  ``infer`` and the app's Record both use it.

    Both files replace their targets only when :meth:`close` keeps them; until then, and when
    the recording is not kept, whatever was there stays as it was.  When a file cannot be
    written on (a disk filling up), the recording ends there and keeps the frames it has,
    whole in both files: the same for ``infer`` and the app, and the error says so.
    """

    def __init__(self, keypoints_path: str | Path, video_path: str | Path | None = None,
                 fps: float | None = None) -> None:
        self.keypoints = JsonLinesWriter(keypoints_path)
        try:
            self.video = VideoWriter(video_path, fps) if video_path is not None else None
        except OutputError:
            self.keypoints.discard()
            raise
        self.frames = 0  # frames recorded whole (every file has them)
        self.kept: bool | None = None  # once closed: whether the files replaced their targets

    @staticmethod
    def check(keypoints_path: str | Path, video_path: str | Path | None = None,
              inputs: Iterable[str | Path] = ()) -> None:
        """Raises OutputError unless the targets may be written (see :func:`check_outputs`),
        before anything is opened."""
        outputs = [(keypoints_path, KEYPOINTS)]
        if video_path is not None:
            outputs.append((video_path, VIDEO))
        check_outputs(outputs, inputs)

    def record(self, frame: Frame, result: PoseResult, skeleton: Skeleton) -> None:
        """One frame.  The video's room is checked first, and the keypoints written before the
        video: a full disk shows there (the video encoder fails silently), so a frame is in
        both files or in neither.  An OutputError ends the recording (see :meth:`_ended_by`)."""
        try:
            image = None
            if self.video is not None:
                image = draw_pose(frame.image.copy(), result.keypoints, result.confidences,
                                  skeleton)
                self.video.check_room(image)
            self.keypoints.write(pose_record(result, skeleton, frame.file))
            if self.video is not None:
                self.video.write(image)
        except OutputError as error:
            raise self._ended_by(error) from error
        self.frames += 1

    def record_skipped(self, skipped: SkippedFile) -> None:
        """A photo of a folder that could not be read: its line says where it was, and why."""
        try:
            self.keypoints.write(skipped_record(skipped))
        except OutputError as error:
            raise self._ended_by(error) from error

    def _ended_by(self, error: OutputError) -> OutputError:
        """A file that cannot be written on ends the recording, keeping the frames it has
        (what was written is the user's result, and a rerun may not have the disk space);
        the error, with what became of them."""
        keep = self.frames > 0
        try:
            self.close(keep)
        except OutputError as failure:
            return OutputError(f"{error}; what was written could not be saved ({failure})")
        if not keep:
            return OutputError(f"{error}; nothing was written")
        names = " and ".join(str(writer.path) for writer in (self.keypoints, self.video)
                             if writer is not None)
        return OutputError(f"{error}; the {self.frames} frame{'s' * (self.frames != 1)} "
                           f"written so far {'are' if self.frames != 1 else 'is'} kept in "
                           f"{names}")

    @property
    def lines(self) -> int:
        """Lines in the keypoints file: the frames and the skipped photos."""
        return self.keypoints.lines

    def close(self, keep: bool) -> None:
        """Finish both files (the video is finalised: until then it does not play); they
        replace their targets (``keep``) or neither does.  A failure is an OutputError.
        Once closed (also by a failure: see :meth:`record`), closing again does nothing."""
        if self.kept is not None:
            return
        self.kept = False
        writers: list[JsonLinesWriter | VideoWriter] = [self.keypoints]
        if self.video is not None:
            writers.insert(0, self.video)  # the one that must be finalised to play, first
        keep_or_discard(writers, keep)
        self.kept = keep


def write_snapshot(path: str | Path, image: np.ndarray, source: str | None = None) -> None:
    """The annotated frame, by the rules of every output: never over ``source`` (the file or
    folder shown), whole or not at all.  Raises OutputError naming what went wrong."""
    check_outputs([(path, SNAPSHOT)], [source] if source else [])
    write_image(path, image)
