"""Training views of people: the crop, its augmentation and the heatmap targets drawn in it.

Each training step sees every person through a random crop (scale, rotation, flip, half-body
and truncation crops, a frame's edge, a hand raised to the face, occluders, long clothes,
colour and a webcam's effects) drawn from a seeded generator, so that a resumed run sees
exactly the batches it would have seen.  The people come from :mod:`app.train.datasets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from app.engine.image_files import read_image
from app.engine.labelled_data import Annotation, ground_truth_box
from app.pose.affine import (
    PERSON_BOX_MARGIN,
    CropBox,
    box_from_keypoints,
    crop_matrix,
    invert_affine,
    warp_crop,
)
from app.pose.codec import HeatmapCodec
from app.pose.skeleton import LSP14
from app.pose.views import facing
from app.train.camera_effects import webcam_effects
from app.train.datasets import DatasetSplit
from app.train.garments import put_on_long_clothes
from app.train.hand_poses import raise_a_hand


@dataclass(frozen=True)
class Augmentation:
    """Random crop parameters; the defaults are the recipe measured to train well here."""

    scale: tuple[float, float] = (0.75, 1.25)
    rotation: float = 30.0
    rotation_probability: float = 0.6
    flip_probability: float = 0.5
    half_body_probability: float = 0.25
    truncation_probability: float = 0.2
    truncation_shift: float = 0.35  # of the box side
    frame_edge_probability: float = 0.2
    frame_edge_position: tuple[float, float] = (0.4, 0.85)  # of the crop side, from the edge kept
    colour: float = 0.25
    occluder_probability: float = 0.0  # per view: patches of other photos pasted over the person
    occluder_size: tuple[float, float] = (0.1, 0.4)  # a patch's side, as a fraction of the crop
    occluders_most: int = 3
    webcam_probability: float = 0.0  # per view: a webcam's light, blur, noise and codec
    clothes_probability: float = 0.0  # per view: a coat or dress over the hips and knees
    behind_repeats: int = 1  # people seen from behind come round this many times as often
    raised_hand_probability: float = 0.0  # per view: a forearm swung to the face or chest


UPPER_BODY = (6, 7, 8, 9, 10, 11, 12, 13)
LOWER_BODY = (0, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class SoftTarget:
    """A teacher's maps of one person: (J, S, S) uint8 (height x 255), in the crop ``box``
    turned by ``rotation`` (``app.train.teacher``)."""

    maps: np.ndarray
    box: CropBox
    rotation: float

    def warped(self, box: CropBox, size: int, rotation: float) -> np.ndarray:
        """The maps seen through another crop (``size`` square), as float32 in 0..1."""
        to_image = invert_affine(crop_matrix(self.box, self.maps.shape[-1], self.rotation))
        to_view = crop_matrix(box, size, rotation)
        matrix = np.hstack([to_view[:, :2] @ to_image[:, :2],
                            (to_view[:, :2] @ to_image[:, 2] + to_view[:, 2])[:, None]])
        return np.stack([cv2.warpAffine(m.astype(np.float32) / 255.0, matrix, (size, size),
                                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                         for m in self.maps])


@dataclass
class TrainingSample:
    """One network input and its supervision, all as numpy arrays."""

    image: np.ndarray  # (size, size, 3) uint8 BGR
    target: np.ndarray  # (J, H, H) float32
    weight: np.ndarray  # (J,) float32: 0 for unlabelled joints
    joints: np.ndarray  # (J, 2) float32: where the joints are in ``image``'s pixels


def sample_crop(
    annotation: Annotation, augmentation: Augmentation, rng: np.random.Generator
) -> tuple[CropBox, float, bool]:
    """Choose the box, rotation and flip for one training view of a person."""
    visible = annotation.visible.copy()
    if rng.random() < augmentation.half_body_probability:
        part = UPPER_BODY if rng.random() < 0.7 else LOWER_BODY
        in_part = np.zeros_like(visible)
        in_part[list(part)] = True
        if (visible & in_part).sum() >= 3:
            visible &= in_part
    box = box_from_keypoints(annotation.joints, visible, PERSON_BOX_MARGIN, min_side=16.0)
    assert box is not None  # callers pass annotations with labelled joints
    side = box.side * rng.uniform(*augmentation.scale)
    cx, cy = box.cx, box.cy
    if rng.random() < augmentation.truncation_probability:
        angle = rng.uniform(0, 2 * np.pi)
        shift = augmentation.truncation_shift * side
        cx, cy = cx + shift * np.cos(angle), cy + shift * np.sin(angle)
    rotation = 0.0
    if rng.random() < augmentation.rotation_probability:
        rotation = float(rng.uniform(-augmentation.rotation, augmentation.rotation))
    flip = bool(rng.random() < augmentation.flip_probability)
    return CropBox(float(cx), float(cy), float(side)), rotation, flip


@dataclass(frozen=True)
class FrameEdge:
    """Where the picture ends inside a crop: beyond this line on ``side`` all is black.

    A webcam frame often ends mid-body, and the app's crop then runs past the frame's edge into
    black padding.  LSPet hardly ever shows that (its people are whole, and joints cut off by a
    photo's edge are unlabelled), so training draws such edges itself.
    """

    side: Literal["top", "bottom", "left", "right"]
    position: float  # fraction of the crop side, counted from its top or left

    @property
    def axis(self) -> int:
        """0 when the edge cuts across x (left, right), 1 when it cuts across y."""
        return 1 if self.side in ("top", "bottom") else 0

    def beyond(self, coordinates: np.ndarray, size: int) -> np.ndarray:
        """Which pixel coordinates along the edge's axis, in a crop ``size`` wide, lie past it."""
        centres = (np.asarray(coordinates, dtype=np.float64) + 0.5) / size
        if self.side in ("bottom", "right"):
            return centres > self.position
        return centres < self.position


def sample_frame_edge(augmentation: Augmentation, rng: np.random.Generator) -> FrameEdge | None:
    """Mostly a bottom edge (a webcam cuts the legs off), sometimes another side."""
    if rng.random() >= augmentation.frame_edge_probability:
        return None
    side = "bottom" if rng.random() < 0.5 else ("top", "left", "right")[rng.integers(3)]
    kept = rng.uniform(*augmentation.frame_edge_position)
    return FrameEdge(side, kept if side in ("bottom", "right") else 1.0 - kept)


def paste_occluders(crop: np.ndarray, donors: list[np.ndarray], augmentation: Augmentation,
                    rng: np.random.Generator) -> np.ndarray:
    """Cover parts of the crop with rectangles cut from other training photos.

    People in a webcam's view are often partly hidden (a desk, a mug, an arm of the chair);
    the targets stay as they were, so the network learns to place joints it cannot see."""
    crop = crop.copy()
    size = crop.shape[0]
    for _ in range(rng.integers(1, int(augmentation.occluders_most) + 1)):
        donor = donors[rng.integers(len(donors))]
        width, height = (max(2, round(size * rng.uniform(*augmentation.occluder_size)))
                         for _ in range(2))
        if donor.shape[0] < height or donor.shape[1] < width:
            continue
        top = rng.integers(donor.shape[0] - height + 1)
        left = rng.integers(donor.shape[1] - width + 1)
        y, x = rng.integers(size - height + 1), rng.integers(size - width + 1)
        crop[y:y + height, x:x + width] = donor[top:top + height, left:left + width]
    return crop


def jitter_colour(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast and saturation, each within +-strength."""
    pixels = image.astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * rng.uniform(1 - strength, 1 + strength)  # saturation
    mean = pixels.mean()
    pixels = mean + (pixels - mean) * rng.uniform(1 - strength, 1 + strength)  # contrast
    pixels *= rng.uniform(1 - strength, 1 + strength)  # brightness
    return np.clip(pixels, 0, 255).astype(np.uint8)


def make_sample(
    image: np.ndarray,
    annotation: Annotation,
    box: CropBox,
    input_size: int,
    sigma: float,
    rotation: float = 0.0,
    flip: bool = False,
    edge: FrameEdge | None = None,
    soft: SoftTarget | None = None,
    soft_share: float = 0.0,
) -> TrainingSample:
    """Warp the image to the crop and draw the heatmap targets in the same frame, as the
    codec of ``input_size`` and ``sigma`` encodes them.

    Joints beyond a frame ``edge`` keep their weight and get all-zero maps: the network is
    taught that they are absent, as it is for joints outside the crop.  A teacher's ``soft``
    maps, seen through the same crop, make up ``soft_share`` of the labelled joints' targets."""
    codec = HeatmapCodec(input_size, sigma)
    size = codec.heatmap_size
    crop, _ = warp_crop(image, box, input_size, rotation)
    joints = codec.from_frame(annotation.joints, box, rotation)
    weight = annotation.visible.astype(np.float32)
    if flip:
        permutation = LSP14.flip_permutation()
        crop = crop[:, ::-1].copy()
        joints = joints[permutation]
        joints[:, 0] = size - 1 - joints[:, 0]
        weight = weight[permutation]
    target = codec.encode(joints, weight)
    if soft is not None and soft_share > 0:
        teacher = soft.warped(box, size, rotation)
        if flip:
            teacher = teacher[LSP14.flip_permutation()][:, :, ::-1]
        labelled = weight > 0
        target[labelled] = (1 - soft_share) * target[labelled] + soft_share * teacher[labelled]
    if edge is not None:
        crop = black_beyond(crop, edge)
        target[edge.beyond(joints[:, edge.axis], size)] = 0.0
    return TrainingSample(crop, target, weight, joints * (input_size / size))


def black_beyond(crop: np.ndarray, edge: FrameEdge) -> np.ndarray:
    """The crop with everything past the frame ``edge`` black, as past a webcam frame's edge."""
    crop = crop.copy()
    cut = edge.beyond(np.arange(crop.shape[0]), crop.shape[0])
    if edge.axis == 1:
        crop[cut] = 0
    else:
        crop[:, cut] = 0
    return crop


def decode_once(annotations: list[Annotation]) -> list[np.ndarray]:
    """Each person's photo, decoded once per photo: the people of a COCO photo share one."""
    decoded: dict[Path, np.ndarray] = {}
    for annotation in annotations:
        if annotation.image_path not in decoded:
            decoded[annotation.image_path] = read_image(annotation.image_path)
    return [decoded[annotation.image_path] for annotation in annotations]


class LspTrainingSet:
    """Decoded-once images with random augmented views, drawn from a seeded generator."""

    def __init__(
        self,
        annotations: list[Annotation],
        input_size: int,
        sigma: float,
        augmentation: Augmentation | None = None,
        images: list[np.ndarray] | None = None,
        repeats: list[int] | None = None,
        soft: list[SoftTarget | None] | None = None,
        soft_share: float = 0.0,
    ) -> None:
        repeats = repeats if repeats is not None else [1] * len(annotations)
        trainable = [i for i, a in enumerate(annotations) if a.visible.sum() >= 2]
        self.annotations = [annotations[i] for i in trainable]
        self.images = images if images is not None else decode_once(self.annotations)
        # One epoch: every person ``repeats`` times, so a small clean set can weigh more.
        self.epoch = np.repeat(np.arange(len(trainable)), [repeats[i] for i in trainable])
        self.soft = [soft[i] for i in trainable] if soft is not None else None
        self.soft_share = soft_share
        self.input_size = input_size
        self.sigma = sigma
        self.augmentation = augmentation

    @classmethod
    def mixed(cls, splits: list[DatasetSplit], input_size: int, sigma: float,
              augmentation: Augmentation | None = None, soft_share: float = 0.0
              ) -> LspTrainingSet:
        """The training people of several datasets, each repeated as its split says (people
        seen from behind ``behind_repeats`` times more), with the teacher's maps where the
        splits carry them."""
        annotations = [a for split in splits for a in split.train]
        behind = augmentation.behind_repeats if augmentation is not None else 1

        def shown_more(a: Annotation) -> int:
            return behind if behind > 1 and facing(a.joints, a.visible) == "behind" else 1

        repeats = [split.repeats * shown_more(a) for split in splits for a in split.train]
        soft = None
        if any(split.soft is not None for split in splits):
            soft = [s for split in splits for s in (split.soft or [None] * len(split.train))]
        return cls(annotations, input_size, sigma, augmentation, repeats=repeats, soft=soft,
                   soft_share=soft_share)

    def __len__(self) -> int:
        return len(self.annotations)

    def sample(self, index: int, rng: np.random.Generator | None) -> TrainingSample:
        """An augmented view (or, without augmentation or rng, the plain ground-truth crop)."""
        annotation = self.annotations[index]
        image = self.images[index]
        if self.augmentation is None or rng is None:
            box = ground_truth_box(annotation)
            assert box is not None
            return make_sample(image, annotation, box, self.input_size, self.sigma)
        # Before the crop: the wrist's label moves with the hand.  (A teacher's maps would
        # not, so views with them are left as they are.)
        raised = self.augmentation.raised_hand_probability
        if raised > 0 and self.soft is None and rng.random() < raised:
            image, annotation = raise_a_hand(image, annotation, rng)
        box, rotation, flip = sample_crop(annotation, self.augmentation, rng)
        edge = sample_frame_edge(self.augmentation, rng)
        soft = self.soft[index] if self.soft is not None else None
        sample = make_sample(image, annotation, box, self.input_size, self.sigma, rotation, flip,
                             edge, soft, self.soft_share)
        # (drawn only when enabled, so runs without occluders keep their exact batches)
        occluders = self.augmentation.occluder_probability
        if occluders > 0 and rng.random() < occluders:
            sample.image = paste_occluders(sample.image, self.images, self.augmentation, rng)
            if edge is not None:  # nothing shows past the picture's edge
                sample.image = black_beyond(sample.image, edge)
        clothes = self.augmentation.clothes_probability  # drawn only when on, as occluders are
        if clothes > 0 and rng.random() < clothes:
            donor = self.images[rng.integers(len(self.images))]
            sample.image = put_on_long_clothes(sample.image, sample.joints, sample.weight > 0,
                                               donor, rng)
            if edge is not None:
                sample.image = black_beyond(sample.image, edge)
        if self.augmentation.colour > 0:
            sample.image = jitter_colour(sample.image, self.augmentation.colour, rng)
        webcam = self.augmentation.webcam_probability  # drawn only when on, as occluders are
        if webcam > 0 and rng.random() < webcam:
            sample.image = webcam_effects(sample.image, rng)
        return sample

    def batch(
        self, indices: np.ndarray, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stacked images (B, S, S, 3) uint8, targets (B, J, H, H), weights (B, J)."""
        samples = [self.sample(int(i), rng) for i in indices]
        return (
            np.stack([s.image for s in samples]),
            np.stack([s.target for s in samples]),
            np.stack([s.weight for s in samples]),
        )
