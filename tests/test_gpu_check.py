"""`make gpu-check`: says so and passes without CUDA; its table holds every stack count of
both networks (the CUDA run itself happens on a machine with a GPU)."""

from __future__ import annotations

import pytest
import torch

from app.engine import gpu_check
from app.engine.benchmark import run_bench
from app.model.architecture import HourglassConfig
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so_and_passes(capsys):
    assert gpu_check.main() == 0
    assert "no CUDA device here" in capsys.readouterr().out


def test_the_table_has_every_check_and_every_stack_of_both_networks(tiny_checkpoint):
    loaded = load_checkpoint(tiny_checkpoint)
    ours = run_bench(loaded, create_predictor(loaded, "cpu"), None, frames=3, runs=3,
                     variants=False, progress=lambda _: None)
    small = HourglassConfig(stacks=3, channels=16, depth=2, joints=16, stem_channels=8)
    paper = gpu_check.paper_size_latencies("cpu", small, 64, "fp32", runs=2)
    assert [latency.stacks for latency in paper] == [1, 2, 3]
    assert all(latency.median_ms > 0 for latency in paper)
    table = gpu_check.format_table([("CUDA tests", True, 12.0), ("self-test", False, 30.0)],
                                   ours, paper)
    assert "| CUDA tests | pass | 12 |" in table and "| self-test | FAIL | 30 |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "2", "3"]
    assert all(len(row.split("|")) == 8 for row in rows)  # six cells, also past our 2 stacks
