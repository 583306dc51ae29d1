"""The GUI's door to models (app.engine.models): a checkpoint read once runs on one device
after another, each time as a fresh pipeline with a plain description, and a failed device
has a next one to go to until the CPU through PyTorch, the last resort."""

from __future__ import annotations

import shutil
from dataclasses import fields
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.engine.models import (
    CPU_THROUGH_TORCH,
    CheckpointError,
    ModelInfo,
    PoseModel,
    device_choices,
    fallback_choice,
)
from app.engine.sources import Frame


def test_a_model_runs_on_one_choice_after_another_without_reading_the_file_again(
        tiny_checkpoint, tmp_path):
    copy = tmp_path / "model.safetensors"
    shutil.copyfile(tiny_checkpoint, copy)
    model = PoseModel.load(copy)
    first, info = model.run_on(CPU_THROUGH_TORCH if CPU_THROUGH_TORCH in device_choices()
                               else "cpu")
    assert (info.device, info.runtime, info.source) == ("cpu", "torch", copy)
    assert info.choice in device_choices() and info.spec == model.spec
    copy.unlink()
    again, _ = model.run_on("cpu")
    assert again is not first
    frame = Frame(np.zeros((64, 64, 3), np.uint8), 0, 0.0)
    assert again.process(frame).keypoints.shape == (14, 2)


def test_what_the_gui_is_told_holds_no_tensor(tiny_checkpoint):
    _, info = PoseModel.load(tiny_checkpoint).run_on("cpu")
    assert not any(isinstance(getattr(info, f.name), torch.Tensor | torch.nn.Module)
                   for f in fields(ModelInfo))


def test_a_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError):
        PoseModel.load(tmp_path / "nothing.safetensors")


@pytest.mark.parametrize(("device", "runtime", "next_choice"), [
    ("cuda", "torch", "cpu"), ("cpu", "openvino", CPU_THROUGH_TORCH), ("cpu", "torch", None)])
def test_a_failed_device_falls_back_to_the_cpu_then_to_pytorch(device, runtime, next_choice):
    pipeline = SimpleNamespace(predictor=SimpleNamespace(device=torch.device(device),
                                                         runtime=runtime))
    assert fallback_choice(pipeline) == next_choice
