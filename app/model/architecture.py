"""The hourglass network's sizes, as a checkpoint's metadata records them.

Kept apart from the network itself (:mod:`app.model.hourglass`), which needs PyTorch: a
model's description (:class:`app.model.spec.ModelSpec`) is read and shown by code that never
runs the network, and reading it should not load a tensor library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STEM_VARIANTS = ("newell", "bearpaw")
# Far above any published hourglass; a checkpoint's metadata claiming more is corrupt.
SIZE_LIMITS = {"stacks": 64, "channels": 4096, "depth": 10, "joints": 1024, "blocks": 16,
               "stem_channels": 1024}


@dataclass(frozen=True)
class HourglassConfig:
    """Architecture sizes; stored in every checkpoint's metadata."""

    stacks: int = 4
    channels: int = 128
    depth: int = 4
    joints: int = 14
    blocks: int = 1  # residual modules per hourglass slot (bearpaw's ``num_blocks``)
    stem_channels: int = 64
    # Where the stem widens to ``channels``: in its last residual as in Newell's original
    # code ("newell"), or one residual earlier as bearpaw's port does ("bearpaw").
    stem: str = "newell"

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.stem not in STEM_VARIANTS:
            raise ValueError(f"HourglassConfig.stem must be one of {STEM_VARIANTS}, "
                             f"got {self.stem!r}")
        for name, value in asdict(self).items():
            if name != "stem" and (not isinstance(value, int) or value < 1):
                raise ValueError(f"HourglassConfig.{name} must be a positive integer, "
                                 f"got {value!r}")
        for name, limit in SIZE_LIMITS.items():
            if getattr(self, name) > limit:
                raise ValueError(f"HourglassConfig.{name} = {getattr(self, name)} is beyond "
                                 f"any hourglass network (at most {limit})")
        if self.channels % 2:
            raise ValueError(f"HourglassConfig.channels must be even, got {self.channels}")
