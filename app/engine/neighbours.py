"""Speed beside a busy neighbour: the bench's ``--load N`` mode.

A person's machine runs other things (a browser tab, a video call), and a runtime whose worker
threads wait for each other by spinning on a shared core collapses then, far below its idle
rate.  This runs the live pipeline idle and again with ``N`` processes each keeping one core
busy, and reports both rates and the slowest frame, so that steadiness is measured, not hoped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from app.engine.benchmark import end_to_end, other_cpu_runtime
from app.engine.drawn_figure import SYNTHETIC_SOURCE
from app.engine.pipeline import PosePipeline
from app.model.checkpoint import LoadedModel
from app.model.predictors import Predictor, describe_runtime


@contextmanager
def busy_neighbours(count: int) -> Iterator[None]:
    """``count`` processes, each spinning one core at full speed until the block ends."""
    if getattr(sys, "frozen", False):
        raise RuntimeError("--load needs a Python to run the busy neighbours: run it from a "
                           "checkout (`.venv/bin/hourglass-pose bench --load 1`)")
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count)]
    try:
        time.sleep(0.5)  # each has started spinning before anything is measured
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class LoadRow:
    """One stack count, idle and beside the neighbours."""

    stacks: int
    idle_fps: float
    loaded_fps: float
    idle_median_ms: float
    loaded_max_ms: float

    @property
    def kept(self) -> float:
        """The share of the idle rate kept under load."""
        return self.loaded_fps / self.idle_fps

    @property
    def worst_over_idle(self) -> float:
        """The slowest loaded frame against the median idle one."""
        return self.loaded_max_ms / self.idle_median_ms


def load_rows(predictor: Predictor, media: str, frames: int, load: int) -> list[LoadRow]:
    """Every stack count idle, then beside ``load`` busy neighbours."""
    pipeline = PosePipeline(predictor)
    stack_counts = range(1, predictor.spec.config.stacks + 1)
    idle = {k: end_to_end(pipeline, media, k, frames) for k in stack_counts}
    with busy_neighbours(load):
        loaded = {k: end_to_end(pipeline, media, k, frames) for k in stack_counts}
    return [LoadRow(k, idle[k].fps, loaded[k].fps, float(np.median(idle[k].frame_ms)),
                    max(loaded[k].frame_ms)) for k in stack_counts]


def format_load(name: str, load: int, rows: list[LoadRow]) -> str:
    lines = [name, f"stacks  idle fps  with {load} busy core{'s' * (load > 1)} fps  kept  "
                   "idle median ms  slowest loaded ms  slowest / idle median"]
    for row in rows:
        lines.append(f"{row.stacks:>6}  {row.idle_fps:>8.1f}  {row.loaded_fps:>19.1f}  "
                     f"{100 * row.kept:>3.0f}%  {row.idle_median_ms:>14.2f}  "
                     f"{row.loaded_max_ms:>17.1f}  {row.worst_over_idle:>21.1f}x")
    return "\n".join(lines)


def load_report(loaded: LoadedModel, predictor: Predictor, media: str | None, frames: int,
                load: int) -> str:
    """The app's runtime, and on the CPU the other one, idle and beside ``load`` busy cores."""
    runtimes = [predictor, other_cpu_runtime(loaded, predictor)]
    return "\n\n".join(
        format_load(describe_runtime(each), load,
                    load_rows(each, media or SYNTHETIC_SOURCE, frames, load))
        for each in runtimes if each is not None)
