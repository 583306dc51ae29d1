"""Long runs: the live loop over many frames must keep memory, threads and open files flat,
since the app runs for hours.  Measured on the running process, before and after, never
guessed from a short run; the bench's ``--soak`` mode.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.engine.benchmark import live_frames, peak_memory_mb
from app.engine.drawn_figure import SYNTHETIC_SOURCE
from app.engine.pipeline import PipelineOptions, PosePipeline


@dataclass(frozen=True)
class SoakResult:
    frames: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    threads_after_warmup: int
    threads_end: int
    open_files_after_warmup: int
    open_files_end: int

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_after_warmup_mb


def resident_mb() -> float:
    """Current resident memory (Linux /proc; the peak elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_memory_mb()


def open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def soak(pipeline: PosePipeline, media: str | None, frames: int, warmup: int = 100,
         progress: Callable[[int], None] | None = None) -> SoakResult:
    """Run ``frames`` frames (after ``warmup``) and compare memory, threads and files."""
    media = media or SYNTHETIC_SOURCE
    baseline = end = (0.0, 0, 0)
    for index, _ in live_frames(pipeline, media, PipelineOptions(keep_heatmaps=True),
                             warmup + frames):
        if index == warmup - 1:
            baseline = (resident_mb(), threading.active_count(), open_files())
        if index == warmup + frames - 1:
            end = (resident_mb(), threading.active_count(), open_files())
        if progress and index % 100 == 0:
            progress(index)
    return SoakResult(frames, baseline[0], end[0], baseline[1], end[1], baseline[2], end[2])
