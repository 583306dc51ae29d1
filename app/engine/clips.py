"""Video clips made from still photos: demo and test media where no camera exists.

A photo collection such as LSPet has no video, so a clip shows each photo for a few frames,
letterboxed to one size, which is enough to exercise every stage of the live pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from app.engine.image_files import IMAGE_EXTENSIONS, UnreadableImage, read_image
from app.engine.sources import SourceError, quiet_ffmpeg


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to fit (width, height) and pad with black, keeping its aspect."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    resized_w, resized_h = round(image.shape[1] * scale), round(image.shape[0] * scale)
    resized = cv2.resize(image, (resized_w, resized_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized_h) // 2, (width - resized_w) // 2
    canvas[top:top + resized_h, left:left + resized_w] = resized
    return canvas


def write_clip(frames: Iterable[np.ndarray], path: str | Path, fps: float,
               size: tuple[int, int]) -> int:
    """Write BGR frames of ``size`` as an MP4 (mp4v); returns how many were written."""
    quiet_ffmpeg()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"{path}: cannot write an MP4 here")
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    return count


def photo_clip_frames(photos: Iterable[Path], size: tuple[int, int], hold: int
                      ) -> Iterable[np.ndarray]:
    """Each readable photo, letterboxed, repeated ``hold`` times."""
    for photo in photos:
        try:
            frame = letterbox(read_image(photo), size)
        except UnreadableImage:
            continue
        for _ in range(hold):
            yield frame


def photos_in(folder: str | Path, count: int) -> list[Path]:
    """The first ``count`` images of a folder (or of its ``images/``), in name order."""
    folder = Path(folder)
    if (folder / "images").is_dir():
        folder = folder / "images"
    if not folder.is_dir():
        raise SourceError(f"{folder}: no such folder")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not photos:
        raise SourceError(f"{folder}: no images in this folder")
    return photos[:count]
