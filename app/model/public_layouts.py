"""Public PyTorch hourglass checkpoints, renamed onto our module tree.

Two ports of Newell et al.'s network are widely shared.  Past the stem, both compute exactly
what our :class:`~app.model.hourglass.StackedHourglass` computes and only their module names
differ (bearpaw's stem widens one residual earlier: ``HourglassConfig.stem = "bearpaw"``):

* princeton-vl ``pytorch_stacked_hourglass`` (``PoseNet``): saved from ``Trainer(DataParallel(
  PoseNet))``, so keys start ``model.module.``; a recursive ``Hourglass`` (``up1``, ``low1``,
  ``low2``, ``low3``) and a ``Conv`` wrapper around every convolution.
* bearpaw ``pytorch-pose`` (``hg``): saved from ``DataParallel(HourglassNet)``, so keys start
  ``module.``; a flat ``hg[level][slot]`` table per hourglass whose level 0 is the innermost.

Each port is a small table of renames (their module path to ours) plus a function for the
hourglass levels.  Sizes are read from the tensors, never assumed.  Any tensor no rule explains,
and any structure ours cannot express, is refused with the reason: a file that loads but
computes something else would be worse than an error.  Missing tensors are left for
``build_network`` to report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch

from app.model.architecture import HourglassConfig
from app.model.spec import CheckpointError, ModelSpec
from app.pose.skeleton import MPII16

State = dict[str, torch.Tensor]

INPUT_SIZE = 256  # both ports train on 256 px crops
UNIT_STD = (1.0, 1.0, 1.0)  # neither divides by a standard deviation
WRAPPER_PREFIXES = ("module.", "model.")  # DataParallel, and princeton-vl's Trainer
SUPPORTED = (
    "this app's .safetensors files, and PyTorch checkpoints of "
    "princeton-vl/pytorch_stacked_hourglass (PoseNet) or bearpaw/pytorch-pose (hg)"
)


class Kind(Enum):
    """What a matched module is, and so how the rest of its key is renamed."""

    TENSOR = "a module whose tensors keep their names"
    RESIDUAL = "one residual block"
    HOURGLASS = "a whole hourglass"


@dataclass(frozen=True)
class Rule:
    """Their module path (a regex, groups allowed) becomes ``target`` (``\\1`` expands)."""

    source: re.Pattern[str]
    target: str
    kind: Kind


def rule(source: str, target: str, kind: Kind = Kind.TENSOR) -> Rule:
    """A rule; residuals and hourglasses capture the module path below them as ``rest``."""
    below = "" if kind is Kind.TENSOR else r"\.(?P<rest>.+)"
    return Rule(re.compile(source + below), target, kind)


# Inside an hourglass: (our path of one residual block, their path inside that block).
HourglassMapper = Callable[[str, int], tuple[str, str] | None]


@dataclass(frozen=True)
class Port:
    """One public PyTorch port of the hourglass: how it names its modules (its checkpoints'
    layout, recorded as ModelSpec.layout) and the preprocessing it was trained with."""

    name: str  # ModelSpec.layout
    title: str  # for messages
    signature: re.Pattern[str]  # a key only this port's checkpoints have
    rules: tuple[Rule, ...]
    residual: dict[str, str]  # their module inside a residual block -> ours
    hourglass: HourglassMapper
    infer_config: Callable[[State, Path], HourglassConfig]
    # Why our module tree cannot hold these weights, or None when it can.
    unsupported: Callable[[State, HourglassConfig], str | None]
    mean: tuple[float, float, float]
    # The Gaussian targets' sigma in heatmap pixels it was trained with: the decoder's blur
    # follows it.
    sigma: float


# --- princeton-vl/pytorch_stacked_hourglass ----------------------------------------------------

PRINCETON_LEVEL = {"up1": "skip.0", "low1": "down.0", "low3": "up.0"}


def princeton_hourglass(path: str, depth: int) -> tuple[str, str] | None:
    """``up1``/``low1``/``low3`` are residuals; ``low2`` nests the next level, or at the bottom
    (``depth == 1``) is the innermost residual."""
    slot, _, below = path.partition(".")
    if slot in PRINCETON_LEVEL:
        return PRINCETON_LEVEL[slot], below
    if slot != "low2":
        return None
    if depth == 1:
        return "inner.0", below
    nested = princeton_hourglass(below, depth - 1)
    return None if nested is None else (f"inner.{nested[0]}", nested[1])


def princeton_config(state: State, path: Path) -> HourglassConfig:
    """Sizes from the tensors; depth is how many nested levels have an ``up1`` branch."""
    head = require(state, "outs.0.conv.weight", path, "princeton-vl")
    levels = {m.group(1) for m in matches(state, r"hgs\.0\.0\.((?:low2\.)*)up1\.")}
    return make_config(
        path,
        stacks=count(state, r"outs\.(\d+)\.conv\.weight"),
        channels=head.shape[1],
        depth=len(levels),
        joints=head.shape[0],
        blocks=1,
        stem_channels=require(state, "pre.0.conv.weight", path, "princeton-vl").shape[0],
    )


def princeton_unsupported(state: State, config: HourglassConfig) -> str | None:
    """``PoseNet(increase=n)`` widens each hourglass's lower branch by n; ours keeps one width."""
    low1 = state.get("hgs.0.0.low1.conv3.conv.weight")
    if low1 is None or low1.shape[0] == config.channels:
        return None  # a missing tensor is build_network's to report
    return (
        f"it was built with increase={low1.shape[0] - config.channels}, so its hourglasses widen "
        "inside; only increase=0 (the published setting) has the same structure as ours"
    )


def drop_unused_skips(state: State) -> State:
    """princeton-vl's ``Residual`` always builds ``skip_layer`` but uses it only when the width
    changes; elsewhere the skip is the identity (ours has no tensors there), so drop it."""
    unused = tuple(
        key.removesuffix("weight")
        for key, tensor in state.items()
        if key.endswith("skip_layer.conv.weight") and tensor.shape[0] == tensor.shape[1]
    )
    return {key: tensor for key, tensor in state.items() if not key.startswith(unused)}


PRINCETON = Port(
    name="princeton-vl",
    title="princeton-vl pytorch_stacked_hourglass",
    signature=re.compile(r"hgs\.\d+\.0\.up1\."),
    rules=(
        rule(r"pre\.0\.conv", "stem.conv.0"),
        rule(r"pre\.0\.bn", "stem.conv.1"),
        rule(r"pre\.1", "stem.res1", Kind.RESIDUAL),  # pre.2 is the max-pool
        rule(r"pre\.3", "stem.res2", Kind.RESIDUAL),
        rule(r"pre\.4", "stem.res3", Kind.RESIDUAL),
        rule(r"hgs\.(\d+)\.0", r"stacks.\1.hourglass", Kind.HOURGLASS),
        rule(r"features\.(\d+)\.0", r"stacks.\1.residuals.0", Kind.RESIDUAL),
        rule(r"features\.(\d+)\.1\.conv", r"stacks.\1.features.0"),
        rule(r"features\.(\d+)\.1\.bn", r"stacks.\1.features.1"),
        rule(r"outs\.(\d+)\.conv", r"stacks.\1.head"),
        rule(r"merge_features\.(\d+)\.conv\.conv", r"reinjections.\1.features"),
        rule(r"merge_preds\.(\d+)\.conv\.conv", r"reinjections.\1.heatmaps"),
    ),
    residual={
        "bn1": "bn1", "conv1.conv": "conv1",
        "bn2": "bn2", "conv2.conv": "conv2",
        "bn3": "bn3", "conv3.conv": "conv3",
        "skip_layer.conv": "skip",
    },
    hourglass=princeton_hourglass,
    infer_config=princeton_config,
    unsupported=princeton_unsupported,
    mean=(0.0, 0.0, 0.0),
    sigma=1.0,  # its GenerateHeatmap: output_res / 64, at 64-pixel heatmaps
)

# --- bearpaw/pytorch-pose ----------------------------------------------------------------------

BEARPAW_SLOTS = ("skip", "down", "up", "inner")  # hg[level][0..3]; slot 3 only at level 0


def bearpaw_hourglass(path: str, depth: int) -> tuple[str, str] | None:
    """``{level}.{slot}.{block}.…``: their level 0 is the innermost, ours nest from the outside."""
    match = re.fullmatch(r"(\d+)\.([0-3])\.(\d+)\.(.+)", path)
    if match is None:
        return None
    level, slot, block, below = int(match[1]), int(match[2]), match[3], match[4]
    nesting = "inner." * (depth - 1 - level)
    return f"{nesting}{BEARPAW_SLOTS[slot]}.{block}", below


def bearpaw_config(state: State, path: Path) -> HourglassConfig:
    """Sizes from the tensors; ``num_blocks`` is how many blocks one hourglass slot holds."""
    head = require(state, "score.0.weight", path, "bearpaw")
    return make_config(
        path,
        stacks=count(state, r"score\.(\d+)\.weight"),
        channels=head.shape[1],
        depth=count(state, r"hg\.0\.hg\.(\d+)\."),
        joints=head.shape[0],
        blocks=count(state, r"hg\.0\.hg\.0\.0\.(\d+)\."),
        stem_channels=require(state, "conv1.weight", path, "bearpaw").shape[0],
        stem="bearpaw",  # its layer2 widens to the full width, one residual before ours
    )


BEARPAW = Port(
    name="bearpaw",
    title="bearpaw pytorch-pose hg",
    signature=re.compile(r"hg\.\d+\.hg\.\d+\."),
    rules=(
        rule(r"conv1", "stem.conv.0"),
        rule(r"bn1", "stem.conv.1"),
        rule(r"layer1\.0", "stem.res1", Kind.RESIDUAL),  # the max-pool sits between 1 and 2
        rule(r"layer2\.0", "stem.res2", Kind.RESIDUAL),
        rule(r"layer3\.0", "stem.res3", Kind.RESIDUAL),
        rule(r"hg\.(\d+)\.hg", r"stacks.\1.hourglass", Kind.HOURGLASS),
        rule(r"res\.(\d+)\.(\d+)", r"stacks.\1.residuals.\2", Kind.RESIDUAL),
        rule(r"fc\.(\d+)\.([01])", r"stacks.\1.features.\2"),  # conv, bn (then a ReLU)
        rule(r"score\.(\d+)", r"stacks.\1.head"),
        rule(r"fc_\.(\d+)", r"reinjections.\1.features"),
        rule(r"score_\.(\d+)", r"reinjections.\1.heatmaps"),
    ),
    residual={
        "bn1": "bn1", "conv1": "conv1",
        "bn2": "bn2", "conv2": "conv2",
        "bn3": "bn3", "conv3": "conv3",
        "downsample.0": "skip",
    },
    hourglass=bearpaw_hourglass,
    infer_config=bearpaw_config,
    unsupported=lambda _state, _config: None,
    # bearpaw's data/mpii/mean.pth.tar; its color_normalize subtracts it and divides by nothing.
    mean=(0.4404, 0.4440, 0.4327),
    sigma=1.0,  # its training scripts' --sigma default
)

PORTS = (PRINCETON, BEARPAW)


# --- conversion --------------------------------------------------------------------------------


def convert_public_checkpoint(checkpoint: dict, path: Path) -> tuple[ModelSpec, State]:
    """Recognise a public port's layout in a loaded ``.pth``/``.tar`` and rename it onto our keys.

    ``checkpoint`` is either a training-script dict with a ``state_dict`` entry or a bare state
    dict.  Raises :class:`CheckpointError` naming ``path`` when no port's layout fits, a tensor
    fits no rule, or the sizes cannot be read.
    """
    state = unwrap(checkpoint, path)
    port = detect(state, path)
    if port is PRINCETON:
        state = drop_unused_skips(state)
    config = port.infer_config(state, path)
    reason = port.unsupported(state, config)
    if reason is not None:
        raise CheckpointError(f"{path}: a {port.title} checkpoint, but {reason}")
    if config.joints != MPII16.num_joints:
        raise CheckpointError(
            f"{path}: this {port.title} model predicts {config.joints} joints; "
            f"only the {MPII16.num_joints} MPII joints are supported for public checkpoints"
        )
    spec = ModelSpec(
        config=config,
        skeleton=MPII16,
        input_size=INPUT_SIZE,
        mean=port.mean,
        std=UNIT_STD,
        sigma=port.sigma,
        layout=port.name,
    )
    return spec, with_batch_counters(rename(state, port, config.depth, path))


def unwrap(checkpoint: dict, path: Path) -> State:
    """The tensors, without the ``module.``/``model.`` prefixes their wrappers added."""
    weights = checkpoint.get("state_dict", checkpoint)
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: its 'state_dict' is a {type(weights).__name__}, not a dict")
    return {
        strip_wrappers(key): tensor
        for key, tensor in weights.items()
        if isinstance(key, str) and isinstance(tensor, torch.Tensor)
    }


def strip_wrappers(key: str) -> str:
    """``model.module.pre.0…`` -> ``pre.0…``, whatever the order and number of wrappers."""
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def detect(state: State, path: Path) -> Port:
    """The port whose signature key is present, or a CheckpointError listing what we read."""
    for port in PORTS:
        if any(port.signature.match(key) for key in state):
            return port
    sample = ", ".join(sorted(state)[:3]) or "no tensors at all"
    raise CheckpointError(
        f"{path}: not a recognised hourglass checkpoint (its keys start: {sample}). "
        f"Supported: {SUPPORTED}"
    )


def rename(state: State, port: Port, depth: int, path: Path) -> State:
    """Every tensor under our name; refuses the file if any tensor fits none of the rules."""
    renamed: State = {}
    unknown: list[str] = []
    for key, tensor in state.items():
        ours = rename_key(key, port, depth)
        if ours is None:
            unknown.append(key)
        else:
            renamed[ours] = tensor
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        shown = ", ".join(unknown[:5]) + more
        raise CheckpointError(
            f"{path}: looks like a {port.title} checkpoint, but {len(unknown)} tensors are not "
            f"part of that network ({shown}); it may come from a modified copy of it"
        )
    return renamed


def rename_key(key: str, port: Port, depth: int) -> str | None:
    """Our name for one of their tensors, or None when no rule explains it."""
    module, _, tensor = key.rpartition(".")
    for candidate in port.rules:
        match = candidate.source.fullmatch(module)
        if match is None:
            continue
        ours = match.expand(candidate.target)
        if candidate.kind is Kind.TENSOR:
            return f"{ours}.{tensor}"
        below = match["rest"]
        if candidate.kind is Kind.HOURGLASS:
            located = port.hourglass(below, depth)
            if located is None:
                return None
            ours, below = f"{ours}.{located[0]}", located[1]
        inside = port.residual.get(below)
        return None if inside is None else f"{ours}.{inside}.{tensor}"
    return None


def with_batch_counters(state: State) -> State:
    """Add BatchNorm's ``num_batches_tracked`` where a file predates it (PyTorch < 0.4.1, as
    some released hourglass weights do): it only matters in training, so zero is exact."""
    counters = {
        key.removesuffix("running_mean") + "num_batches_tracked": torch.tensor(0)
        for key in state
        if key.endswith(".running_mean")
    }
    return {**counters, **state}


# --- size inference helpers --------------------------------------------------------------------


def require(state: State, key: str, path: Path, port: str) -> torch.Tensor:
    """A tensor the sizes are read from; its absence is reported like build_network would."""
    if key not in state:
        raise CheckpointError(
            f"{path}: a {port} checkpoint, but {key} is missing (its sizes cannot be read)"
        )
    return state[key]


def matches(state: State, pattern: str) -> list[re.Match[str]]:
    """Matches of ``pattern`` at the start of each key."""
    compiled = re.compile(pattern)
    return [m for m in map(compiled.match, state) if m is not None]


def count(state: State, pattern: str) -> int:
    """How many distinct values the first group of ``pattern`` takes across the keys."""
    return len({m.group(1) for m in matches(state, pattern)})


def make_config(path: Path, **sizes: int) -> HourglassConfig:
    """An HourglassConfig, with impossible sizes reported against the file."""
    try:
        return HourglassConfig(**sizes)
    except ValueError as error:
        raise CheckpointError(f"{path}: its tensors give impossible sizes ({error})") from error
