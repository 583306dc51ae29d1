"""Measuring speed: the model alone, the whole live pipeline (following a person, and finding
one), and the variants.  (Long runs are app/engine/soak.py's.)

Speed is judged here, never by timed unit tests: every figure is a median over many frames
after a warm-up, and the report says what machine it came from.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from app.engine.charts import draw_line_chart
from app.engine.drawing import draw_pose
from app.engine.drawn_figure import SYNTHETIC_SOURCE
from app.engine.frame_run import FrameRun
from app.engine.open_media import open_source
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.sources import Frame
from app.model.checkpoint import LoadedModel
from app.model.devices import DeviceError, cpu_supports_bf16, device_name
from app.model.predictors import Predictor, create_predictor, describe_runtime
from app.model.timing import random_crop, time_calls


@dataclass(frozen=True)
class Latency:
    stacks: int
    median_ms: float
    p90_ms: float


# The stages of a followed frame, in the loop's order (app/engine/pipeline.py times the middle
# four; reading is the wait for the reader thread's next frame, drawing the skeleton on a copy).
STAGES = ("read", "crop", "model", "decode", "smooth", "draw")


@dataclass(frozen=True)
class StackRow:
    """One stack count: the model's own time, the whole pipeline's rate while it follows a
    person and where that time goes, and what a frame costs when the person must first be
    found."""

    stacks: int
    model_ms_median: float
    model_ms_p90: float
    e2e_fps: float
    overhead_ms: float  # per frame, everything that is not the model
    precision: str
    find_ms: float = 0.0  # median: a frame with no track, the media's first, searched
    find_nobody_ms: float = 0.0  # median: an empty frame, every window searched
    stages_ms: dict[str, float] = field(default_factory=dict)  # median per STAGES entry

    @property
    def bound_fps(self) -> float:
        """The most the pipeline could reach if everything but the model were free."""
        return 1000.0 / self.model_ms_median

    @property
    def outside_share(self) -> float:
        """The share of a frame's end-to-end time spent outside the network."""
        return self.overhead_ms * self.e2e_fps / 1000


@dataclass
class RuntimeRows:
    """One runtime's rows: the app's own first, then the other CPU runtime beside it."""

    name: str  # app.model.predictors.describe_runtime
    runtime: str
    isa: str
    rows: list[StackRow] = field(default_factory=list)
    flip_fps: float = 0.0  # end to end at every stack with the flip test


@dataclass(frozen=True)
class Variant:
    """One way of running the same network, timed at every stack count."""

    name: str
    median_ms: list[float]
    max_difference: float  # largest heatmap difference from plain fp32 eager


@dataclass
class BenchReport:
    device: str
    machine: str
    input_size: tuple[int, int]
    runtimes: list[RuntimeRows] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    first_pose_s: float | None = None
    peak_memory_mb: float = 0.0

    @property
    def rows(self) -> list[StackRow]:
        """The rows of the runtime the app runs."""
        return self.runtimes[0].rows if self.runtimes else []

    def to_dict(self) -> dict:
        return {
            "device": self.device,
            "machine": self.machine,
            "input_size": list(self.input_size),
            "rows": [asdict(row) for row in self.rows],
            "runtimes": [asdict(runtime) for runtime in self.runtimes],
            "variants": [asdict(v) for v in self.variants],
            "first_pose_s": self.first_pose_s,
            "peak_memory_mb": round(self.peak_memory_mb, 1),
        }


def model_latency(predictor: Predictor, stacks: int, runs: int = 30, warmup: int = 5
                  ) -> Latency:
    """Median and 90th percentile of one crop through the first ``stacks`` stacks."""
    crop = random_crop(predictor.spec.input_size)
    times = time_calls(lambda: predictor(crop, stacks), predictor.device, runs, warmup)
    return Latency(stacks, float(np.median(times)), float(np.percentile(times, 90)))


def acquisition_latency(pipeline: PosePipeline, image: np.ndarray, stacks: int,
                        runs: int = 10, warmup: int = 2) -> Latency:
    """A frame with no track (the first, or after a cut): searched whole and in windows, the
    best candidate refined.  The pipeline is reset before each run."""
    options = PipelineOptions(stacks=stacks, smoothing=False)

    def find() -> None:
        pipeline.reset()
        pipeline.process(Frame(image, 0, 0.0), options)

    times = time_calls(find, pipeline.predictor.device, runs, warmup)
    return Latency(stacks, float(np.median(times)), float(np.percentile(times, 90)))


def live_frames(pipeline: PosePipeline, media: str, options: PipelineOptions, count: int
                ) -> Iterator[tuple[int, dict[str, float]]]:
    """The app's loop (a FrameRun, looping the media), ``count`` times: read, crop, model,
    decode, smooth, draw (on a copy, as the window does).  Yields each frame's index and its
    milliseconds per stage (:data:`STAGES`) once it is drawn, with the reader still running,
    so callers measure between frames."""
    skeleton = pipeline.spec.skeleton
    with FrameRun(open_source(media, loop=True), pipeline, options) as run:
        for index in range(count):
            started = time.perf_counter()
            frame = run.read(timeout=10)
            if frame is None:
                raise RuntimeError(f"{media}: no frame within 10 s")
            read = time.perf_counter()
            result = run.process(frame)
            processed = time.perf_counter()
            draw_pose(frame.image.copy(), result.keypoints, result.confidences, skeleton)
            drawn = time.perf_counter()
            yield index, {"read": 1000 * (read - started), **result.timings_ms,
                          "draw": 1000 * (drawn - processed)}


@dataclass(frozen=True)
class LiveRun:
    """Frames through the live loop: each one's milliseconds, end to end, and the median of
    each stage."""

    frame_ms: list[float]
    stages_ms: dict[str, float]

    @property
    def fps(self) -> float:
        return 1000 / float(np.mean(self.frame_ms))


def end_to_end(pipeline: PosePipeline, media: str, stacks: int, frames: int,
               warmup: int = 10, flip: bool = False) -> LiveRun:
    """``frames`` frames through the real pipeline (:func:`live_frames`), each timed from the
    end of the one before.  The person is found during the warm-up, so on a single scene this
    is the rate of following them (the run resets the pipeline as it opens the media)."""
    frame_ms: list[float] = []
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    last = time.perf_counter()
    options = PipelineOptions(stacks=stacks, flip=flip)
    for index, stage_ms in live_frames(pipeline, media, options, warmup + frames):
        now = time.perf_counter()
        if index >= warmup:
            frame_ms.append(1000 * (now - last))
            for stage in STAGES:
                stages[stage].append(stage_ms[stage])
        last = now
    return LiveRun(frame_ms, {stage: float(np.median(ms)) for stage, ms in stages.items()})


def variant_predictors(loaded: LoadedModel, device: torch.device) -> dict[str, Predictor]:
    """The ways worth comparing on this device; the first (PyTorch fp32, eager) is the
    reference.  On the CPU, OpenVINO's precisions too, where it loads."""
    def torch_variant(precision: str, fold: bool = True) -> Predictor:
        return create_predictor(loaded, device.type, precision, fold, runtime="torch")

    variants = {"fp32 eager": torch_variant("fp32", fold=False),
                "fp32 BN folded": torch_variant("fp32")}
    if device.type == "cuda":
        variants["fp16 BN folded"] = torch_variant("fp16")
        return variants
    if cpu_supports_bf16():
        variants["bf16 BN folded"] = torch_variant("bf16")
    for precision in ("fp32", "bf16"):
        try:
            variants[f"OpenVINO {precision}"] = create_predictor(
                loaded, "cpu", precision, runtime="openvino")
        except DeviceError:
            break  # no OpenVINO here: the PyTorch variants alone
    return variants


def compare_variants(loaded: LoadedModel, device: torch.device, runs: int) -> list[Variant]:
    predictors = variant_predictors(loaded, device)
    crop = random_crop(loaded.spec.input_size)
    reference = next(iter(predictors.values()))(crop)
    variants = []
    for name, predictor in predictors.items():
        medians = [model_latency(predictor, k, runs).median_ms
                   for k in range(1, loaded.spec.config.stacks + 1)]
        difference = float(np.abs(predictor(crop) - reference).max())
        variants.append(Variant(name, medians, difference))
    return variants


def peak_memory_mb() -> float:
    """The process's peak resident memory (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if platform.system() == "Darwin" else peak / 1024


def seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux), imports and model loading included."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


def first_pose_seconds(pipeline: PosePipeline, first: Frame) -> float | None:
    """From process start to the pose of the media's ``first`` frame."""
    pipeline.process(first)
    return seconds_since_process_start()


def other_cpu_runtime(loaded: LoadedModel, predictor: Predictor) -> Predictor | None:
    """The CPU runtime the app does not run, to measure beside it (None on CUDA, or where
    OpenVINO does not load)."""
    if predictor.device.type != "cpu":
        return None
    other = "torch" if predictor.runtime == "openvino" else "openvino"
    try:
        return create_predictor(loaded, "cpu", runtime=other)
    except DeviceError:
        return None


def runtime_rows(predictor: Predictor, media: str, first: Frame, frames: int, runs: int,
                 progress: Callable[[str], None]) -> RuntimeRows:
    """Every stack count through one runtime: the model alone, the whole pipeline following
    the person (and where its time goes), and finding them."""
    pipeline = PosePipeline(predictor)
    nobody = np.full_like(first.image, 128)
    search_runs = max(3, runs // 5)
    measured = RuntimeRows(describe_runtime(predictor), predictor.runtime, predictor.isa)
    for stacks in range(1, predictor.spec.config.stacks + 1):
        progress(f"{predictor.runtime}, stacks {stacks}: model alone, the whole pipeline, "
                 "finding the person")
        latency = model_latency(predictor, stacks, runs)
        following = end_to_end(pipeline, media, stacks, frames)
        find = acquisition_latency(pipeline, first.image, stacks, search_runs)
        find_nobody = acquisition_latency(pipeline, nobody, stacks, search_runs)
        measured.rows.append(StackRow(stacks, latency.median_ms, latency.p90_ms,
                                      following.fps, 1000 / following.fps - latency.median_ms,
                                      predictor.precision, find.median_ms,
                                      find_nobody.median_ms, following.stages_ms))
    measured.flip_fps = end_to_end(pipeline, media, predictor.spec.config.stacks, frames,
                                   flip=True).fps
    return measured


def run_bench(loaded: LoadedModel, predictor: Predictor, media: str | None,
              frames: int, runs: int = 50, variants: bool = True, compare: bool = True,
              progress: Callable[[str], None] = print) -> BenchReport:
    """The full report: first pose, per-stack rows of the app's runtime (and, on the CPU and
    with ``compare``, of the other runtime beside it), variants, peak memory."""
    media = media or SYNTHETIC_SOURCE
    with open_source(media) as source:
        first = source.read()
    if first is None:
        raise RuntimeError(f"{media}: no frame to measure")
    report = BenchReport(device=predictor.device.type, machine=device_name(predictor.device),
                         input_size=(first.image.shape[1], first.image.shape[0]))
    report.first_pose_s = first_pose_seconds(PosePipeline(predictor), first)
    report.runtimes.append(runtime_rows(predictor, media, first, frames, runs, progress))
    other = other_cpu_runtime(loaded, predictor) if compare else None
    if other is not None:
        report.runtimes.append(runtime_rows(other, media, first, frames, runs, progress))
    if variants:
        progress("variants")
        report.variants = compare_variants(loaded, predictor.device, max(10, runs // 2))
    report.peak_memory_mb = peak_memory_mb()
    return report


def format_report(report: BenchReport) -> str:
    lines = [f"device {report.device} ({report.machine}), input "
             f"{report.input_size[0]}x{report.input_size[1]}"]
    for measured in report.runtimes:
        lines += ["", measured.name,
                  "stacks  model ms (median / p90)  bound fps  e2e fps  e2e/bound  overhead ms"
                  "  outside  find ms  find, nobody ms"]
        for row in measured.rows:
            lines.append(
                f"{row.stacks:>6}  {row.model_ms_median:>13.2f} / {row.model_ms_p90:<6.2f}"
                f"  {row.bound_fps:>9.1f}  {row.e2e_fps:>7.1f}  "
                f"{100 * row.e2e_fps / row.bound_fps:>8.0f}%  {row.overhead_ms:>11.2f}  "
                f"{100 * row.outside_share:>6.0f}%  {row.find_ms:>7.1f}  "
                f"{row.find_nobody_ms:>15.1f}")
        lines.append(f"with the flip test, all {len(measured.rows)} stacks: "
                     f"{measured.flip_fps:.1f} frames/s end to end")
    lines += ["", "e2e: following the person, one crop a frame; outside: the share of its time "
              "spent outside the network.  find: a frame with no track (the first, a cut), "
              "searched and refined; nobody: an empty frame, every window searched.", "",
              "where a followed frame's time goes (median ms)",
              f"{'runtime':<10} stacks  " + "  ".join(f"{stage:>6}" for stage in STAGES)]
    for measured in report.runtimes:
        for row in measured.rows:
            lines.append(f"{measured.runtime:<10} {row.stacks:>6}  " + "  ".join(
                f"{row.stages_ms.get(stage, 0.0):>6.2f}" for stage in STAGES))
    if report.variants:
        stacks = len(report.variants[0].median_ms)
        lines += ["", f"{'variant':<18} model ms at 1..{stacks} stacks".ljust(20 + 7 * stacks)
                  + "max |difference| from fp32 eager"]
        for variant in report.variants:
            times = " ".join(f"{ms:6.2f}" for ms in variant.median_ms)
            lines.append(f"{variant.name:<18} {times}  {variant.max_difference:.1e}")
    if report.first_pose_s is not None:
        lines.append(f"\nfirst pose {report.first_pose_s:.2f} s after process start")
    lines.append(f"peak memory {report.peak_memory_mb:.0f} MB")
    return "\n".join(lines)


def plot_report(report: BenchReport, path: str | Path) -> None:
    """Frames per second against stacks: end to end, and the model's own bound."""
    stacks = [row.stacks for row in report.rows]
    best = max(max(row.bound_fps, row.e2e_fps) for row in report.rows)
    step = 20 if best > 60 else 10
    draw_line_chart(
        {"end to end": (stacks, [row.e2e_fps for row in report.rows]),
         "model bound": (stacks, [row.bound_fps for row in report.rows])},
        path, f"frames/s against stacks ({report.device}, {report.input_size[0]}x"
              f"{report.input_size[1]})",
        x_ticks=stacks, y_ticks=range(0, int(best // step + 2) * step, step), markers=True)
