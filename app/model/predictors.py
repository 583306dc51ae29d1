"""The one way a predictor is made, and the predictor that runs the network through PyTorch.

A predictor answers uint8 crops with every requested stack's heatmaps as numpy, whichever
runtime is behind it, so nothing above the model layer knows which one runs, and no tensor
crosses into the engine, the GUI or the codec:

- on the CPU, OpenVINO (:mod:`app.model.openvino_runtime`), several times faster than PyTorch
  on the same processor; where it cannot load or compile the model, PyTorch, with a note
  that says why (once per model and process: a second try would fail the same way);
- on CUDA, and on the CPU when asked for (``runtime="torch"``: comparisons, a fallback),
  PyTorch (:class:`HeatmapPredictor`).

Which device and which precision is :mod:`app.model.devices`' to decide; the factory asks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from app.model.checkpoint import LoadedModel
from app.model.devices import (
    PRECISIONS,
    RUNTIMES,
    DeviceError,
    cpu_supports_bf16,
    openvino_precision,
    resolve_device,
    slow_precision_note,
    torch_precision,
)
from app.model.folding import fold_batchnorm
from app.model.hourglass import StackedHourglass
from app.model.inputs import normalise_batch
from app.model.openvino_runtime import OpenVinoError, OpenVinoPredictor, openvino_version
from app.model.spec import ModelSpec
from app.model.timing import random_crop, time_calls
from app.pose.heatmaps import merge_flipped

TORCH_CPU_THREADS = 1  # see create_predictor


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


def create_predictor(loaded: LoadedModel, device: str = "auto", precision: str = "auto",
                     fold: bool = True, runtime: str = "auto") -> Predictor:
    """The network on the best device there is (or the one asked for), through the fastest
    runtime there (or the one asked for), at its best precision (or the one asked for),
    BatchNorm folded into the convolutions unless ``fold`` is off (PyTorch only: the bench
    compares the variants).  What ``auto`` means on each device and runtime is
    :mod:`app.model.devices`' to say.
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
    precision = torch_precision(precision, chosen, loaded.spec,
                                lambda: fastest_cpu_precision(loaded))
    predictor = HeatmapPredictor(loaded.network, loaded.spec, chosen, PRECISIONS[precision],
                                 fold)
    predictor.note = note or slow_precision_note(chosen, precision)
    return predictor


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


class HeatmapPredictor:
    """A network on a device through PyTorch, answering crops with every requested stack's
    heatmaps."""

    runtime = "torch"
    note: str | None = None  # create_predictor's word on how it runs

    def __init__(
        self,
        network: StackedHourglass,
        spec: ModelSpec,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        fold: bool = False,
    ) -> None:
        """``fold`` runs a copy with BatchNorm folded into the convolutions (inference only:
        the network's own weights are left as they are, so training can go on)."""
        self.spec = spec
        self.device = torch.device(device)
        self.dtype = dtype
        if fold:
            network = fold_batchnorm(network)
        try:
            self.network = network.to(self.device, dtype).to(memory_format=torch.channels_last)
        except torch.OutOfMemoryError as error:
            raise DeviceError(f"{self.device.type.upper()} has too little free memory for "
                              "this model") from error
        self.flip_permutation = spec.skeleton.flip_permutation()

    @property
    def isa(self) -> str:
        """The instruction set PyTorch's CPU kernels use here, or the GPU's name."""
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return torch.backends.cpu.get_cpu_capability().lower()

    @property
    def precision(self) -> str:
        return next(name for name, dtype in PRECISIONS.items() if dtype == self.dtype)

    @torch.inference_mode()
    def __call__(
        self, crops: np.ndarray, stacks: int | None = None, flip: bool = False
    ) -> np.ndarray:
        """Heatmaps (K, B, J, H, W) float32 for (B, S, S, 3) uint8 BGR crops.

        Running out of device memory anywhere on the way (the input copy, the network, the
        copy back) is a DeviceError, so callers can fall back to the CPU.
        """
        try:
            heatmaps = self._run(crops, stacks, flip)
        except torch.OutOfMemoryError as error:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()  # hand back what the failed pass had reserved
            raise DeviceError(f"{self.device.type.upper()} ran out of memory") from error
        if not flip:
            return heatmaps
        count = len(crops)
        return merge_flipped(heatmaps[:, :count], heatmaps[:, count:], self.flip_permutation)

    def _run(self, crops: np.ndarray, stacks: int | None, flip: bool) -> np.ndarray:
        batch = normalise_batch(crops, self.spec.mean, self.spec.std, self.device, self.dtype)
        if flip:
            batch = torch.cat([batch, batch.flip(-1)])
        was_training = self.network.training
        self.network.eval()
        try:
            outputs = self.network(batch, stacks)
        finally:
            self.network.train(was_training)
        return torch.stack(outputs).float().cpu().numpy()
