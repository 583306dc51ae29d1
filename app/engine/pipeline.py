"""One frame in, one pose out: find the person, follow them, crop, run the network, decode,
smooth.

Finding and following cost differently.  Following (tracking) is one crop a frame: the box
around the last confident pose (MediaPipe's region-of-interest tracking).  Finding
(acquisition) runs on a frame with no track (the first, after a cut, after the person was
lost): the whole frame and zoomed windows over it go through the first stacks as one batch,
the most confident candidate wins, and its box is refined on the same frame until it
settles, so that the first answer is as good as the tenth and a person a third of the frame
high is found (letterboxed whole, such a person is a few pixels of the network's input).
A cut is noticed within its frame, by the picture's colours changing wholesale or by the
pose failing in its box, and answered by a search of that very frame.

The user may choose the person (a click or a dragged box): the pipeline then follows that
person, and when it loses them looks again only where they were.

The result carries everything a consumer may draw, in frame pixels; heatmaps only when
asked, since copying them out costs time and memory on every frame.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from app.engine.sources import Frame
from app.model.predictors import Predictor
from app.pose.affine import (
    PERSON_BOX_MARGIN,
    CropBox,
    box_from_keypoints,
    frame_box,
    warp_crop,
)
from app.pose.smoothing import OneEuroFilter

# A person is found when half the joints score 0.3 or more: fewer is more often a wall or a
# cut to another scene than a person half out of view.  Once found, they are followed while
# 40% of the joints score 0.2 (a lower bar, as MediaPipe's tracking threshold is below its
# detection threshold): with one bar, the bench's drawn figure, which one stack sees dimly,
# was lost and searched for again in one frame out of six.  The box is built around every
# joint scoring 0.1: the dimmer ones still say where the person reaches.
FIND_MIN_JOINT_FRACTION = 0.5
FIND_MIN_CONFIDENCE = 0.3
FOLLOW_MIN_JOINT_FRACTION = 0.4
FOLLOW_MIN_CONFIDENCE = 0.2
BOX_MIN_CONFIDENCE = 0.1
# How far the box may close in: at most to half its side per step, and never below a fifth
# of the frame's shorter side.  A crop much smaller than the person is a blur to the network,
# whose confident-looking answers on it would shrink the box again, down to a pixel.
TRACKING_MAX_ZOOM_IN = 0.5
TRACKING_MIN_FRAME_FRACTION = 0.2
# Joints lost at the box's edge are not followed inwards: the network hides joints its crop
# cuts off, so a box rebuilt around the joints still seen closes in on part of the person (a
# pair of legs) and stays there.  When a frame sees this many confident joints fewer than the
# last, the box widens around its centre instead, and the lost joints come back into view.
JOINTS_LOST_TO_WIDEN = 2
WIDEN = 1.25

# Acquisition.  Windows over the frame, their sides as fractions of its shorter side, each
# size overlapping its neighbours by half: 0.75 holds a person half the frame high, 0.5 one
# a third of it (the network sees people at 0.75 to 1.25 of its training scale).  The
# larger windows are searched first with the whole frame, the smaller only if they find
# nobody: a person near the camera, the common case, costs 7 crops on a 4:3 frame, not 22.
SEARCH_WINDOW_SIDES = ((0.75,), (0.5,))
# Candidates are ranked by this many stacks' confidences (every stack's output is a full
# prediction): the first stacks already tell a person from a wall, at half the price.
SEARCH_STACKS = 2
# Refinement: the box is rebuilt around the pose and the model run again until the box moves
# by less than this fraction of its side, at most this many times.
SETTLED_FRACTION = 0.1
MAX_REFINEMENTS = 3
# After a search that found nobody, frames until this many seconds later run only the whole
# frame (as cheap as tracking), so an empty room does not cost a search every frame; a cut
# searches at once.
SEARCH_RETRY_S = 0.5
# A cut: half the picture's pixels changed colour, or a third did and its layout of light
# and dark no longer matches (correlation of a 16x12 thumbnail).  On the first 400 LSPet
# photos letterboxed to 640x480 and shown one after another, this notices 98% of the cuts,
# and takes 1 of 200 photos moved by up to 5%, turned by up to 3 degrees, scaled by up to
# 5% and exposed up to 10% brighter or darker for a cut.  A cut missed here is still noticed
# when the pose fails in its box.  About 0.2 ms a frame.
CUT_COLOUR_CHANGE = 0.5
CUT_COLOUR_CHANGE_WITH_LAYOUT = 0.3
CUT_LAYOUT_CORRELATION = 0.5
SCENE_SAMPLES = 60  # pixels sampled along the shorter side
LAYOUT_SIZE = (16, 12)
# A person chosen by a click: windows centred there at these fractions of the frame's
# shorter side, and also a quarter of their side above and below (a click on a head or on
# the hips); by a dragged box: the box, this much larger (the training crop's margin).
CHOICE_WINDOW_SIDES = (0.9, 0.6, 0.35)
# A person lost from their box is looked for where they were first: windows at these
# multiples of the box, around its centre (a chosen person is looked for only there, and in
# the box itself).  Most losses are found again there, at a quarter of a whole search's cost.
NEAR_SCALES = (1.5, 2.25)


@dataclass(frozen=True)
class PipelineOptions:
    """What the user controls per frame; changing it takes effect on the next frame."""

    stacks: int | None = None  # None: every stack of the model
    flip: bool = False
    smoothing: bool = True
    keep_heatmaps: bool = False
    tracking: bool = True  # False: every frame is the whole frame, letterboxed, no search


@dataclass(frozen=True)
class PoseResult:
    """A finished frame: the pose in frame pixels and how it was obtained."""

    frame_index: int
    timestamp: float
    keypoints: np.ndarray  # (J, 2), smoothed when smoothing is on
    confidences: np.ndarray  # (J,)
    stack_keypoints: np.ndarray  # (K, J, 2): each computed stack's own decoded joints
    box: CropBox
    stacks: int
    heatmaps: np.ndarray | None = None  # (K, J, H, W) when asked for
    # crop, model and decode summed over every crop the frame ran; smooth
    timings_ms: dict[str, float] = field(default_factory=dict)
    found: bool = True  # a person is followed (with tracking off: half the joints confident)
    searched: bool = False  # this frame was searched for the person (not tracked)
    chosen: bool = False  # the person followed is one the user chose
    crops: int = 1  # crops the network ran on for this frame


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


# -- the geometry of searching: small pure functions ---------------------------------------
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


def person_found(confidences: np.ndarray) -> bool:
    """Enough confident joints to call it a person."""
    return enough_joints(confidences, FIND_MIN_CONFIDENCE, FIND_MIN_JOINT_FRACTION)


def still_followed(confidences: np.ndarray) -> bool:
    """Enough confident joints to go on following a person found before."""
    return enough_joints(confidences, FOLLOW_MIN_CONFIDENCE, FOLLOW_MIN_JOINT_FRACTION)


def enough_joints(confidences: np.ndarray, confidence: float, fraction: float) -> bool:
    confident = np.asarray(confidences) >= confidence
    return bool(confident.sum() >= fraction * len(confident))


def next_box(keypoints: np.ndarray, confidences: np.ndarray, box: CropBox,
             frame_short_side: int, joints_before: int = 0) -> CropBox | None:
    """The box around this pose's confident joints, or None if it is no person to follow; it
    closes in on the last box by at most TRACKING_MAX_ZOOM_IN, and never below a fifth of the
    frame.  With JOINTS_LOST_TO_WIDEN fewer confident joints than ``joints_before`` (the pose
    ``box`` came from), ``box`` widened instead."""
    if not still_followed(confidences):
        return None
    if confident_joints(confidences) <= joints_before - JOINTS_LOST_TO_WIDEN:
        return replace(box, side=box.side * WIDEN)
    tracked = box_from_keypoints(keypoints, confidences >= BOX_MIN_CONFIDENCE, PERSON_BOX_MARGIN)
    if tracked is None:
        return None
    side = max(tracked.side, box.side * TRACKING_MAX_ZOOM_IN,
               frame_short_side * TRACKING_MIN_FRAME_FRACTION)
    return replace(tracked, side=side)


def confident_joints(confidences: np.ndarray) -> int:
    return int((np.asarray(confidences) >= FOLLOW_MIN_CONFIDENCE).sum())


def point_to_box_distance(x: float, y: float, box: CropBox) -> float:
    """How far (x, y) lies outside ``box``, in pixels (0 inside it)."""
    half = box.side / 2
    dx = max(abs(x - box.cx) - half, 0.0)
    dy = max(abs(y - box.cy) - half, 0.0)
    return math.hypot(dx, dy)


def scene_sample(image: np.ndarray) -> np.ndarray:
    """A few thousand of the frame's pixels on a grid: what cuts are told by, at a fraction
    of a millisecond whatever the frame's size."""
    step = max(1, min(image.shape[:2]) // SCENE_SAMPLES)
    return np.ascontiguousarray(image[step // 2::step, step // 2::step])


def is_cut(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the sample ``after`` shows another scene than ``before``: most of the
    colours changed (a histogram at 8 levels per channel), or many did and the layout of
    light and dark no longer matches.  Pixels black in both (letterbox bars) are left out,
    since they are no part of either scene."""
    if before.shape != after.shape:
        return True
    content = np.uint8(255) * ((before[..., 0] | before[..., 1] | before[..., 2]
                                | after[..., 0] | after[..., 1] | after[..., 2]) > 0)
    if np.count_nonzero(content) < 0.05 * content.size:
        return False
    colour_change = 1.0 - float(np.minimum(colour_histogram(before, content),
                                           colour_histogram(after, content)).sum())
    if colour_change <= CUT_COLOUR_CHANGE_WITH_LAYOUT or colour_change > CUT_COLOUR_CHANGE:
        return colour_change > CUT_COLOUR_CHANGE
    cells = cv2.resize(content, LAYOUT_SIZE, interpolation=cv2.INTER_AREA) > 127
    return correlation(layout(before)[cells], layout(after)[cells]) < CUT_LAYOUT_CORRELATION


def colour_histogram(sample: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The share of the masked pixels in each of 8 x 8 x 8 colour bins."""
    counts = cv2.calcHist([sample], [0, 1, 2], mask, [8, 8, 8], [0, 256] * 3).ravel()
    return counts / max(float(counts.sum()), 1.0)


def layout(sample: np.ndarray) -> np.ndarray:
    """Light and dark at LAYOUT_SIZE: a picture blurred enough that movement within a scene
    barely changes it."""
    return cv2.resize(sample, LAYOUT_SIZE, interpolation=cv2.INTER_AREA).mean(axis=2)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length arrays (0 where either is flat)."""
    a, b = a - a.mean(), b - b.mean()
    scale = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / scale if scale > 1e-6 else 0.0


# -- the pipeline ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Look:
    """One crop's answer, in frame pixels."""

    box: CropBox
    stack_points: np.ndarray  # (K, J, 2)
    stack_confidences: np.ndarray  # (K, J)
    heatmaps: np.ndarray  # (K, J, H, W)

    @property
    def found(self) -> bool:
        return person_found(self.stack_confidences[-1])

    @property
    def ranking_confidences(self) -> np.ndarray:
        """The confidences candidates are compared by: the same stack for all of them."""
        return self.stack_confidences[min(SEARCH_STACKS, len(self.stack_confidences)) - 1]


class _Clock:
    """Milliseconds spent per stage, summed over every crop of a frame."""

    def __init__(self) -> None:
        self.ms = {"crop": 0.0, "model": 0.0, "decode": 0.0, "smooth": 0.0}
        self.crops = 0
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] += 1000 * (now - self._last)
        self._last = now


class PosePipeline:
    """Turns frames into :class:`PoseResult`; keeps the tracking, search and smoothing
    state, and the user's choice of person."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.spec = predictor.spec
        self.smoother = OneEuroFilter()
        self._next_box: CropBox | None = None
        self._joints_seen = 0  # confident joints of the pose the next box comes from
        self._scene: np.ndarray | None = None  # the last frame's scene_sample
        self._search_after = -math.inf  # frame time before which only the whole frame runs
        self._last_time = -math.inf
        self._pending_choice: PersonChoice | None = None
        self._chosen_box: CropBox | None = None  # where the chosen person was last seen

    def reset(self) -> None:
        """Forget the person (a chosen one too) and the scene: the next frame is searched and
        not smoothed."""
        self._next_box = None
        self._pending_choice = self._chosen_box = None
        self._scene = None
        self._search_after = -math.inf
        self.smoother.reset()

    def choose(self, choice: PersonChoice) -> None:
        """Follow the person at ``choice`` from the next frame on (the GUI's click or box)."""
        self._pending_choice = choice

    def follow_anyone(self) -> None:
        """Back to automatic: whoever is followed now goes on being followed, and when lost
        the whole frame is searched again."""
        self._pending_choice = self._chosen_box = None

    def process(self, frame: Frame, options: PipelineOptions = PipelineOptions()) -> PoseResult:
        clock = _Clock()
        image = frame.image
        height, width = image.shape[:2]
        sample = scene_sample(image)
        cut = self._scene is not None and is_cut(self._scene, sample)
        self._scene = sample
        if frame.timestamp < self._last_time:  # a file looped or was reopened
            self._search_after = -math.inf
        self._last_time = frame.timestamp
        clock.lap("crop")

        searched = True
        if not options.tracking:
            look = self._look(image, [frame_box(width, height)], options, clock)[0]
            searched = False
        elif self._pending_choice is not None:
            look = self._pick(image, self._pending_choice, options, clock)
            self._pending_choice = None
        else:
            look = lost_from = None
            if self._next_box is not None and not cut:
                look = self._look(image, [self._next_box], options, clock)[0]
                # Lost in its box (left, or a cut the colours missed): search this very frame.
                searched = not still_followed(look.stack_confidences[-1])
                lost_from = self._next_box
            if searched:
                look = self._acquire(image, frame.timestamp, cut, options, clock, lost_from)

        keypoints, confidences = look.stack_points[-1], look.stack_confidences[-1]
        if searched:
            self.smoother.reset()  # the person may be another: no blending with the last
        if options.smoothing:
            keypoints = self.smoother(keypoints, confidences, frame.timestamp)
        else:
            self.smoother.reset()
        short_side = min(width, height)
        joints_before = 0 if searched else self._joints_seen
        self._next_box = (next_box(keypoints, confidences, look.box, short_side, joints_before)
                          if options.tracking else None)
        self._joints_seen = confident_joints(confidences)
        found = self._next_box is not None if options.tracking else look.found
        if self._chosen_box is not None and self._next_box is not None:
            self._chosen_box = self._next_box
        clock.lap("smooth")
        return PoseResult(
            frame_index=frame.index,
            timestamp=frame.timestamp,
            keypoints=keypoints,
            confidences=confidences,
            stack_keypoints=look.stack_points,
            box=look.box,
            stacks=len(look.stack_points),
            heatmaps=look.heatmaps if options.keep_heatmaps else None,
            timings_ms=clock.ms,
            found=found,
            searched=searched,
            chosen=self._chosen_box is not None,
            crops=clock.crops,
        )

    # -- finding ------------------------------------------------------------------------------
    def _acquire(self, image: np.ndarray, timestamp: float, cut: bool,
                 options: PipelineOptions, clock: _Clock, near: CropBox | None = None
                 ) -> _Look:
        """Search the frame (first ``near`` the box a person was just lost from; for a chosen
        person, only around where they were), keep the most confident candidate and refine
        its box.  Found nobody: the answer of the whole frame (or of the chosen person's last
        box), and the next searches wait a while."""
        height, width = image.shape[:2]
        if self._chosen_box is None and near is not None:
            nearby = self._look(image, around(near, NEAR_SCALES), options, clock, search=True)
            found = [c for c in nearby if person_found(c.ranking_confidences)]
            if found:  # the box need not travel far: one refinement
                return self._refine(image, max(found, key=candidate_score), options, clock, 1)
        if self._chosen_box is not None:
            home = self._chosen_box
            stages = [around(home, NEAR_SCALES)]
        else:
            home = frame_box(width, height)
            stages = [search_windows(width, height, sides) for sides in SEARCH_WINDOW_SIDES]
        fallback = self._look(image, [home], options, clock)[0]
        searching = cut or timestamp >= self._search_after
        if not searching:
            stages = []  # nobody was there a moment ago: this one look only
        candidates = [fallback]
        for windows in stages:
            candidates += self._look(image, windows, options, clock, search=True)
            if any(person_found(c.ranking_confidences) for c in candidates):
                break
        found = [c for c in candidates if person_found(c.ranking_confidences)]
        if not found:
            if searching:
                self._search_after = timestamp + SEARCH_RETRY_S
            return fallback
        self._search_after = -math.inf
        return self._refine(image, max(found, key=candidate_score), options, clock)

    def _pick(self, image: np.ndarray, choice: PersonChoice, options: PipelineOptions,
              clock: _Clock) -> _Look:
        """The person at the user's click (the most confident candidate whose pose holds the
        point, else the nearest) or in their box; followed from now on."""
        height, width = image.shape[:2]
        candidates = self._look(image, choice_windows(choice, width, height), options, clock,
                                search=True)
        found = [c for c in candidates if person_found(c.ranking_confidences)] or candidates
        if choice.is_point:
            def nearness(look: _Look) -> tuple[float, float]:
                extent = box_from_keypoints(look.stack_points[-1],
                                            look.stack_confidences[-1] >= FIND_MIN_CONFIDENCE)
                distance = (point_to_box_distance(choice.x, choice.y, extent)
                            if extent is not None else math.inf)
                return -distance, candidate_score(look)
            best = max(found, key=nearness)
        else:
            best = max(found, key=candidate_score)
        look = self._refine(image, best, options, clock)
        self._chosen_box = (next_box(look.stack_points[-1], look.stack_confidences[-1],
                                     look.box, min(width, height)) or best.box)
        return look

    def _refine(self, image: np.ndarray, look: _Look, options: PipelineOptions,
                clock: _Clock, steps: int = MAX_REFINEMENTS) -> _Look:
        """Re-crop around the pose until the box settles, at most ``steps`` times; the answer
        runs every stack asked for (the candidate may have run fewer)."""
        short_side = min(image.shape[:2])
        complete = len(look.stack_points) == self._stacks(options)
        for _ in range(steps):
            box = next_box(look.stack_points[-1], look.stack_confidences[-1], look.box,
                           short_side)
            if box is None or (complete and box_settled(look.box, box)):
                break
            refined = self._look(image, [box], options, clock)[0]
            if not refined.found:
                break
            look, complete = refined, True
        if not complete:
            look = self._look(image, [look.box], options, clock)[0]
        return look

    # -- running the network ------------------------------------------------------------------
    def _stacks(self, options: PipelineOptions) -> int:
        return options.stacks or self.spec.config.stacks

    def _look(self, image: np.ndarray, boxes: list[CropBox], options: PipelineOptions,
              clock: _Clock, search: bool = False) -> list[_Look]:
        """Each box through the network in one batch: every stack asked for, or for
        ``search`` the first SEARCH_STACKS, without the flip test and with a plain decoding
        (ranking needs confidences, not sub-pixel joints)."""
        size = self.spec.input_size
        crops = np.stack([warp_crop(image, box, size)[0] for box in boxes])
        clock.lap("crop")
        if search:
            stacks = min(SEARCH_STACKS, self._stacks(options))
            heatmaps = self.predictor(crops, stacks, False)
        else:
            heatmaps = self.predictor(crops, options.stacks, options.flip)
        clock.crops += len(boxes)
        clock.lap("model")
        points, confidences = self.spec.codec.decode(heatmaps, "none" if search else "dark")
        looks = []
        for index, box in enumerate(boxes):
            frame_points = self.spec.codec.to_frame(points[:, index], box)
            looks.append(_Look(box, frame_points, confidences[:, index], heatmaps[:, index]))
        clock.lap("decode")
        return looks


def candidate_score(look: _Look) -> float:
    """How clearly a candidate shows a person: its mean joint confidence."""
    return float(look.ranking_confidences.mean())
