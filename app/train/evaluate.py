"""PCK@0.2 of a model on an LSP-layout folder: with the ground-truth person box, and as the app
finds the person itself."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.sources import Frame
from app.model.runner import HeatmapPredictor
from app.pose.affine import apply_affine, crop_matrix, crop_to_frame, warp_crop
from app.pose.heatmaps import decode_heatmaps
from app.pose.metrics import mirrored_hits, pck_hits, pck_percent, torso_diameters
from app.pose.skeleton import Skeleton
from app.train.data import Annotation, ground_truth_box


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
    predictor: HeatmapPredictor,
    annotations: list[Annotation],
    images: list[np.ndarray],
    stacks: int | None = None,
    flip: bool = False,
    batch_size: int = 32,
) -> Predictions:
    """Run every annotated person through crop, network and decoding (no augmentation)."""
    spec = predictor.spec
    usable = measurable(annotations, images, spec.skeleton)
    per_stack: list[list[np.ndarray]] = []
    for start in range(0, len(usable), batch_size):
        chunk = usable[start:start + batch_size]
        boxes = [ground_truth_box(a) for a, _ in chunk]
        crops = np.stack([warp_crop(im, box, spec.input_size)[0]
                          for (_, im), box in zip(chunk, boxes, strict=True)])
        heatmaps = predictor(crops, stacks, flip)
        if not per_stack:
            per_stack = [[] for _ in range(len(heatmaps))]
        points, _ = decode_heatmaps(heatmaps)  # (K, B, J, 2), every map at once
        for k, stack_points in enumerate(points):
            per_stack[k].extend(crop_to_frame(p, box, spec.heatmap_size)
                                for p, box in zip(stack_points, boxes, strict=True))
    return predictions_of(np.array([np.stack(p) for p in per_stack]), usable, spec.skeleton)


def measurable(annotations: list[Annotation], images: list[np.ndarray], skeleton: Skeleton
               ) -> list[tuple[Annotation, np.ndarray]]:
    """The people PCK can score: both torso joints labelled, and a box to crop."""
    left_shoulder, right_hip = skeleton.index("left shoulder"), skeleton.index("right hip")
    return [(a, im) for a, im in zip(annotations, images, strict=True)
            if a.visible[left_shoulder] and a.visible[right_hip]
            and ground_truth_box(a) is not None]


def predictions_of(joints: np.ndarray, usable: list[tuple[Annotation, np.ndarray]],
                   skeleton: Skeleton) -> Predictions:
    """(K, N, J, 2) predicted joints of the ``usable`` people, beside their truth."""
    truth = np.stack([a.joints for a, _ in usable]) if usable else np.zeros((0, 14, 2))
    visible = np.stack([a.visible for a, _ in usable]) if usable else np.zeros((0, 14), bool)
    torso = torso_diameters(truth, skeleton.index("left shoulder"), skeleton.index("right hip"))
    return Predictions(joints=joints, truth=truth, visible=visible, torso=torso)


def predict_live(pipeline: PosePipeline, annotations: list[Annotation],
                 images: list[np.ndarray], frames: int = 4) -> Predictions:
    """The app's own pipeline, given no box: each photo shown as a still for ``frames`` frames,
    the first searched whole (letterboxed), the later ones in the box tracked from the last
    pose.  Its ``joints`` are (frames, N, J, 2): scored like stacks, one row per frame."""
    usable = measurable(annotations, images, pipeline.spec.skeleton)
    options = PipelineOptions(smoothing=False)  # a still: each frame's own answer
    per_frame = np.zeros((frames, len(usable), pipeline.spec.skeleton.num_joints, 2))
    for person, (_, image) in enumerate(usable):
        pipeline.reset()
        for index in range(frames):
            frame = Frame(image, index, index / 30)
            per_frame[index, person] = pipeline.process(frame, options).keypoints
    return predictions_of(per_frame, usable, pipeline.spec.skeleton)


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


@dataclass
class TruncationCheck:
    """How the model treats joints the crop cuts off, at the app's display threshold."""

    threshold: float
    outside: int  # labelled joints outside the crop
    outside_shown: float  # percent of those still scoring at or above the threshold
    inside: int
    inside_shown: float  # percent of joints inside the crop that are shown

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "outside_joints": self.outside,
                "outside_shown_percent": round(self.outside_shown, 2),
                "inside_joints": self.inside, "inside_shown_percent": round(self.inside_shown, 2)}


def truncation_check(
    predictor: HeatmapPredictor,
    annotations: list[Annotation],
    images: list[np.ndarray],
    threshold: float,
    shift: float = 0.5,
) -> TruncationCheck:
    """Crop each person off-centre (left, right, up, down by ``shift`` of the box side) and
    count how often joints left outside the crop still score above ``threshold``."""
    size = predictor.spec.input_size
    outside = inside = outside_shown = inside_shown = 0
    for annotation, image in zip(annotations, images, strict=True):
        box = ground_truth_box(annotation)
        if box is None:
            continue
        boxes = [replace(box, cx=box.cx + dx * box.side, cy=box.cy + dy * box.side)
                 for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))]
        crops = np.stack([warp_crop(image, b, size)[0] for b in boxes])
        heatmaps = predictor(crops)[-1]
        for crop_box, maps in zip(boxes, heatmaps, strict=True):
            _, confidences = decode_heatmaps(maps, "none")
            in_crop = apply_affine(crop_matrix(crop_box, size), annotation.joints)
            within = ((in_crop >= -0.5) & (in_crop <= size - 0.5)).all(axis=1)
            shown = confidences >= threshold
            labelled = annotation.visible
            outside += int((labelled & ~within).sum())
            outside_shown += int((labelled & ~within & shown).sum())
            inside += int((labelled & within).sum())
            inside_shown += int((labelled & within & shown).sum())
    return TruncationCheck(threshold, outside, 100.0 * outside_shown / max(outside, 1),
                           inside, 100.0 * inside_shown / max(inside, 1))
