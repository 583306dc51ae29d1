"""Folding BatchNorm into the convolution before it, for inference.

In eval mode a BatchNorm is an affine map per channel, so when it directly follows a
convolution it can be merged into that convolution's weights and bias, saving a pass over
the activations.  In the pre-activation residual (BN-ReLU-conv, three times) that is true of
the second and third BatchNorm, which follow conv1 and conv2; the first follows the previous
block's sum and must stay.  The stem's and each stack's conv-BN-ReLU fold entirely.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from app.model.hourglass import ConvBnRelu, Residual, StackedHourglass


@torch.no_grad()
def fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Make ``conv`` compute ``bn(conv(x))`` (eval-mode statistics)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)


def fold_batchnorm(network: StackedHourglass) -> StackedHourglass:
    """A copy of ``network`` for inference with every foldable BatchNorm merged away."""
    folded = copy.deepcopy(network).eval()
    for module in folded.modules():
        if isinstance(module, Residual):
            fold_into(module.conv1, module.bn2)
            fold_into(module.conv2, module.bn3)
            module.bn2, module.bn3 = nn.Identity(), nn.Identity()
        elif isinstance(module, ConvBnRelu):
            fold_into(module[0], module[1])
            module[1] = nn.Identity()
    return folded
