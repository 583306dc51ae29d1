"""`make gpu-check`: everything that needs a GPU, in one command and one table.

The app is meant to run the hourglass on a GPU, and machines with one are lent to this
project only now and then, so whoever gets one runs this first: the CUDA tests, the
self-test through the real window on CUDA, and the bench on CUDA at every stack count (fp16)
for the shipped model and for a paper-size network (Newell et al.'s 8 stacks x 256 channels at
256 px, random weights: the cost per stack at the size the paper ran).  Without CUDA it
says so and succeeds, so that it can run anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from app.engine.benchmark import BenchReport, Latency, model_latency, run_bench
from app.model.architecture import HourglassConfig
from app.model.checkpoint import LoadedModel, load_model
from app.model.hourglass import StackedHourglass
from app.model.predictors import create_predictor
from app.model.spec import ModelSpec
from app.pose.skeleton import MPII16

PAPER_CONFIG = HourglassConfig(stacks=8, channels=256, depth=4, joints=16)
PAPER_INPUT = 256


def paper_size_latencies(device: str, config: HourglassConfig = PAPER_CONFIG,
                         input_size: int = PAPER_INPUT, precision: str = "fp16",
                         runs: int = 50) -> list[Latency]:
    """Latency per stack count of a random-weights hourglass (the paper's 8 x 256 at 256 px,
    fp16, unless told otherwise), BatchNorm folded as the app runs it."""
    torch.manual_seed(0)
    paper = LoadedModel(StackedHourglass(config).eval(),
                        ModelSpec(config, MPII16, input_size=input_size), Path("random weights"))
    predictor = create_predictor(paper, device, precision)
    return [model_latency(predictor, stacks, runs) for stacks in range(1, config.stacks + 1)]


def passes(command: list[str]) -> tuple[bool, float]:
    """Whether ``command`` (a check run in its own process, output shown) exits 0, and how
    long it took."""
    print("$", " ".join(command), flush=True)
    started = time.monotonic()
    environment = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM",
                                                                   "offscreen")}
    done = subprocess.run(command, env=environment, check=False)
    return done.returncode == 0, time.monotonic() - started


def format_table(checks: list[tuple[str, bool, float]], ours: BenchReport,
                 paper: list[Latency]) -> str:
    lines = [f"gpu-check on {ours.machine} (PyTorch {torch.__version__}, CUDA "
             f"{torch.version.cuda})", "", "| check | result | seconds |", "|---|---|---:|"]
    lines += [f"| {name} | {'pass' if ok else 'FAIL'} | {seconds:.0f} |"
              for name, ok, seconds in checks]
    lines += ["", f"| stacks | shipped model ms (median / p90) | end-to-end fps | find ms | "
                  f"find, nobody ms | paper-size {PAPER_CONFIG.stacks}x{PAPER_CONFIG.channels} "
                  f"at {PAPER_INPUT} px ms (median / p90) |",
              "|---:|---:|---:|---:|---:|---:|"]
    for index, latency in enumerate(paper):
        row = ours.rows[index] if index < len(ours.rows) else None
        shipped = (f"{row.model_ms_median:.2f} / {row.model_ms_p90:.2f} | {row.e2e_fps:.0f} | "
                   f"{row.find_ms:.1f} | {row.find_nobody_ms:.1f}" if row else " | | | ")
        lines.append(f"| {latency.stacks} | {shipped} | {latency.median_ms:.2f} / "
                     f"{latency.p90_ms:.2f} |")
    lines += ["", f"Precision {ours.rows[0].precision if ours.rows else '?'}, input "
                  f"{ours.input_size[0]}x{ours.input_size[1]}; first pose "
                  f"{ours.first_pose_s or float('nan'):.1f} s; peak memory "
                  f"{ours.peak_memory_mb:.0f} MB."]
    return "\n".join(lines)


def main() -> int:
    if not torch.cuda.is_available():
        print(f"gpu-check: PyTorch {torch.__version__} sees no CUDA device here "
              f"(CUDA build: {torch.version.cuda or 'none'}); nothing to check.")
        return 0
    python = sys.executable
    checks = []
    for name, command in (
            ("CUDA tests", [python, "-m", "pytest", "-m", "cuda", "-q", "tests/test_cuda.py"]),
            ("self-test on CUDA", [python, "-m", "app", "--self-test", "--device", "cuda"])):
        checks.append((name, *passes(command)))
    loaded = load_model(None)
    ours = run_bench(loaded, create_predictor(loaded, "cuda"), None, frames=300,
                     variants=False)
    paper = paper_size_latencies("cuda")
    print()
    print(format_table(checks, ours, paper))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
