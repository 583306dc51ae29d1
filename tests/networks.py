"""Small random networks for tests (imported by test modules: pytest puts tests/ on the path)."""

from __future__ import annotations

import torch

from app.model.architecture import HourglassConfig
from app.model.hourglass import StackedHourglass


def random_network(config: HourglassConfig, seed: int = 0) -> StackedHourglass:
    """Random weights and BatchNorm statistics, so eval-mode BN and saved buffers matter."""
    torch.manual_seed(seed)
    network = StackedHourglass(config)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
    return network.eval()
