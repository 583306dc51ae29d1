"""PCK@0.2 of a model on an LSP-layout folder: with the ground-truth person box, and as the app
finds the person itself."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from app.engine.image_files import read_image
from app.engine.labelled_data import Annotation, ground_truth_box
from app.engine.pipeline import PosePipeline
from app.engine.scoring import (
    Evaluation,
    predict_annotations,
    predict_live,
    run_still_as_shown,
    score,
)
from app.model.predictors import Predictor
from app.pose.affine import apply_affine, crop_matrix, warp_crop
from app.pose.skeleton import Skeleton


class ValidationSlice:
    """A dataset's held-out people with their images, decoded once and scored many times."""

    def __init__(self, annotations: list[Annotation]) -> None:
        self.annotations = annotations
        self.images = [read_image(a.image_path) for a in annotations]

    def score(self, predictor: Predictor, flip: bool = False) -> Evaluation:
        """PCK@0.2 with the ground-truth person box."""
        return score(predict_annotations(predictor, self.annotations, self.images, flip=flip),
                     predictor.spec.skeleton)


@dataclass
class TruncationCheck:
    """How the model treats joints cut off from its view (by the crop, or by the picture's edge),
    at the app's display threshold."""

    threshold: float
    outside: int  # labelled joints outside the crop
    outside_shown: float  # percent of those still scoring at or above the threshold
    inside: int
    inside_shown: float  # percent of joints inside the crop that are shown

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "outside_joints": self.outside,
                "outside_shown_percent": round(self.outside_shown, 2),
                "inside_joints": self.inside, "inside_shown_percent": round(self.inside_shown, 2)}


def shown_share(threshold: float, labelled: np.ndarray, within: np.ndarray, shown: np.ndarray
                ) -> TruncationCheck:
    """Count, over (N, J) masks, the labelled joints outside and inside the view and how many
    of each score at or above ``threshold``."""
    outside, inside = labelled & ~within, labelled & within

    def shown_percent(joints: np.ndarray) -> float:
        return 100.0 * float((joints & shown).sum()) / max(int(joints.sum()), 1)

    return TruncationCheck(threshold, int(outside.sum()), shown_percent(outside),
                           int(inside.sum()), shown_percent(inside))


def truncation_check(
    predictor: Predictor,
    annotations: list[Annotation],
    images: list[np.ndarray],
    threshold: float,
    shift: float = 0.5,
) -> TruncationCheck:
    """Crop each person off-centre (left, right, up, down by ``shift`` of the box side) and
    count how often joints left outside the crop still score above ``threshold``."""
    size = predictor.spec.input_size
    labelled, within, shown = [], [], []
    for annotation, image in zip(annotations, images, strict=True):
        box = ground_truth_box(annotation)
        if box is None:
            continue
        boxes = [replace(box, cx=box.cx + dx * box.side, cy=box.cy + dy * box.side)
                 for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))]
        crops = np.stack([warp_crop(image, b, size)[0] for b in boxes])
        heatmaps = predictor(crops)[-1]
        for crop_box, maps in zip(boxes, heatmaps, strict=True):
            _, confidences = predictor.spec.codec.decode(maps, "none")
            in_crop = apply_affine(crop_matrix(crop_box, size), annotation.joints)
            within.append(in_window(in_crop, (0, size, 0, size)))
            shown.append(confidences >= threshold)
            labelled.append(annotation.visible)
    return shown_share(threshold, np.array(labelled), np.array(within), np.array(shown))


def webcam_window(annotation: Annotation, skeleton: Skeleton, width: int, height: int,
                  aspect: float = 4 / 3, margin: float = 0.3) -> tuple[int, int, int, int] | None:
    """The part of the photo (top, bottom, left, right) a webcam at a desk would show of this
    person: a 4:3 picture from ``margin`` of the torso's length above the highest joint to
    ``margin`` of it below the hips, centred on the shoulders, so the upper body fills it.
    None unless the person stands upright (shoulders above the hips, the torso within 45
    degrees of vertical) and some labelled joint falls outside the picture."""
    names = ("left shoulder", "right shoulder", "left hip", "right hip")
    indices = [skeleton.index(name) for name in names]
    if not annotation.visible[indices].all():
        return None
    shoulders = annotation.joints[indices[:2]].mean(axis=0)
    hips = annotation.joints[indices[2:]].mean(axis=0)
    down = hips - shoulders
    torso = float(np.hypot(*down))
    if torso < 1.0 or down[1] < abs(down[0]):
        return None
    bottom = min(hips[1] + margin * torso, height)
    above = annotation.visible & (annotation.joints[:, 1] < bottom)
    top = max(annotation.joints[above, 1].min() - margin * torso, 0.0)
    picture_width = min(aspect * (bottom - top), width)
    left = float(np.clip(shoulders[0] - picture_width / 2, 0, width - picture_width))
    window = round(top), round(bottom), round(left), round(left + picture_width)
    cut_off = annotation.visible & ~in_window(annotation.joints, window)
    return window if cut_off.any() else None


def in_window(points: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """Which (N, 2) points fall on a pixel of rows top..bottom-1, columns left..right-1."""
    top, bottom, left, right = window
    x, y = points[:, 0], points[:, 1]
    return (y >= top - 0.5) & (y <= bottom - 0.5) & (x >= left - 0.5) & (x <= right - 0.5)


def framing_check(pipeline: PosePipeline, annotations: list[Annotation],
                  images: list[np.ndarray], threshold: float, frames: int = 4
                  ) -> TruncationCheck:
    """The app's own case of cut-off joints: each upright person's photo cut down to what a
    webcam would show (:func:`webcam_window`) and given to the box-free pipeline as a still
    for ``frames`` frames, smoothing off.  Counts, in the last frame, how often the joints
    outside the picture (mostly legs) are still shown.  The crop then runs past the picture's
    edge into black, which shifted crops of whole photos (:func:`truncation_check`) never
    show."""
    labelled, within, shown = [], [], []
    for annotation, image in zip(annotations, images, strict=True):
        window = webcam_window(annotation, pipeline.spec.skeleton, image.shape[1],
                               image.shape[0])
        if window is None:
            continue
        top, bottom, left, right = window
        last = run_still_as_shown(pipeline, image[top:bottom, left:right], frames)[-1]
        labelled.append(annotation.visible)
        within.append(in_window(annotation.joints, window))
        shown.append(last.confidences >= threshold)
    return shown_share(threshold, np.array(labelled, bool), np.array(within, bool),
                       np.array(shown, bool))


@dataclass
class LiveCheck:
    """The box-free pipeline on stills, frame by frame: PCK@0.2 (``evaluation.per_stack``
    holds one value per frame), the percentage of photos with a person found in each frame,
    and, for comparison, the PCK of the last stack given the true person box."""

    evaluation: Evaluation
    found: list[float]
    true_box: float

    def to_dict(self) -> dict:
        return {"per_frame": [round(v, 2) for v in self.evaluation.per_stack],
                "found_percent": [round(v, 2) for v in self.found],
                "true_box": round(self.true_box, 2), "images": self.evaluation.images}


def live_check(pipeline: PosePipeline, annotations: list[Annotation],
               images: list[np.ndarray], frames: int = 4) -> LiveCheck:
    """:func:`run_still_as_shown` on every measurable photo: how well and how often the app
    finds the person by itself, against what the model does with the true box."""
    skeleton = pipeline.spec.skeleton
    predictions, found = predict_live(pipeline, annotations, images, frames)
    true_box = score(predict_annotations(pipeline.predictor, annotations, images), skeleton)
    found_percent = 100.0 * found.mean(axis=1) if found.size else np.zeros(frames)
    return LiveCheck(score(predictions, skeleton), found_percent.tolist(), true_box.mean)


def small_person_photos(annotations: list[Annotation], images: list[np.ndarray],
                        frame_size: tuple[int, int] = (640, 480), height: float = 1 / 3,
                        seed: int = 14) -> tuple[list[Annotation], list[np.ndarray]]:
    """Each photo shrunk so its person (the larger side of the labelled joints' box) is
    ``height`` of the frame high, at a random place of a black (width, height) frame, wholly
    inside it: a person far from the camera, where the whole frame letterboxed into the
    network's input shows them a few pixels tall.  The joints move with the photo."""
    width, frame_height = frame_size
    rng = np.random.default_rng(seed)
    shrunk_annotations, frames = [], []
    for annotation, image in zip(annotations, images, strict=True):
        labelled = annotation.joints[annotation.visible]
        if len(labelled) < 2 or np.ptp(labelled, axis=0).max() < 1.0:
            continue
        scale = height * frame_height / np.ptp(labelled, axis=0).max()
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        scales = np.array(size) / np.array(image.shape[1::-1])
        joints = (annotation.joints + 0.5) * scales - 0.5  # pixel centres stay centres
        low, high = joints[annotation.visible].min(axis=0), joints[annotation.visible].max(axis=0)
        left = int(rng.integers(np.ceil(-low[0]), np.floor(width - 1 - high[0]) + 1))
        top = int(rng.integers(np.ceil(-low[1]), np.floor(frame_height - 1 - high[1]) + 1))
        frame = np.zeros((frame_height, width, 3), np.uint8)
        paste_into(frame, resized, left, top)
        frames.append(frame)
        shrunk_annotations.append(replace(annotation, joints=joints + np.array([left, top])))
    return shrunk_annotations, frames


def paste_into(frame: np.ndarray, image: np.ndarray, left: int, top: int) -> None:
    """Copy ``image`` onto ``frame`` with its top-left corner at (left, top), cut at the
    frame's edges."""
    x0, y0 = max(left, 0), max(top, 0)
    x1 = min(left + image.shape[1], frame.shape[1])
    y1 = min(top + image.shape[0], frame.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = image[y0 - top:y1 - top, x0 - left:x1 - left]


def small_person_check(pipeline: PosePipeline, annotations: list[Annotation],
                       images: list[np.ndarray], frames: int = 4) -> LiveCheck:
    """:func:`live_check` on :func:`small_person_photos`: a person a third of a 640x480
    frame high, to be found before it can be tracked."""
    return live_check(pipeline, *small_person_photos(annotations, images), frames)
