"""The GUI's one door to models and devices, so that it never imports torch or ``app.model``
(``tests/test_layers.py`` keeps it so): a checkpoint is read once into a :class:`PoseModel`,
whose network stays behind this module, and run on whichever entry of the device list the user
picks, giving a :class:`PosePipeline` to run frames through and a :class:`ModelInfo` to show.

After a failed frame, :func:`fallback_choice` says where to go next.  ``device_choices`` (the
window's device list), ``CPU_THROUGH_TORCH``, ``DeviceError`` and ``CheckpointError`` are
re-exported on purpose: this module is the GUI's entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.engine.pipeline import PosePipeline
from app.model.checkpoint import LoadedModel, load_model
from app.model.devices import (
    CPU_THROUGH_TORCH,
    DeviceError,
    device_choice,
    device_choices,
    split_device,
)
from app.model.predictors import create_predictor
from app.model.spec import CheckpointError, ModelSpec

__all__ = [
    "CPU_THROUGH_TORCH",
    "CheckpointError",
    "DeviceError",
    "ModelInfo",
    "PoseModel",
    "device_choices",
    "fallback_choice",
]


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI may know of a running model: no tensors, no network (a spec is plain
    data, and reading it loads no tensor library)."""

    spec: ModelSpec
    source: Path
    device: str  # cpu or cuda
    precision: str
    runtime: str = "torch"  # or openvino
    choice: str = "cpu"  # the device list's entry it runs as (device_choices)
    note: str | None = None  # something the user should know about how it runs here

    @property
    def where(self) -> str:
        """The device and runtime, as the status bar says them."""
        return self.device.upper() + (" · OpenVINO" if self.runtime == "openvino" else "")


class PoseModel:
    """A checkpoint read once, to run on one device after another (the user's pick, a
    fallback after a failure) without reading the file again."""

    def __init__(self, loaded: LoadedModel) -> None:
        self._loaded = loaded

    @classmethod
    def load(cls, path: str | Path | None) -> PoseModel:
        """The checkpoint at ``path``, or the shipped model for None; a CheckpointError says
        why one cannot be used."""
        return cls(load_model(path))

    @property
    def spec(self) -> ModelSpec:
        return self._loaded.spec

    def run_on(self, choice: str) -> tuple[PosePipeline, ModelInfo]:
        """A fresh pipeline on ``choice`` (``auto`` or an entry of :func:`device_choices`),
        and what to say of it; a DeviceError where that device is not there or too small."""
        device, runtime = split_device(choice)
        predictor = create_predictor(self._loaded, device, runtime=runtime)
        info = ModelInfo(self._loaded.spec, self._loaded.source, predictor.device.type,
                         predictor.precision, predictor.runtime, device_choice(predictor),
                         predictor.note)
        return PosePipeline(predictor), info


def fallback_choice(pipeline: PosePipeline) -> str | None:
    """Where to run after a frame failed on ``pipeline``: off a GPU to the CPU, off OpenVINO
    to PyTorch on the CPU; None on the CPU through PyTorch, where nothing is left to try."""
    predictor = pipeline.predictor
    if predictor.device.type != "cpu":
        return "cpu"
    if predictor.runtime != "torch":
        return CPU_THROUGH_TORCH
    return None
