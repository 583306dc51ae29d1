"""Timing the network the same way wherever it is timed: the bench (``app.engine.benchmark``)
and the race that picks a CPU precision (``app.model.predictors``).  In the model layer, so
the race needs nothing from the engine."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch


def time_calls(call: Callable[[], object], device: torch.device, runs: int, warmup: int
               ) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls after ``warmup`` untimed ones (CUDA work
    is waited for, so its time is counted)."""
    for _ in range(warmup):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(1000 * (time.perf_counter() - started))
    return times


def random_crop(size: int) -> np.ndarray:
    """A fixed random (1, size, size, 3) uint8 crop, for timing."""
    return np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
