"""Writing results: keypoints as JSON lines and annotated video.

The JSON-lines format is shared by ``infer`` and the app's recordings: one object per frame
with the frame index, its time, the crop box and every joint by name, in true (unmirrored)
frame pixels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from app.engine.pipeline import PoseResult
from app.pose.skeleton import Skeleton

# OpenCV's video encoder does not report a full disk: it drops frames, then cannot write the
# index an MP4 needs at its end, and the file does not play.  So a recording stops while this
# much room is left to finish it properly (checked every DISK_CHECK_EVERY frames).
MIN_FREE_BYTES = 64 * 1024 * 1024
DISK_CHECK_EVERY = 15


class OutputError(Exception):
    """An output file that cannot be written; the message names it."""


def pose_record(result: PoseResult, skeleton: Skeleton) -> dict:
    """The JSON object for one frame."""
    return {
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


class JsonLinesWriter:
    """Appends one JSON object per line and flushes it, so a crash loses at most one frame."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._write_failed = False
        try:
            self._file: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write here ({error.strerror})") from error

    def write(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        except OSError as error:
            self._write_failed = True
            raise OutputError(f"{self.path}: writing failed ({error.strerror})") from error

    def close(self) -> None:
        """Closes the file, also after a failed write (whose unwritten line is dropped then:
        that failure was reported already); a failure first seen here is an OutputError."""
        try:
            self._file.close()
        except OSError as error:
            if not self._write_failed:
                raise OutputError(f"{self.path}: closing failed ({error.strerror})") from error


class VideoWriter:
    """MP4 (mp4v) of annotated frames; the size is fixed by the first frame."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0
        if not self.path.parent.is_dir():
            raise OutputError(f"{self.path}: the folder {self.path.parent} does not exist")

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                           self.fps, (width, height))
            if not self._writer.isOpened():
                raise OutputError(f"{self.path}: cannot open a video file for writing")
        if self.frames % DISK_CHECK_EVERY == 0:
            self._check_free_space()
        self._writer.write(image)
        self.frames += 1

    def _check_free_space(self) -> None:
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return  # no answer (some network drives): write on, as OpenCV would
        if free < MIN_FREE_BYTES:
            raise OutputError(f"{self.path}: the disk is almost full ({free // 2**20} MB "
                              "left), so the video was ended here")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
