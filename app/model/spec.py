"""What a checkpoint says besides its weights (:class:`ModelSpec`), and how it can be wrong
(:class:`CheckpointError`).

Both the safetensors format (``app.model.checkpoint``) and the public PyTorch layouts
(``app.model.public_layouts``) produce a spec, so it lives apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.model.architecture import HourglassConfig
from app.pose.codec import DEFAULT_SIGMA, HEATMAP_STRIDE, HeatmapCodec
from app.pose.skeleton import Skeleton

FORMAT_VERSION = 1
OWN_LAYOUT = "hourglass-pose"  # weights saved by this app, under its own tensor names
# The largest crop a checkpoint may ask for.  Published hourglasses take 256 pixels (Newell et
# al., both public ports) and pose networks at most 384, and a person fills the crop at any of
# them; each doubling costs four times the time and memory of every frame (1024 ran at 5.8 s a
# frame, and 4096 asked for more memory than any machine has), so a larger size in a
# checkpoint is damage, not a model.
MAX_INPUT_SIZE = 512
# Normalisation of RGB in [0, 1]: a channel's mean lies in that range, and its spread is at
# most 0.5 (datasets give 0.2-0.3, the public ports 1: no scaling).  Dividing by less than a
# hundredth would turn one grey level into more than a unit of input, and by more than ten
# would flatten the picture to nothing: both are broken numbers, not a model's choice.
STD_RANGE = (0.01, 10.0)


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
        self._check_input_size()
        self._check_normalisation()
        if self.skeleton.num_joints != self.config.joints:
            raise ValueError(f"{self.skeleton.num_joints} joint names for "
                             f"{self.config.joints} predicted joints")
        object.__setattr__(self, "codec", HeatmapCodec(self.input_size, self.sigma))

    def _check_input_size(self) -> None:
        """Checked before anything is sized by it: the codec, the crops, DARK's buffers."""
        granularity = HEATMAP_STRIDE * 2**self.config.depth  # one /2 per hourglass level
        if self.input_size < granularity or self.input_size % granularity:
            raise ValueError(f"input_size {self.input_size} is not a positive multiple of "
                             f"{granularity}, which a depth-{self.config.depth} hourglass needs")
        if self.input_size > MAX_INPUT_SIZE:
            raise ValueError(f"input_size {self.input_size} is beyond any hourglass network, "
                             f"which takes at most {MAX_INPUT_SIZE} pixels")

    def _check_normalisation(self) -> None:
        """Mean and std of pixels in [0, 1], within the bounds above (NaN is in none)."""
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need three values each")
        if not all(0.0 <= m <= 1.0 for m in self.mean):
            raise ValueError(f"mean {list(self.mean)} is not the mean of pixels in 0..1")
        low, high = STD_RANGE
        if not all(low <= s <= high for s in self.std):
            raise ValueError(f"std {list(self.std)} is outside {low}..{high}, which no "
                             "normalisation of pixels in 0..1 needs")

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
