"""A bigger network that starts from what a smaller one learnt: wider (``widen.py``), deeper
(``deepen.py``), or both, widened first so that the copied stacks are already wide.

Training's ``--init`` asks here whether a checkpoint can start a run of another architecture.
"""

from __future__ import annotations

from dataclasses import replace

from app.model.architecture import HourglassConfig
from app.model.deepen import deepened, deepening_error
from app.model.hourglass import StackedHourglass
from app.model.widen import widened, widening_error


def growth_error(small: HourglassConfig, big: HourglassConfig) -> str | None:
    """Why ``small`` cannot grow into ``big``; None when it can."""
    wide = replace(small, channels=big.channels)
    if wide != small:
        error = widening_error(small, wide)
        if error:
            return error
    return deepening_error(wide, big) if wide != big else None


def grown(network: StackedHourglass, big: HourglassConfig, seed: int = 0
          ) -> tuple[StackedHourglass, str]:
    """``network`` grown into ``big``, and how, in words (for the training log)."""
    small = network.config
    error = growth_error(small, big)
    if error:
        raise ValueError(f"cannot grow {small.stacks}x{small.channels} into "
                         f"{big.stacks}x{big.channels}: {error}")
    steps = []
    if big.channels != small.channels:
        network = widened(network, big.channels, seed=seed)
        steps.append(f"widened from {small.channels} channels")
    if big.stacks != small.stacks:
        network = deepened(network, big.stacks)
        steps.append(f"deepened from {small.stacks} stacks")
    return network, "a copy (" + ", ".join(steps) + ")"
