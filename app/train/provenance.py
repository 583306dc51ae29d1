"""What saved weights say of how they were made.

Every weights file a run writes (``best.safetensors``, ``last.safetensors``) carries its
training record in its spec: the data and mix, the recipe, each stage's steps, hours and
hardware, the validation history, the teacher's changes and, for the best weights, their
scores.  The model card is written from it at publishing, and ``--init`` goes on from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from app.model.devices import device_name
from app.train.config import TrainConfig
from app.train.datasets import DatasetSplit
from app.train.run_state import RunState

# Settings of where and how long a run ran, not of how its weights were made.
NOT_RECIPE = ("data", "run_dir", "init", "device", "max_steps")


@dataclass(frozen=True)
class Provenance:
    """The facts of one run that do not change while it trains; with its :class:`RunState`,
    the record its weights carry."""

    config: TrainConfig
    splits: list[DatasetSplit]
    device: torch.device
    world: int  # processes training together: the batch per step is theirs summed
    steps_per_epoch: int
    judge: str  # the dataset whose validation slice chooses the best weights
    teacher_changes: dict[str, dict]

    def stages(self, state: RunState) -> list[dict]:
        """The stages behind the current weights: the init weights' and this run's own."""
        this_run = {
            "device": self.device.type, "hardware": device_name(self.device),
            "data": self.config.data, "repeats": [split.repeats for split in self.splits],
            "start": state.stage_start["start"],
            "steps": state.step - state.stage_start["step"],
            "batch_size": self.config.batch_size * self.world,
            "hours": round((state.elapsed - state.stage_start["elapsed"]) / 3600, 3),
        }
        return [*state.earlier_stages, this_run]

    def summary(self, state: RunState, validation: dict | None = None) -> dict:
        """The training record of the weights as they stand, with their scores when
        ``validation`` (a log record) measured them."""
        summary = {
            "dataset": self.describe_data(),
            "steps": state.step, "epochs": round(state.step / self.steps_per_epoch, 2),
            "hours": round(state.elapsed / 3600, 3), "device": self.device.type,
            "history": state.history, "stages": self.stages(state),
            "teacher_changes": self.teacher_changes,
            "recipe": {k: v for k, v in asdict(self.config).items() if k not in NOT_RECIPE},
        }
        if validation is not None:
            judged = validation["slices"][self.judge]
            summary |= {"judge": self.judge,
                        "validation_pck": judged["mean"],
                        "validation_per_stack": judged["per_stack"],
                        "validation_per_joint": judged["per_joint"],
                        "validation_slices": {name: evaluation["mean"] for name, evaluation
                                              in validation["slices"].items()}}
        return summary

    def describe_data(self) -> str:
        """The datasets and the mix, in words."""
        return " + ".join(
            f"{split.name} ({path}, {len(split.validation)} held out"
            + (f", x{split.repeats} an epoch)" if split.repeats != 1 else ")")
            for split, path in zip(self.splits, self.config.data, strict=True))
