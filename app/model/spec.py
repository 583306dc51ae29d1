"""What a checkpoint says besides its weights (:class:`ModelSpec`), and how it can be wrong
(:class:`CheckpointError`).

Both the safetensors format (``app.model.checkpoint``) and the public PyTorch layouts
(``app.model.public_layouts``) produce a spec, so it lives apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.model.hourglass import HourglassConfig
from app.pose.codec import DEFAULT_SIGMA, HEATMAP_STRIDE, HeatmapCodec
from app.pose.skeleton import Skeleton

FORMAT_VERSION = 1
OWN_LAYOUT = "hourglass-pose"  # weights saved by this app, under its own tensor names


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with a message meant for the user."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights that is needed to run and explain a model."""

    config: HourglassConfig
    skeleton: Skeleton
    input_size: int = 128
    # The Gaussian targets' sigma in heatmap pixels; files written before it was recorded
    # were all trained with the default.
    sigma: float = DEFAULT_SIGMA
    # RGB in [0, 1], then (x - mean) / std per channel.
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    # Whose tensor names the weights came with: this app's, or a public port's
    # (``app.model.public_layouts``).
    layout: str = OWN_LAYOUT
    training: dict[str, Any] = field(default_factory=dict)
    # How this network's heatmaps encode joints, for training and decoding alike: made from
    # input_size and sigma (and refusing a sigma that is no positive number).
    codec: HeatmapCodec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Reject specs that would load and then fail (or silently mislead) at run time."""
        granularity = HEATMAP_STRIDE * 2**self.config.depth  # one /2 per hourglass level
        if self.input_size < granularity or self.input_size % granularity:
            raise ValueError(f"input size {self.input_size} is not a positive multiple of "
                             f"{granularity}, which a depth-{self.config.depth} hourglass needs")
        if len(self.mean) != 3 or len(self.std) != 3 or not all(s > 0 for s in self.std):
            raise ValueError("mean and std need three values each, std above zero")
        if self.skeleton.num_joints != self.config.joints:
            raise ValueError(f"{self.skeleton.num_joints} joint names for "
                             f"{self.config.joints} predicted joints")
        object.__setattr__(self, "codec", HeatmapCodec(self.input_size, self.sigma))

    @property
    def heatmap_size(self) -> int:
        return self.codec.heatmap_size

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "architecture": self.config.to_dict(),
            "skeleton": self.skeleton.to_dict(),
            "input_size": self.input_size,
            "sigma": self.sigma,
            "mean": list(self.mean),
            "std": list(self.std),
            "layout": self.layout,
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        try:
            return cls(
                config=HourglassConfig(**data["architecture"]),
                skeleton=Skeleton.from_dict(data["skeleton"]),
                input_size=int(data["input_size"]),
                sigma=float(data.get("sigma", DEFAULT_SIGMA)),
                mean=tuple(float(v) for v in data["mean"]),
                std=tuple(float(v) for v in data["std"]),
                layout=str(data.get("layout", OWN_LAYOUT)),
                training=dict(data.get("training", {})),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise CheckpointError(f"its metadata is incomplete or invalid ({error})") from error

    def with_training(self, **summary: Any) -> ModelSpec:
        return replace(self, training={**self.training, **summary})
