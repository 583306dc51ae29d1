"""Where a training run stands, as ``last.pt`` keeps it between sessions.

Runs are stopped and resumed many times (sessions end, Ctrl-C, ``kill``), and a resumed run
must go on exactly: the same weights, EMA, optimiser moments, schedule position and random
stream.  :class:`RunState` is the one list of what that takes; it writes and reads the file
itself, so the keys are named once.  The format is the one runs have always written (flat keys,
the tensors as state dicts), so a run started by earlier code resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import torch

from app.atomic_write import AtomicFile
from app.train.config import TrainConfig
from app.train.stages import stages_of


class Stateful(Protocol):
    """What ``last.pt`` keeps of the network, EMA, optimiser and gradient scaler."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> Any: ...


def fresh_stage() -> dict:
    return {"start": "from scratch", "step": 0, "elapsed": 0.0}


@dataclass
class RunState:
    """A run's counters and record; with the tensors handed to :meth:`save`, all it needs to
    go on.  The schedule is a function of ``step`` alone, so nothing else of it is kept."""

    step: int = 0
    warmup_from: int = 0  # where the learning rate last warmed up: a fresh optimiser's step
    elapsed: float = 0.0  # seconds spent in training steps, over every stage behind the weights
    best_pck: float = -1.0  # the judging slice's best so far: what best.safetensors scored
    history: list[dict] = field(default_factory=list)  # each validation, for the card's curve
    earlier_stages: list[dict] = field(default_factory=list)  # those of the weights started from
    stage_start: dict = field(default_factory=fresh_stage)  # where this run's stage began

    def save(self, path: Path, config: TrainConfig, parts: Mapping[str, Stateful]) -> None:
        """Write ``last.pt`` whole or not at all: a run killed while saving resumes from the
        previous one."""
        state = {"config": asdict(config),
                 **{name: part.state_dict() for name, part in parts.items()},
                 **asdict(self), "rng_torch": torch.get_rng_state()}
        with AtomicFile(path) as file:
            torch.save(state, file.path)

    @classmethod
    def load(cls, path: Path, parts: Mapping[str, Stateful], device: torch.device) -> RunState:
        """Restore ``parts`` and the random stream from ``last.pt``; its counters.  Keys that
        older runs did not write start as a new run's."""
        state = torch.load(path, map_location=device, weights_only=True)
        for name, part in parts.items():
            part.load_state_dict(state[name])
        torch.set_rng_state(state["rng_torch"].cpu())  # the CPU generator takes no GPU tensor
        return cls(**{f.name: state[f.name] for f in fields(cls) if f.name in state})

    @classmethod
    def continuing(cls, training: dict, init: Path, new_schedule: bool) -> RunState:
        """A new run from published or saved weights (``--init``), from their training record:
        the same stage going on at their step, trying to beat their best, or (``new_schedule``)
        a new stage, often with a changed recipe, whose best weights are its own (``publish``
        is where they are weighed against the shipped model)."""
        step = 0 if new_schedule else int(training.get("steps", 0))
        elapsed = float(training.get("hours", 0.0)) * 3600
        return cls(step=step, warmup_from=step, elapsed=elapsed,
                   best_pck=-1.0 if new_schedule else float(training.get("validation_pck", -1.0)),
                   history=list(training.get("history", [])),
                   earlier_stages=stages_of(training),
                   stage_start={"start": f"from the weights in {init.parent.name}/{init.name}",
                                "step": step, "elapsed": elapsed})
