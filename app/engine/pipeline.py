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

This module keeps the state between frames and decides what each frame runs; cuts are told
by :mod:`app.engine.scene_cuts`, windows placed by :mod:`app.engine.search_geometry`, and a
pose judged (a person? followed where?) by :mod:`app.engine.tracking`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from app.engine.scene_cuts import CutDetector
from app.engine.search_geometry import (
    NEAR_SCALES,
    SEARCH_WINDOW_SIDES,
    PersonChoice,
    around,
    box_settled,
    choice_windows,
    point_to_box_distance,
    search_windows,
)
from app.engine.sources import Frame
from app.engine.tracking import (
    FIND_MIN_CONFIDENCE,
    confident_joints,
    next_box,
    person_found,
    still_followed,
)
from app.model.predictors import Predictor
from app.pose.affine import CropBox, box_from_keypoints, frame_box, warp_crop
from app.pose.smoothing import OneEuroFilter

# Acquisition (where its windows go: app.engine.search_geometry).  Candidates are ranked by
# this many stacks' confidences (every stack's output is a full prediction): the first stacks
# already tell a person from a wall, at half the price.
SEARCH_STACKS = 2
# Refinement: the box is rebuilt around the pose and the model run again until the box
# settles, at most this many times.
MAX_REFINEMENTS = 3
# After a search that found nobody, frames until this many seconds later run only the whole
# frame (as cheap as tracking), so an empty room does not cost a search every frame; a cut
# (app.engine.scene_cuts) searches at once.
SEARCH_RETRY_S = 0.5


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
        self._cuts = CutDetector()
        self._search_after = -math.inf  # frame time before which only the whole frame runs
        self._last_time = -math.inf
        self._pending_choice: PersonChoice | None = None
        self._chosen_box: CropBox | None = None  # where the chosen person was last seen

    def reset(self) -> None:
        """Forget the person (a chosen one too) and the scene: the next frame is searched and
        not smoothed."""
        self._next_box = None
        self._pending_choice = self._chosen_box = None
        self._cuts.reset()
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
        cut = self._cuts.cut_before(frame.image)
        if frame.timestamp < self._last_time:  # a file looped or was reopened
            self._search_after = -math.inf
        self._last_time = frame.timestamp
        clock.lap("crop")
        look, searched = self._locate(frame, cut, options, clock)
        confidences = look.stack_confidences[-1]
        keypoints = self._smooth(look.stack_points[-1], confidences, frame.timestamp, searched,
                                 options)
        found = self._keep_track(keypoints, confidences, look.box, min(frame.image.shape[:2]),
                                 searched, options)
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

    def _locate(self, frame: Frame, cut: bool, options: PipelineOptions, clock: _Clock
                ) -> tuple[_Look, bool]:
        """This frame's answer, and whether it was searched for rather than followed: the
        user's new pick, else the person followed in their box, else a search of the frame."""
        image = frame.image
        if not options.tracking:
            height, width = image.shape[:2]
            return self._look(image, [frame_box(width, height)], options, clock)[0], False
        if self._pending_choice is not None:
            look = self._pick(image, self._pending_choice, options, clock)
            self._pending_choice = None
            return look, True
        if self._next_box is None or cut:
            return self._find(image, frame.timestamp, cut, options, clock), True
        followed = self._follow(image, self._next_box, options, clock)
        if followed is not None:
            return followed, False
        # Lost in its box (left, or a cut the colours missed): search this very frame.
        return self._find(image, frame.timestamp, cut, options, clock, self._next_box), True

    def _smooth(self, keypoints: np.ndarray, confidences: np.ndarray, timestamp: float,
                searched: bool, options: PipelineOptions) -> np.ndarray:
        if searched:
            self.smoother.reset()  # the person may be another: no blending with the last
        if options.smoothing:
            return self.smoother(keypoints, confidences, timestamp)
        self.smoother.reset()
        return keypoints

    def _keep_track(self, keypoints: np.ndarray, confidences: np.ndarray, box: CropBox,
                    short_side: int, searched: bool, options: PipelineOptions) -> bool:
        """Where the next frame looks, from this frame's pose; whether a person is followed
        (with tracking off: whether this pose is one)."""
        joints_before = 0 if searched else self._joints_seen
        self._next_box = (next_box(keypoints, confidences, box, short_side, joints_before)
                          if options.tracking else None)
        self._joints_seen = confident_joints(confidences)
        if self._chosen_box is not None and self._next_box is not None:
            self._chosen_box = self._next_box
        return self._next_box is not None if options.tracking else person_found(confidences)

    # -- following ----------------------------------------------------------------------------
    def _follow(self, image: np.ndarray, box: CropBox, options: PipelineOptions,
                clock: _Clock) -> _Look | None:
        """The person in the box their last pose left, one crop; None where they are no
        longer in it."""
        look = self._look(image, [box], options, clock)[0]
        return look if still_followed(look.stack_confidences[-1]) else None

    # -- finding ------------------------------------------------------------------------------
    def _find(self, image: np.ndarray, timestamp: float, cut: bool, options: PipelineOptions,
              clock: _Clock, near: CropBox | None = None) -> _Look:
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
