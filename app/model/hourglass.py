"""The Stacked Hourglass network (Newell, Yang and Deng, ECCV 2016).

The module tree is the seed's: a stem that brings the image down to a quarter of its size, then
``stacks`` identical hourglasses, each followed by a 1x1 heatmap head.  Every stack but the last
re-injects its features and its heatmaps (each through a 1x1 convolution) into the next one's
input.  Because every stack is supervised, each stack's heatmaps are a valid prediction: this is
what lets ``forward(x, stacks=k)`` stop early and trade accuracy for speed.

Sizes are explicit (:class:`app.model.architecture.HourglassConfig`), and the ``state_dict``
keys are the names of the attributes below: renaming an attribute breaks every checkpoint, so
don't.
"""

from __future__ import annotations

import torch
from torch import nn

from app.model.architecture import HourglassConfig


class Residual(nn.Module):
    """Pre-activation bottleneck: BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1, plus a skip branch.

    The skip is a 1x1 convolution only where the channel count changes.  Convolutions keep their
    bias, as both public PyTorch hourglass ports do, so their weights load unchanged.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 2
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, mid, 1)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1)
        self.skip: nn.Module = nn.Identity()
        if in_channels != out_channels:
            self.skip = nn.Conv2d(in_channels, out_channels, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + self.skip(x)


def residuals(channels: int, count: int) -> nn.Sequential:
    """``count`` residual modules at a constant width: one hourglass slot."""
    return nn.Sequential(*(Residual(channels, channels) for _ in range(count)))


class ConvBnRelu(nn.Sequential):
    """Post-activation convolution, used by the stem and by each stack's feature layer."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Hourglass(nn.Module):
    """One hourglass, defined recursively: ``depth`` halvings of the resolution.

    At each level the input goes two ways: a ``skip`` branch at this resolution, and a ``down``
    branch that max-pools, runs the ``inner`` hourglass (or, at the bottom, plain residuals),
    comes ``up`` through residuals and is upsampled by nearest neighbour.  The two are added.
    """

    def __init__(self, depth: int, channels: int, blocks: int = 1) -> None:
        super().__init__()
        self.skip = residuals(channels, blocks)
        self.pool = nn.MaxPool2d(2, 2)
        self.down = residuals(channels, blocks)
        self.inner: nn.Module = (
            Hourglass(depth - 1, channels, blocks) if depth > 1 else residuals(channels, blocks)
        )
        self.up = residuals(channels, blocks)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.up(self.inner(self.down(self.pool(x))))
        return self.skip(x) + self.upsample(low)


class Stem(nn.Module):
    """7x7 stride-2 convolution, residual, max-pool, two residuals: 1/4 of the input size
    (``app.pose.codec.HEATMAP_STRIDE``)."""

    def __init__(self, stem_channels: int, channels: int, variant: str = "newell") -> None:
        super().__init__()
        wide = 2 * stem_channels
        middle = channels if variant == "bearpaw" else wide
        self.conv = ConvBnRelu(3, stem_channels, 7, stride=2)
        self.res1 = Residual(stem_channels, wide)
        self.pool = nn.MaxPool2d(2, 2)
        self.res2 = Residual(wide, middle)
        self.res3 = Residual(middle, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res3(self.res2(self.pool(self.res1(self.conv(x)))))


class Reinjection(nn.Module):
    """The 1x1 convolutions that feed a stack's features and heatmaps to the next stack."""

    def __init__(self, channels: int, joints: int) -> None:
        super().__init__()
        self.features = nn.Conv2d(channels, channels, 1)
        self.heatmaps = nn.Conv2d(joints, channels, 1)

    def forward(
        self, x: torch.Tensor, features: torch.Tensor, heatmaps: torch.Tensor
    ) -> torch.Tensor:
        return x + self.features(features) + self.heatmaps(heatmaps)


class HourglassStack(nn.Module):
    """An hourglass, its feature layers and its heatmap head."""

    def __init__(self, config: HourglassConfig) -> None:
        super().__init__()
        c = config.channels
        self.hourglass = Hourglass(config.depth, c, config.blocks)
        self.residuals = residuals(c, config.blocks)
        self.features = ConvBnRelu(c, c, 1)
        self.head = nn.Conv2d(c, config.joints, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(self.residuals(self.hourglass(x)))
        return features, self.head(features)


class StackedHourglass(nn.Module):
    """Image (N, 3, H, W), normalised, to per-stack heatmaps (N, joints, H/4, W/4)."""

    def __init__(self, config: HourglassConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = Stem(config.stem_channels, config.channels, config.stem)
        self.stacks = nn.ModuleList(HourglassStack(config) for _ in range(config.stacks))
        self.reinjections = nn.ModuleList(
            Reinjection(config.channels, config.joints) for _ in range(config.stacks - 1)
        )

    def forward(self, x: torch.Tensor, stacks: int | None = None) -> list[torch.Tensor]:
        """Heatmaps of the first ``stacks`` stacks (all by default); later ones never run."""
        count = self.config.stacks if stacks is None else stacks
        if not 1 <= count <= self.config.stacks:
            raise ValueError(f"stacks must be in 1..{self.config.stacks}, got {count}")
        x = self.stem(x)
        outputs: list[torch.Tensor] = []
        for index in range(count):
            features, heatmaps = self.stacks[index](x)
            outputs.append(heatmaps)
            if index + 1 < count:
                x = self.reinjections[index](x, features, heatmaps)
        return outputs
