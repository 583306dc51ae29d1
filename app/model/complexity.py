"""Parameter and FLOP counts, measured on the module tree rather than hand-derived."""

from __future__ import annotations

import torch
from torch import nn

from app.model.hourglass import StackedHourglass


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


@torch.inference_mode()
def flops_per_stack_count(network: StackedHourglass, input_size: int) -> list[int]:
    """Multiply-adds x2 of the convolutions when running 1, 2, ... N stacks (batch 1).

    Convolutions are all but a sliver of the cost; pooling, BN and ReLU are left out.
    """
    counted = [0]

    def count(module: nn.Conv2d, _inputs: tuple, output: torch.Tensor) -> None:
        kernel = module.kernel_size[0] * module.kernel_size[1]
        per_output = 2 * kernel * module.in_channels // module.groups
        counted[0] += per_output * output.numel()

    hooks = [m.register_forward_hook(count) for m in network.modules()
             if isinstance(m, nn.Conv2d)]
    sample = torch.zeros(1, 3, input_size, input_size,
                         device=next(network.parameters()).device)
    totals = []
    try:
        for stacks in range(1, network.config.stacks + 1):
            counted[0] = 0
            network.eval()(sample.to(next(network.parameters()).dtype), stacks)
            totals.append(counted[0])
    finally:
        for hook in hooks:
            hook.remove()
    return totals
