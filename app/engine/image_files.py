"""Image files as the app reads them: every photo, wherever it comes from (a folder shown live,
a still, a training set, a demo clip), is decoded here, the same way.

Decoders fail quietly in the ways that matter: OpenCV pads a cut-off JPEG with grey and calls
it a success, clips 16-bit samples, ignores non-ASCII paths on Windows, and says nothing useful
about an image too large to open.  Each of those is caught here and said as one reason.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from app.filekinds import read_regular_file

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

NOT_MEDIA = "not readable media (OpenCV cannot decode it; is the file corrupt or truncated?)"

# ANYDEPTH keeps 16-bit samples so to_bgr8 can scale them instead of OpenCV clipping them.
# IMREAD_UNCHANGED would do that too, but it also ignores the EXIF orientation, and phone
# photos would come out lying on their side.  (ANYCOLOR drops alpha, as to_bgr8 would.)
_IMREAD_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR

# OpenCV refuses to decode images of more pixels than this (CV_IO_MAX_IMAGE_PIXELS's default).
_MAX_IMAGE_PIXELS = 1 << 30
_MAX_IMAGE_SIDE = math.isqrt(_MAX_IMAGE_PIXELS)

_BGR_CONVERSIONS = {1: cv2.COLOR_GRAY2BGR, 3: None, 4: cv2.COLOR_BGRA2BGR}


class UnreadableImage(OSError):
    """An image file that cannot be decoded whole: the message names the file and says why,
    ``reason`` says why alone (for messages that name the file their own way)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


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
    raise UnreadableImage(path, NOT_MEDIA)


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
