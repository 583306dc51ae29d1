"""Writing results: keypoints as JSON lines and annotated video.

The JSON-lines format is shared by ``infer`` and the app's recordings: one object per frame
with the frame index, its time, the crop box and every joint by name, in true (unmirrored)
frame pixels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from app.engine.pipeline import PoseResult
from app.pose.skeleton import Skeleton


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
        try:
            self._file: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write here ({error.strerror})") from error

    def write(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        except OSError as error:
            raise OutputError(f"{self.path}: writing failed ({error.strerror})") from error

    def close(self) -> None:
        self._file.close()


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
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
