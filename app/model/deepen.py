"""A deeper hourglass that starts from what a shallower one learnt.

The first stacks are the trained ones, unchanged, so every early-exit count the shallow network
had keeps its heatmaps exactly.  Each new stack is a copy of the last trained stack, fed through
a copy of the last trained re-injection: that pair was trained to refine heatmaps handed on by
a stack before it, which is the new stack's job too, so training starts from a refiner instead
of random weights.  (Copying stack 1 instead would start a refiner from a stack that only ever
saw the stem's features.)
"""

from __future__ import annotations

from dataclasses import replace

from app.model.architecture import HourglassConfig
from app.model.hourglass import StackedHourglass


def deepening_error(shallow: HourglassConfig, deep: HourglassConfig) -> str | None:
    """Why ``shallow`` cannot be deepened into ``deep``; None when it can."""
    if replace(shallow, stacks=deep.stacks) != deep:
        return "only the stack count may differ"
    if deep.stacks < shallow.stacks:
        return f"{deep.stacks} stacks is fewer than {shallow.stacks}"
    if shallow.stacks < 2:
        return "a single stack has no re-injection to copy"
    return None


def source_key(key: str, shallow_stacks: int) -> str:
    """The shallow network's state-dict key that a deep network's ``key`` is copied from."""
    group, _, rest = key.partition(".")
    if group not in ("stacks", "reinjections"):
        return key
    index, _, tail = rest.partition(".")
    last = shallow_stacks - 1 if group == "stacks" else shallow_stacks - 2
    return f"{group}.{min(int(index), last)}.{tail}"


def deepened(network: StackedHourglass, stacks: int) -> StackedHourglass:
    """A copy of ``network`` with ``stacks`` stacks, its first ones the trained ones."""
    shallow = network.config
    deep_config = replace(shallow, stacks=stacks)
    error = deepening_error(shallow, deep_config)
    if error:
        raise ValueError(f"cannot deepen {shallow.stacks} to {stacks} stacks: {error}")
    deep = StackedHourglass(deep_config)
    trained = network.state_dict()
    deep.load_state_dict({key: trained[source_key(key, shallow.stacks)].clone()
                          for key in deep.state_dict()})
    return deep

