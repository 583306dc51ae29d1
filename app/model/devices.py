"""Where the network runs and at what precision: every such decision is made here.

- The device: ``auto`` is CUDA where PyTorch sees it, else the CPU (:func:`resolve_device`).
  The app's device list (:func:`device_choices`) offers the CPU twice, through OpenVINO and
  through PyTorch, so its entries name a runtime as well as a device (:func:`split_device`).
- The precision ``auto`` stands for: through OpenVINO, bf16 where the CPU has it natively, else
  fp32 (:func:`openvino_precision`); through PyTorch, fp16 on CUDA, and on the CPU whichever of
  fp32 and bf16 a race finds faster, raced once per machine and remembered
  (:func:`torch_precision`), so that the same command gives the same keypoints every time.
- A word for a precision asked for by hand that runs slower than fp32 here
  (:func:`slow_precision_note`).

The race runs the network, so it is the predictors' (``app.model.predictors``): this module
decides and remembers, and builds nothing.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from app.atomic_write import write_atomically
from app.model.openvino_runtime import native_bf16, openvino_version
from app.model.spec import ModelSpec
from app.paths import cache_dir

if TYPE_CHECKING:
    from app.model.predictors import Predictor

# The precisions a predictor runs at, by the names the command line and reports use.
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
RUNTIMES = ("auto", "openvino", "torch")
# The app's device list offers the CPU through PyTorch beside the CPU through OpenVINO, under
# this name; the command line says it as ``--device cpu --runtime torch``.
CPU_THROUGH_TORCH = "cpu-torch"


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


def split_device(choice: str) -> tuple[str, str]:
    """A device list entry (``auto``, ``cpu``, ``cuda`` or ``cpu-torch``) as (device,
    runtime)."""
    if choice == CPU_THROUGH_TORCH:
        return "cpu", "torch"
    return choice, "auto"


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


def openvino_precision(precision: str) -> str:
    """``auto`` through OpenVINO: bf16 where this CPU has it natively, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16() else "fp32"


def torch_precision(precision: str, device: torch.device, spec: ModelSpec,
                    race: Callable[[], str]) -> str:
    """``auto`` through PyTorch: fp16 on CUDA; on the CPU, what ``race`` picks, remembered."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "fp16"
    return remembered_cpu_precision(spec, race)


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
        write_atomically(store, json.dumps({**known, key: chosen}, indent=1).encode("utf-8"))
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
