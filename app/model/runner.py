"""Running a network on crops: device choice, precision, the flip test; numpy out.

Everything above this module (the engine, evaluation) hands in uint8 crops and gets float32
heatmaps back, so no tensor crosses into the GUI or the codec.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from app.model.folding import fold_batchnorm
from app.model.hourglass import StackedHourglass
from app.model.inputs import normalise_batch
from app.model.spec import ModelSpec
from app.paths import cache_dir
from app.pose.heatmaps import merge_flipped


class DeviceError(RuntimeError):
    """A device was asked for that this machine does not have."""


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA where present, else the CPU; ``cuda`` without CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for, but PyTorch sees no CUDA device here")
    if device.type not in ("cpu", "cuda"):
        raise DeviceError(f"unsupported device {name!r} (use cpu, cuda or auto)")
    return device


def cpu_name() -> str:
    """The processor's model name and core count, as a card reader can compare them (and as
    the remembered precision choice is keyed: it does not change between runs)."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, {os.cpu_count()} cores"


def device_name(device: torch.device) -> str:
    """What a reader of a log or a bench report needs to compare figures: the GPU's name, or
    the CPU's with the threads PyTorch runs on it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def cpu_supports_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels on this CPU (AVX512-BF16 or AMX)."""
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def remembered_cpu_precision(spec: ModelSpec, race: Callable[[], str]) -> str:
    """The CPU precision ``race`` picks for this processor, PyTorch and architecture, raced the
    first time only and read back ever after: a race can go either way when the two are close,
    and the same command on the same machine should give the same keypoints every time.

    Kept in ``precision.json`` in the cache folder (delete it to race again); where that cannot
    be written, the race runs every time.
    """
    config = spec.config
    key = (f"{cpu_name()}; torch {torch.__version__}; {config.stacks}x{config.channels} depth "
           f"{config.depth} blocks {config.blocks}, input {spec.input_size}")
    store = cache_dir() / "precision.json"
    known = _read_choices(store)
    if known.get(key) in ("fp32", "bf16"):
        return known[key]
    chosen = race()
    known = _read_choices(store)  # another process may have raced meanwhile: the first stands
    if known.get(key) in ("fp32", "bf16"):
        return known[key]
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        temporary = store.with_name(f".{store.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({**known, key: chosen}, indent=1), encoding="utf-8")
        os.replace(temporary, store)
    except OSError:
        pass  # not remembered: raced again next time
    return chosen


def _read_choices(store: Path) -> dict:
    try:
        known = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def slow_precision_note(device: torch.device, precision: str) -> str | None:
    """A word for a precision that this device runs slower than fp32, as asked for by hand."""
    if device.type != "cpu":
        return None
    if precision == "fp16":
        return ("fp16 has no fast kernels on the CPU and runs several times slower than fp32 "
                "here (--precision auto picks the fastest)")
    if precision == "bf16" and not cpu_supports_bf16():
        return ("this CPU has no native bf16 instructions, so bf16 runs slower than fp32 "
                "(--precision auto picks the fastest)")
    return None


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


# The precisions a predictor runs at, by the names the command line and reports use.
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class HeatmapPredictor:
    """A network on a device through PyTorch, answering crops with every requested stack's
    heatmaps."""

    runtime = "torch"
    note: str | None = None  # the factory's word on how it runs (app.model.predictors)

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
