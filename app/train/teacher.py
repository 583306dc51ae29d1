"""An MPII-trained teacher's view of every training person, computed once and cached.

EfficientPose (Groos et al., Applied Intelligence 2021; Apache-2.0), trained on MPII's 25,000
people, sees upright people better than this project's model, and its left and right are
person-centric where LSPet's crowd labels sometimes are not.  Training uses its maps in three
ways (``app.train.data``): repairing labels whose left and right are exchanged, giving targets
to joints LSPet leaves unlabelled, and as soft targets beside the labels.

It runs at training time only, through the optional ``teacher`` extra (``ai-edge-litert``):
the app and its package never import this module.  It runs once per dataset, on the crop the
trainer centres on (the labelled joints' box), flip-averaged; people the labels show upside
down or lying are first turned upright, since MPII rarely shows them otherwise and the teacher
is poor on them.  Its maps are kept small (``map_size``), in the crop's frame, with the crop's
box and rotation, so that the trainer can warp them with each augmented view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from app.atomic_write import AtomicFile
from app.engine.image_files import read_image
from app.engine.labelled_data import Annotation, ground_truth_box, load_annotations
from app.pose.affine import CropBox, apply_affine, crop_matrix, invert_affine
from app.pose.skeleton import LSP14
from app.train.datasets import dataset_name

# EfficientPose's 16 MPII maps, in LSP14's order (MPII's upper neck is LSP's neck; thorax and
# pelvis have no LSP joint).
MPII_TO_LSP14 = (12, 11, 10, 13, 14, 15, 4, 3, 2, 6, 7, 8, 1, 0)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
TURN_BEYOND = 45.0  # degrees from upright past which a person is turned upright for the teacher


class TeacherError(Exception):
    """The teacher cannot run here; the message says what to install or where to look."""


def upright_rotation(annotation: Annotation) -> float:
    """The crop rotation (degrees, :func:`crop_matrix`'s sense) that stands the labelled person
    upright, or 0 when they already are (within ``TURN_BEYOND``) or their torso is unlabelled.

    The torso runs from mid-shoulders to mid-hips, which does not depend on which side the
    labels call left."""
    names = ("left shoulder", "right shoulder", "left hip", "right hip")
    indices = [LSP14.index(name) for name in names]
    if not annotation.visible[indices].all():
        return 0.0
    shoulders = annotation.joints[indices[:2]].mean(axis=0)
    hips = annotation.joints[indices[2:]].mean(axis=0)
    dx, dy = hips - shoulders
    if np.hypot(dx, dy) < 1.0:
        return 0.0
    rotation = float(np.degrees(np.arctan2(dy, dx)) - 90.0)  # the crop turns the torso by -this
    rotation = (rotation + 180.0) % 360.0 - 180.0
    return rotation if abs(rotation) > TURN_BEYOND else 0.0


class EfficientPoseTeacher:
    """One EfficientPose TFLite model; ``maps`` gives its 14 LSP joint maps for a square crop."""

    def __init__(self, model_path: str | Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise TeacherError("the teacher needs ai-edge-litert: pip install -e .[teacher]"
                               ) from error
        if not Path(model_path).is_file():
            raise TeacherError(f"{model_path}: no such teacher model")
        self.interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[-1]  # the upscaled confidence maps
        self.resolution = int(self.input["shape"][1])

    def run(self, crop_bgr: np.ndarray) -> np.ndarray:
        """(14, R, R) maps of one ``resolution``-square BGR crop, smoothed as its authors do."""
        rgb = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        self.interpreter.set_tensor(self.input["index"],
                                    ((rgb - IMAGENET_MEAN) / IMAGENET_STD)[None])
        self.interpreter.invoke()
        maps = self.interpreter.get_tensor(self.output["index"])[0]  # (R, R, 16)
        maps = cv2.GaussianBlur(maps, (0, 0), 1.0)
        return np.ascontiguousarray(maps.transpose(2, 0, 1)[list(MPII_TO_LSP14)])

    def maps(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Flip-averaged (14, R, R) maps: the mirrored crop's maps mirrored back, sides swapped."""
        plain = self.run(crop_bgr)
        mirrored = self.run(np.ascontiguousarray(crop_bgr[:, ::-1]))
        return (plain + mirrored[LSP14.flip_permutation()][:, :, ::-1]) / 2


@dataclass
class TeacherTargets:
    """The teacher's view of each person of a dataset, keyed by the person's name.

    ``maps`` (N, 14, S, S) uint8 (confidence x 255) in the crop given by ``boxes`` (cx, cy,
    side) and ``rotations``; ``joints`` (N, 14, 2) its peaks in image pixels, ``confidence``
    (N, 14) their heights."""

    names: np.ndarray
    boxes: np.ndarray
    rotations: np.ndarray
    maps: np.ndarray
    joints: np.ndarray
    confidence: np.ndarray

    def index(self) -> dict[str, int]:
        return {str(name): i for i, name in enumerate(self.names)}

    @classmethod
    def concatenate(cls, parts: list[TeacherTargets]) -> TeacherTargets:
        fields = cls.__dataclass_fields__
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts])
                      for name in fields})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with AtomicFile(path) as file:  # its temporary ends in .npz, so numpy adds no ending
            np.savez_compressed(file.path, **{name: getattr(self, name)
                                              for name in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> TeacherTargets:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def teach_person(teacher: EfficientPoseTeacher, image: np.ndarray, annotation: Annotation,
                 map_size: int) -> tuple[CropBox, float, np.ndarray, np.ndarray, np.ndarray]:
    """The teacher on one person: (box, rotation, small maps, joints in image px, confidence)."""
    box = ground_truth_box(annotation)
    assert box is not None  # only people with labelled joints are taught
    rotation = upright_rotation(annotation)
    size = teacher.resolution
    crop = cv2.warpAffine(image, crop_matrix(box, size, rotation), (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    maps = np.clip(teacher.maps(crop), 0.0, 1.0)
    flat = maps.reshape(len(maps), -1)
    peaks = flat.argmax(axis=1)
    confidence = flat[np.arange(len(maps)), peaks]
    # Pixel centres are whole numbers here (``app.pose.affine``), so the authors' half pixel,
    # which converts an index to their corner-based coordinates, is not added.
    in_crop = np.stack([peaks % size, peaks // size], axis=1).astype(np.float64)
    joints = apply_affine(invert_affine(crop_matrix(box, size, rotation)), in_crop)
    small = np.stack([cv2.resize(m, (map_size, map_size), interpolation=cv2.INTER_AREA)
                      for m in maps])
    quantised = np.round(np.clip(small, 0, 1) * 255).astype(np.uint8)
    return box, rotation, quantised, joints, confidence.astype(np.float32)


def cache_path(cache_dir: str | Path, dataset: str, model: str | Path) -> Path:
    """Where the teacher ``model``'s view of the dataset named ``dataset`` is kept."""
    return Path(cache_dir) / f"{dataset}-{Path(model).stem}.npz"


def compute_teacher_targets(dataset: str | Path, model: str | Path, cache_dir: str | Path,
                            map_size: int = 48, threads: int = 1, chunk: int = 250) -> Path:
    """Run the teacher over every labelled person of ``dataset`` and cache its view.

    Resumable: finished chunks are kept beside the cache until the whole set is done, so a
    stopped run goes on where it stopped."""
    target = cache_path(cache_dir, dataset_name(dataset), model)
    if target.is_file():
        return target
    parts_dir = target.with_suffix(".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    teacher = EfficientPoseTeacher(model, threads)
    people = [a for a in load_annotations(dataset) if ground_truth_box(a) is not None]
    chunks = [people[start:start + chunk] for start in range(0, len(people), chunk)]
    bar = tqdm(total=len(people), unit="person", desc=f"teacher on {dataset_name(dataset)}")
    for number, group in enumerate(chunks):
        part = parts_dir / f"{number:05d}.npz"
        if not part.is_file():
            results = [teach_person(teacher, read_image(a.image_path), a, map_size)
                       for a in group]
            TeacherTargets(
                names=np.array([a.person_name for a in group]),
                boxes=np.array([(b.cx, b.cy, b.side) for b, *_ in results]),
                rotations=np.array([r for _, r, *_ in results]),
                maps=np.stack([m for _, _, m, _, _ in results]),
                joints=np.stack([j for *_, j, _ in results]),
                confidence=np.stack([c for *_, c in results]),
            ).save(part)
        bar.update(len(group))
    bar.close()
    parts = [TeacherTargets.load(parts_dir / f"{n:05d}.npz") for n in range(len(chunks))]
    TeacherTargets.concatenate(parts).save(target)
    for n in range(len(chunks)):
        (parts_dir / f"{n:05d}.npz").unlink()
    parts_dir.rmdir()
    return target
