"""What tests measure of the process and its outputs: resident memory (now and at its peak),
threads, open files, and the frames a video file really holds.  Linux only (/proc), as the
tests that use them are."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2


def rss_mb() -> float:
    return _status_field("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_field("VmHWM") / 1024


def reset_peak_rss() -> bool:
    """Restart the kernel's high-water mark of resident memory (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise LookupError(name)


def native_threads(at_most: int | None = None) -> int:
    """Threads of this process.  A thread just joined can linger in the kernel's count for a
    moment, so with ``at_most`` this waits (up to two seconds) for the count to come down."""
    deadline = time.monotonic() + 2.0
    while (count := _status_field("Threads")) > (at_most or count) and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def video_frames(path: Path) -> int:
    """Frames decoded from a video file, by reading them all (not the container's claim)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count
