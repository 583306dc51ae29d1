"""Where to look for a person, in frame pixels: windows over the whole frame, around the box a
person was lost from, and at the user's pick; and when a refined box has settled.

Plain geometry, no network: the pipeline (``app.engine.pipeline``) decides when to look and
runs the crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from app.pose.affine import PERSON_BOX_MARGIN, CropBox

# Windows over the frame, their sides as fractions of its shorter side, each size overlapping
# its neighbours by half: 0.75 holds a person half the frame high, 0.5 one a third of it (the
# network sees people at 0.75 to 1.25 of its training scale).  The larger windows are searched
# first with the whole frame, the smaller only if they find nobody: a person near the camera,
# the common case, costs 7 crops on a 4:3 frame, not 22.
SEARCH_WINDOW_SIDES = ((0.75,), (0.5,))
# A person chosen by a click: windows centred there at these fractions of the frame's
# shorter side, and also a quarter of their side above and below (a click on a head or on
# the hips); by a dragged box: the box, this much larger (the training crop's margin).
CHOICE_WINDOW_SIDES = (0.9, 0.6, 0.35)
# A person lost from their box is looked for where they were first: windows at these
# multiples of the box, around its centre (a chosen person is looked for only there, and in
# the box itself).  Most losses are found again there, at a quarter of a whole search's cost.
NEAR_SCALES = (1.5, 2.25)
# A box refined around its pose has settled when it moves by less than this fraction of its
# side.
SETTLED_FRACTION = 0.1


@dataclass(frozen=True)
class PersonChoice:
    """The user's pick, in frame pixels: a point on the person, or a box around them
    (``width`` and ``height`` zero for a point)."""

    x: float
    y: float
    width: float = 0.0
    height: float = 0.0

    @property
    def is_point(self) -> bool:
        return self.width <= 0 or self.height <= 0


def window_centres(length: float, side: float) -> list[float]:
    """Centres of windows of ``side`` along ``length`` pixels, neighbours overlapping by half,
    the first and last flush with the ends (one centred window if it does not fit)."""
    if side >= length:
        return [(length - 1) / 2]
    count = math.ceil((length - side) / (side / 2)) + 1
    return np.linspace(side / 2 - 0.5, length - side / 2 - 0.5, count).tolist()


def search_windows(width: int, height: int, fractions: tuple[float, ...]) -> list[CropBox]:
    """Square windows covering the frame at each size (a fraction of its shorter side)."""
    windows = []
    for fraction in fractions:
        side = fraction * min(width, height)
        windows += [CropBox(x, y, side) for y in window_centres(height, side)
                    for x in window_centres(width, side)]
    return windows


def choice_windows(choice: PersonChoice, width: int, height: int) -> list[CropBox]:
    """Where to look for the person the user pointed at or drew a box around."""
    if not choice.is_point:
        return [CropBox(choice.x + (choice.width - 1) / 2, choice.y + (choice.height - 1) / 2,
                        PERSON_BOX_MARGIN * max(choice.width, choice.height))]
    sides = [fraction * min(width, height) for fraction in CHOICE_WINDOW_SIDES]
    return [CropBox(choice.x, choice.y + shift * side, side)
            for side in sides for shift in (0.0, 0.25, -0.25)]


def around(box: CropBox, scales: tuple[float, ...]) -> list[CropBox]:
    """Windows centred on ``box`` at multiples of its side."""
    return [replace(box, side=box.side * scale) for scale in scales]


def box_settled(old: CropBox, new: CropBox, fraction: float = SETTLED_FRACTION) -> bool:
    """Whether ``new`` is ``old`` give or take ``fraction`` of its side, in place and size."""
    tolerance = fraction * old.side
    return (abs(new.cx - old.cx) <= tolerance and abs(new.cy - old.cy) <= tolerance
            and abs(new.side - old.side) <= tolerance)


def point_to_box_distance(x: float, y: float, box: CropBox) -> float:
    """How far (x, y) lies outside ``box``, in pixels (0 inside it)."""
    half = box.side / 2
    dx = max(abs(x - box.cx) - half, 0.0)
    dy = max(abs(y - box.cy) - half, 0.0)
    return math.hypot(dx, dy)
