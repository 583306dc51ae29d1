"""Scoring a model against labelled people: PCK@0.2 per stack and per joint, with the true
person box (the benchmark's way) or with none (the app's own pipeline finding the person).
``eval``, training's validation and the inspector all score here, so their figures agree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.labelled_data import Annotation, ground_truth_box
from app.engine.pipeline import PipelineOptions, PosePipeline, PoseResult
from app.engine.sources import FALLBACK_FPS, Frame
from app.model.predictors import Predictor
from app.pose.affine import warp_crop
from app.pose.metrics import mirrored_hits, pck_hits, pck_percent, torso_diameters
from app.pose.skeleton import Skeleton

# Frames a photo is shown for when scored with no box: the pipeline's search and refinement
# settle within them.  Smoothing stays off, so each frame's result is its own answer.
STILL_FRAMES = 4
STILL_OPTIONS = PipelineOptions(smoothing=False)


@dataclass
class Evaluation:
    """PCK in percent: overall (last stack run), per stack, per joint (last stack); and the
    share of people whose pose (last stack) scores better with left and right exchanged, with
    the PCK if each of them were read that way."""

    mean: float
    per_stack: list[float]
    per_joint: dict[str, float]
    images: int
    threshold: float
    mirrored_people: float
    mean_mirrors_forgiven: float

    def to_dict(self) -> dict:
        return {
            "mean": round(self.mean, 2),
            "per_stack": [round(v, 2) for v in self.per_stack],
            "per_joint": {k: round(v, 2) for k, v in self.per_joint.items()},
            "images": self.images,
            "threshold": self.threshold,
            "mirrored_people_percent": round(self.mirrored_people, 2),
            "mean_mirrors_forgiven": round(self.mean_mirrors_forgiven, 2),
        }


@dataclass
class Predictions:
    """Per-stack predicted joints (K, N, J, 2) in image pixels, and the truth they face."""

    joints: np.ndarray
    truth: np.ndarray
    visible: np.ndarray
    torso: np.ndarray


def predict_annotations(
    predictor: Predictor,
    annotations: list[Annotation],
    images: list[np.ndarray],
    stacks: int | None = None,
    flip: bool = False,
    batch_size: int = 32,
) -> Predictions:
    """Run every annotated person through crop, network and decoding (no augmentation)."""
    skeleton = predictor.spec.skeleton
    usable = measurable(annotations, images, skeleton)
    batches = [predict_batch(predictor, usable[start:start + batch_size], stacks, flip)[0]
               for start in range(0, len(usable), batch_size)]
    joints = (np.concatenate(batches, axis=1) if batches
              else np.zeros((0, 0, skeleton.num_joints, 2)))
    return predictions_of(joints, usable, skeleton)


def predict_batch(predictor: Predictor, people: list[tuple[Annotation, np.ndarray]],
                  stacks: int | None = None, flip: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One batch of people in their true boxes: joints (K, B, J, 2) in image pixels and
    confidences (K, B, J).  ``eval`` and the inspector batch alike, so their figures agree to
    the last digit."""
    spec = predictor.spec
    boxes = [ground_truth_box(a) for a, _ in people]
    crops = np.stack([warp_crop(im, box, spec.input_size)[0]
                      for (_, im), box in zip(people, boxes, strict=True)])
    points, confidences = spec.codec.decode(predictor(crops, stacks, flip))  # every map at once
    joints = np.array([[spec.codec.to_frame(p, box) for p, box in zip(stack_points, boxes,
                                                                         strict=True)]
                       for stack_points in points])
    return joints, confidences


def measurable(annotations: list[Annotation], images: list[np.ndarray], skeleton: Skeleton
               ) -> list[tuple[Annotation, np.ndarray]]:
    """The people PCK can score (:func:`can_measure`), beside their images."""
    return [(a, im) for a, im in zip(annotations, images, strict=True)
            if can_measure(a, skeleton)]


def can_measure(annotation: Annotation, skeleton: Skeleton) -> bool:
    """Whether PCK can score this person: both torso joints labelled, and a box to crop."""
    return bool(annotation.visible[skeleton.index("left shoulder")]
                and annotation.visible[skeleton.index("right hip")]
                and ground_truth_box(annotation) is not None)


def predictions_of(joints: np.ndarray, usable: list[tuple[Annotation, np.ndarray]],
                   skeleton: Skeleton) -> Predictions:
    """(K, N, J, 2) predicted joints of the ``usable`` people, beside their truth."""
    truth = np.stack([a.joints for a, _ in usable]) if usable else np.zeros((0, 14, 2))
    visible = np.stack([a.visible for a, _ in usable]) if usable else np.zeros((0, 14), bool)
    torso = torso_diameters(truth, skeleton.index("left shoulder"), skeleton.index("right hip"))
    return Predictions(joints=joints, truth=truth, visible=visible, torso=torso)


def predict_live(pipeline: PosePipeline, annotations: list[Annotation],
                 images: list[np.ndarray], frames: int = STILL_FRAMES
                 ) -> tuple[Predictions, np.ndarray]:
    """The app's own pipeline, given no box: each photo (or the person's region of it, see
    :func:`person_view`) shown as a still for ``frames`` frames (:func:`run_still_as_shown`).
    Its ``joints`` are (frames, N, J, 2) in photo pixels: scored like stacks, one row per
    frame; beside them, (frames, N) whether a person was found."""
    usable = measurable(annotations, images, pipeline.spec.skeleton)
    per_frame = np.zeros((frames, len(usable), pipeline.spec.skeleton.num_joints, 2))
    found = np.zeros((frames, len(usable)), bool)
    for person, (annotation, image) in enumerate(usable):
        view, offset = person_view(annotation, image)
        for index, result in enumerate(run_still_as_shown(pipeline, view, frames)):
            per_frame[index, person] = result.keypoints + offset
            found[index, person] = result.found
    return predictions_of(per_frame, usable, pipeline.spec.skeleton), found


def person_view(annotation: Annotation, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the box-free path is shown of this person: the whole photo, or, where the photo
    holds other people too, the person's region of it; and where that lies in the photo (x, y),
    to add to what the pipeline finds there."""
    if annotation.region is None:
        return image, np.zeros(2)
    left, top, width, height = annotation.region
    return (np.ascontiguousarray(image[top:top + height, left:left + width]),
            np.array([left, top], dtype=np.float64))


def run_still_as_shown(pipeline: PosePipeline, image: np.ndarray, frames: int,
                       options: PipelineOptions = STILL_OPTIONS) -> list[PoseResult]:
    """A photo held for ``frames`` frames of a clip at the usual frame rate, to a pipeline that
    has forgotten any earlier person (``options`` keep smoothing off)."""
    pipeline.reset()
    return [pipeline.process(Frame(image, index, index / FALLBACK_FPS), options)
            for index in range(frames)]


def score(predictions: Predictions, skeleton: Skeleton, threshold: float = 0.2) -> Evaluation:
    """PCK@threshold per stack and per joint, over the joints visible in the truth."""
    per_stack = []
    per_joint = np.full(skeleton.num_joints, np.nan)
    for joints in predictions.joints:
        hits, counted = pck_hits(joints, predictions.truth, predictions.visible,
                                 predictions.torso, threshold)
        mean, per_joint = pck_percent(hits, counted)
        per_stack.append(mean)
    mirrored_people = mean_mirrors_forgiven = float("nan")
    if len(predictions.truth):
        mirrored, forgiven = mirrored_hits(predictions.joints[-1], predictions.truth,
                                           predictions.visible, predictions.torso,
                                           skeleton.flip_permutation(), threshold)
        mirrored_people = 100.0 * mirrored.mean()
        # ``counted`` (from the loop above) is the same for every stack: it is the truth's.
        mean_mirrors_forgiven = pck_percent(forgiven, counted)[0]
    return Evaluation(
        mean=per_stack[-1] if per_stack else float("nan"),
        per_stack=per_stack,
        per_joint=dict(zip(skeleton.joint_names, per_joint.tolist(), strict=True)),
        images=len(predictions.truth),
        threshold=threshold,
        mirrored_people=mirrored_people,
        mean_mirrors_forgiven=mean_mirrors_forgiven,
    )
