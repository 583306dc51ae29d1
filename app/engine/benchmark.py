"""Timing the model: latency per stack count at batch 1, as the live app runs it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.model.runner import HeatmapPredictor


@dataclass(frozen=True)
class Latency:
    stacks: int
    median_ms: float
    p90_ms: float


def model_latency(predictor: HeatmapPredictor, stacks: int, runs: int = 30, warmup: int = 5
                  ) -> Latency:
    """Median and 90th percentile of one crop through the first ``stacks`` stacks."""
    size = predictor.spec.input_size
    crop = np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    times = []
    for run in range(warmup + runs):
        started = time.perf_counter()
        predictor(crop, stacks)
        if run >= warmup:
            times.append(1000 * (time.perf_counter() - started))
    return Latency(stacks, float(np.median(times)), float(np.percentile(times, 90)))
