"""The one way a predictor is made, and which runtime runs the network where.

A predictor answers uint8 crops with every requested stack's heatmaps as numpy, whichever
runtime is behind it, so nothing above the model layer knows which one runs:

- on the CPU, OpenVINO (:mod:`app.model.openvino_runtime`), several times faster than PyTorch
  on the same processor; where it cannot load or compile the model, PyTorch, with a note
  that says why (once per model and process: a second try would fail the same way);
- on CUDA, and on the CPU when asked for (``runtime="torch"``: comparisons, a fallback),
  PyTorch (:class:`app.model.runner.HeatmapPredictor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from app.model.checkpoint import LoadedModel
from app.model.openvino_runtime import (
    OpenVinoError,
    OpenVinoPredictor,
    native_bf16,
    openvino_version,
)
from app.model.runner import (
    PRECISIONS,
    DeviceError,
    HeatmapPredictor,
    cpu_supports_bf16,
    random_crop,
    remembered_cpu_precision,
    resolve_device,
    slow_precision_note,
    time_calls,
)
from app.model.spec import ModelSpec

RUNTIMES = ("auto", "openvino", "torch")
TORCH_CPU_THREADS = 1  # see create_predictor
# The app's device list offers the CPU through PyTorch beside the CPU through OpenVINO, under
# this name; the command line says it as ``--device cpu --runtime torch``.
CPU_THROUGH_TORCH = "cpu-torch"


class Predictor(Protocol):
    """What the pipeline, evaluation and the bench call."""

    spec: ModelSpec
    device: torch.device
    precision: str
    runtime: str  # "openvino" or "torch"
    isa: str  # the instruction set (or GPU) the network's kernels run on
    note: str | None  # something the user should know about how it runs here

    def __call__(self, crops: np.ndarray, stacks: int | None = None, flip: bool = False
                 ) -> np.ndarray: ...


# Why OpenVINO could not run a model, by the model's file and precision: said once (in the
# predictor's note), not tried again in this process (a failed conversion costs seconds).
_openvino_failures: dict[tuple[Path, str], str] = {}


def split_device(choice: str) -> tuple[str, str]:
    """A device list entry (``auto``, ``cpu``, ``cuda`` or ``cpu-torch``) as (device,
    runtime)."""
    if choice == CPU_THROUGH_TORCH:
        return "cpu", "torch"
    return choice, "auto"


def create_predictor(loaded: LoadedModel, device: str = "auto", precision: str = "auto",
                     fold: bool = True, runtime: str = "auto") -> Predictor:
    """The network on the best device there is (or the one asked for), through the fastest
    runtime there (or the one asked for), at its best precision (or the one asked for),
    BatchNorm folded into the convolutions unless ``fold`` is off (PyTorch only: the bench
    compares the variants).

    ``auto`` precision is bf16 through OpenVINO where the CPU has native bf16, else fp32; fp16
    on CUDA; through PyTorch on the CPU, bf16 where oneDNN has native bf16 kernels and a quick
    race shows it faster than fp32 here, raced once per machine and remembered.
    """
    if runtime not in RUNTIMES:
        raise DeviceError(f"unknown runtime {runtime!r} (use {', '.join(RUNTIMES)})")
    if precision not in ("auto", *PRECISIONS):
        raise DeviceError(f"unknown precision {precision!r} (use auto, {', '.join(PRECISIONS)})")
    chosen = resolve_device(device)
    if runtime == "openvino" and chosen.type != "cpu":
        raise DeviceError("OpenVINO runs the network on the CPU only")
    note = None
    if chosen.type == "cpu" and runtime != "torch" and fold and precision != "fp16":
        key = (loaded.source, precision)
        failure = _openvino_failures.get(key)
        if failure is None:
            try:
                return OpenVinoPredictor(loaded.network, loaded.spec, openvino_precision(precision))
            except OpenVinoError as error:
                failure = _openvino_failures[key] = str(error)
                note = f"{failure}; the network runs on PyTorch instead, several times slower"
        if runtime == "openvino":
            raise DeviceError(failure)
    if chosen.type == "cpu":
        # PyTorch's CPU threads wait for each other by spinning: beside one busy core (a
        # browser tab, a video call) two of them kept 4 to 13% of their idle frames/s, frames
        # taking up to 77 times the idle median; one thread keeps all of it, at 7 to 10% below
        # two threads' idle rate (`bench --load 1`).  One pool serves the whole process.
        torch.set_num_threads(TORCH_CPU_THREADS)
    if precision == "auto":
        precision = "fp16" if chosen.type == "cuda" else remembered_cpu_precision(
            loaded.spec, lambda: fastest_cpu_precision(loaded))
    predictor = HeatmapPredictor(loaded.network, loaded.spec, chosen, PRECISIONS[precision],
                                 fold)
    predictor.note = note or slow_precision_note(chosen, precision)
    return predictor


def openvino_precision(precision: str) -> str:
    """``auto`` through OpenVINO: bf16 where this CPU has it natively, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16() else "fp32"


def device_choices() -> dict[str, str]:
    """The app's device list, each entry's name and label, best last: the CPU through
    OpenVINO and through PyTorch (only the latter where OpenVINO does not load), CUDA."""
    if openvino_version() is None:
        choices = {"cpu": "CPU"}
    else:
        choices = {CPU_THROUGH_TORCH: "CPU (PyTorch)", "cpu": "CPU (OpenVINO)"}
    if torch.cuda.is_available():
        choices["cuda"] = "CUDA"
    return choices


def device_choice(predictor: Predictor) -> str:
    """The device list's entry for where ``predictor`` runs."""
    if predictor.device.type == "cpu" and predictor.runtime == "torch" and \
            CPU_THROUGH_TORCH in device_choices():
        return CPU_THROUGH_TORCH
    return predictor.device.type


def fastest_cpu_precision(loaded: LoadedModel, runs: int = 5) -> str:
    """fp32 or bf16, whichever runs the first stack faster through PyTorch on this CPU (a
    fraction of a second: a few passes of each)."""
    if not cpu_supports_bf16():
        return "fp32"
    crop = random_crop(loaded.spec.input_size)
    medians = {}
    for name in ("fp32", "bf16"):
        predictor = HeatmapPredictor(loaded.network, loaded.spec, "cpu", PRECISIONS[name],
                                     fold=True)
        times = time_calls(lambda p=predictor: p(crop, 1), predictor.device, runs, warmup=2)
        medians[name] = float(np.median(times))
    return min(medians, key=medians.get)


def describe_runtime(predictor: Predictor) -> str:
    """Where and how the network runs, in words for ``info`` and the bench."""
    if predictor.device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(predictor.device)}) through PyTorch, " \
               f"{predictor.precision}"
    if predictor.runtime == "openvino":
        engine = f"OpenVINO {openvino_version()}"
    else:
        engine = f"PyTorch {torch.__version__}"
    return f"CPU through {engine}, {predictor.precision} (kernels: {predictor.isa})"
