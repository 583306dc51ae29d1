"""A wider hourglass that starts out computing what a narrower one learnt (Net2WiderNet, Chen,
Goodfellow and Shlens, ICLR 2016).

Every new channel is a copy of an old one, and whatever reads a copied channel reads each copy
at its share of the old weight, so the sum is unchanged.  Batch normalisation sees identical
copies, with identical statistics, so the wider network's output equals the narrower one's (in
training mode too), and training goes on from there instead of from random weights.  A little
noise on the split weights lets the copies drift apart.

The channels come in "spaces" that must be copied alike: every tensor that meets another
through an addition (identity skips, the hourglass's two branches, the re-injection) is in the
network's main space of ``channels``, and each residual module's bottleneck (``channels / 2``)
is a space of its own; both are widened here, everything else (the stem before its last
residual, the heatmaps) keeps its size.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from app.model.architecture import HourglassConfig
from app.model.hourglass import StackedHourglass

# The stem's first layers work at stem_channels, a width of their own that stays as it is;
# its last residual reads that width and writes the main space.
FIXED_PREFIXES = ("stem.conv.", "stem.res1.", "stem.res2.")
STEM_ENTRY = "stem.res3."
STEM_WIDTH_DIMS = {(1, STEM_ENTRY + "conv1.weight"), (1, STEM_ENTRY + "skip.weight")}


def copy_map(old: int, new: int, generator: torch.Generator) -> torch.Tensor:
    """For each of ``new`` channels, the old channel it copies: the old ones first, in order,
    then random picks."""
    extra = torch.randint(0, old, (new - old,), generator=generator)
    return torch.cat([torch.arange(old), extra])


def widening_error(narrow: HourglassConfig, wide: HourglassConfig) -> str | None:
    """Why ``narrow`` cannot be widened into ``wide``; None when it can."""
    if replace(narrow, channels=wide.channels) != wide:
        return "only the channel count may differ"
    if wide.channels < narrow.channels:
        return f"{wide.channels} channels is narrower than {narrow.channels}"
    if narrow.stem != "newell":
        return "only the original (newell) stem is widened"
    if narrow.joints in (narrow.channels, narrow.channels // 2) or \
            narrow.stem_channels == narrow.channels:
        return "a joint or stem width equals a widened one, so the spaces cannot be told apart"
    return None


def widened(network: StackedHourglass, channels: int, noise: float = 0.01,
            seed: int = 0) -> StackedHourglass:
    """A copy of ``network`` at ``channels`` channels, computing the same heatmaps (up to
    ``noise``, the relative size of the symmetry-breaking noise on split weights)."""
    narrow = network.config
    wide_config = replace(narrow, channels=channels)
    error = widening_error(narrow, wide_config)
    if error:
        raise ValueError(f"cannot widen {narrow.channels} to {channels} channels: {error}")
    generator = torch.Generator().manual_seed(seed)
    maps = {narrow.channels: copy_map(narrow.channels, channels, generator),
            narrow.channels // 2: copy_map(narrow.channels // 2, channels // 2, generator)}
    wide = StackedHourglass(wide_config)
    state = {key: widened_tensor(key, tensor, maps, noise, generator)
             for key, tensor in network.state_dict().items()}
    if narrow.channels == 2 * narrow.stem_channels:
        # The narrow stem's last residual kept its width, so its skip was the identity; the
        # wide one changes width and has a 1x1 skip convolution: the identity, copied.
        skip = torch.zeros(channels, narrow.channels, 1, 1)
        skip[torch.arange(channels), maps[narrow.channels], 0, 0] = 1.0
        state[STEM_ENTRY + "skip.weight"] = skip
        state[STEM_ENTRY + "skip.bias"] = torch.zeros(channels)
    wide.load_state_dict(state)
    return wide


def widened_tensor(key: str, tensor: torch.Tensor, maps: dict[int, torch.Tensor],
                   noise: float, generator: torch.Generator) -> torch.Tensor:
    """One state-dict entry, its widened dimensions copied by ``maps`` (keyed by old width);
    a convolution's input dimension is also divided among the copies."""
    if key.startswith(FIXED_PREFIXES) or tensor.dim() == 0:
        return tensor.clone()
    out = tensor
    for dim in range(min(tensor.dim(), 2)):
        if (dim, key) in STEM_WIDTH_DIMS or (key.startswith(STEM_ENTRY + "bn1.") and dim == 0):
            continue  # the stem's own width, read by the stem's last residual
        mapping = maps.get(tensor.shape[dim])
        if mapping is None:
            continue
        out = out.index_select(dim, mapping)
        if dim == 1:  # a convolution's input: each copy carries its share
            counts = torch.bincount(mapping, minlength=tensor.shape[1]).to(out.dtype)
            shares = counts[mapping].view(1, -1, *([1] * (out.dim() - 2)))
            split = out / shares
            jitter = torch.randn(split.shape, generator=generator, dtype=split.dtype)
            out = split + noise * split.abs() * jitter * (shares > 1)
    return out.clone()
