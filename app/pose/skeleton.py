"""Joint sets: names, the limbs drawn between joints, and the left/right pairs a mirror swaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Side = Literal["left", "right", "centre"]


@dataclass(frozen=True)
class Skeleton:
    """A joint set.  Checkpoints carry one, so the app draws whatever joints a model predicts."""

    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        count = len(self.joint_names)
        for a, b in (*self.edges, *self.flip_pairs):
            if not (0 <= a < count and 0 <= b < count):
                raise ValueError(f"joint index pair ({a}, {b}) is outside 0..{count - 1}")
        if len(set(self.joint_names)) != count:
            raise ValueError("skeleton.joint_names: a joint is named twice")
        self._check_flip_pairs()

    def _check_flip_pairs(self) -> None:
        """The flip test mirrors the image and swaps each pair's heatmaps: that is right only
        when every joint is in one pair at most (the swap undoes itself), each pair joins a
        left joint to its right twin, and no joint whose twin is named stays unswapped.  Sides
        and twins come from the names ("left hip", "right hip"); names without a side ("l_hip")
        are taken as the file pairs them."""
        names = [name.lower() for name in self.joint_names]
        paired: set[int] = set()
        for a, b in self.flip_pairs:
            if a == b or {a, b} & paired:
                joint = a if a == b or a in paired else b
                raise ValueError(f"skeleton.flip_pairs: {self.joint_names[joint]!r} is paired "
                                 "more than once or with itself, so the flip test cannot "
                                 "swap it back")
            paired.update((a, b))
            sided = self.side(a) != "centre" or self.side(b) != "centre"
            if sided and self._mirror(a) != names[b]:
                raise ValueError(f"skeleton.flip_pairs: ({a}, {b}) pairs "
                                 f"{self.joint_names[a]!r} with {self.joint_names[b]!r}, which "
                                 "is not its mirror image")
        for joint, name in enumerate(names):
            if joint not in paired and self._mirror(joint) != name and self._mirror(joint) in names:
                raise ValueError(f"skeleton.flip_pairs: {self.joint_names[joint]!r} is in no "
                                 "pair, though its mirror image is one of the joints")

    def _mirror(self, joint: int) -> str:
        """The lower-case name of the joint's mirror image: "left hip" for "Right hip"; a name
        without a side (a centre joint, or a convention we do not read) is its own."""
        name, side = self.joint_names[joint].lower(), self.side(joint)
        if side == "centre":
            return name
        return ("right" if side == "left" else "left") + name[len(side):]

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints (an involution)."""
        permutation = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            permutation[a], permutation[b] = b, a
        return permutation

    def side(self, joint: int) -> Side:
        name = self.joint_names[joint].lower()
        if name.startswith("left"):
            return "left"
        if name.startswith("right"):
            return "right"
        return "centre"

    def index(self, name: str) -> int:
        return self.joint_names.index(name)

    def to_dict(self) -> dict[str, list]:
        return {
            "joint_names": list(self.joint_names),
            "edges": [list(e) for e in self.edges],
            "flip_pairs": [list(p) for p in self.flip_pairs],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Skeleton:
        return cls(
            joint_names=tuple(str(n) for n in data["joint_names"]),
            edges=tuple((int(a), int(b)) for a, b in data["edges"]),
            flip_pairs=tuple((int(a), int(b)) for a, b in data["flip_pairs"]),
        )


# Leeds Sports Pose order, as in the dataset's joints.mat.
LSP14 = Skeleton(
    joint_names=(
        "right ankle", "right knee", "right hip", "left hip", "left knee", "left ankle",
        "right wrist", "right elbow", "right shoulder", "left shoulder", "left elbow",
        "left wrist", "neck", "head top",
    ),
    edges=(
        (0, 1), (1, 2), (5, 4), (4, 3), (2, 3), (8, 2), (9, 3),
        (6, 7), (7, 8), (11, 10), (10, 9), (8, 12), (9, 12), (12, 13),
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
)

# MPII Human Pose order, used by both public PyTorch hourglass ports.
MPII16 = Skeleton(
    joint_names=(
        "right ankle", "right knee", "right hip", "left hip", "left knee", "left ankle",
        "pelvis", "thorax", "upper neck", "head top", "right wrist", "right elbow",
        "right shoulder", "left shoulder", "left elbow", "left wrist",
    ),
    edges=(
        (0, 1), (1, 2), (2, 6), (5, 4), (4, 3), (3, 6), (6, 7), (7, 8), (8, 9),
        (10, 11), (11, 12), (12, 7), (15, 14), (14, 13), (13, 7),
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
)
