"""What training takes from the teacher's cached view (``app.train.teacher``) of each person.

Three levers, each switched on in the run's config and measured against a run without it:

1. **Swap repair**: LSPet's crowd labels sometimes name the sides as the viewer sees them.
   Where the teacher is confident, the person upright, and the labels agree with the teacher
   only once their left and right are exchanged, the labels are exchanged.  Never for LSP,
   whose expert labels are right.
2. **Filling unlabelled joints**: LSPet leaves occluded joints unlabelled; where the teacher
   is confident on an upright person, its joint becomes the label.
3. **Distillation**: the teacher's maps, warped with each augmented view, blended into the
   labelled joints' targets (:class:`app.train.data.SoftTarget`).

"Upright" is judged from the labels (``teacher.upright_rotation``): MPII rarely shows people
upside down, and the teacher is often wrong on them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.engine.labelled_data import Annotation
from app.pose.affine import CropBox
from app.pose.metrics import torso_diameters
from app.pose.skeleton import LSP14
from app.train.data import SoftTarget
from app.train.datasets import DatasetSplit
from app.train.teacher import TeacherError, TeacherTargets, cache_path, upright_rotation

IS_LIMB = np.arange(LSP14.num_joints) < 12  # LSP14's joints but neck and head top


@dataclass(frozen=True)
class GuidanceRules:
    """When the teacher is trusted; the thresholds are on its (flip-averaged) peak heights."""

    swap_confidence: float = 0.5  # mean over the person's labelled limb joints
    swap_margin: int = 2  # joints the exchanged labels must agree on beyond the labels as given
    fill_confidence: float = 0.6  # a single unlabelled joint's
    agreement: float = 0.2  # PCK threshold (of the torso) for "the teacher agrees"


@dataclass
class GuidanceCounts:
    """What the teacher changed in one dataset's training labels."""

    people: int = 0
    taught: int = 0  # people the teacher saw
    swapped: int = 0
    filled_joints: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def agreement(teacher: np.ndarray, joints: np.ndarray, labelled: np.ndarray, torso: float,
              threshold: float) -> int:
    """How many labelled limb joints lie within ``threshold`` torso of the teacher's."""
    close = np.hypot(*(teacher - joints).T) <= threshold * torso
    return int((close & labelled & IS_LIMB).sum())


def exchanged(annotation: Annotation) -> Annotation:
    """The same person with left and right labels exchanged."""
    permutation = LSP14.flip_permutation()
    return replace(annotation, joints=annotation.joints[permutation].copy(),
                   visible=annotation.visible[permutation].copy())


def person_torso(annotation: Annotation) -> float:
    left_shoulder, right_hip = LSP14.index("left shoulder"), LSP14.index("right hip")
    if not annotation.visible[[left_shoulder, right_hip]].all():
        return float("nan")
    return float(torso_diameters(annotation.joints[None], left_shoulder, right_hip)[0])


def repair_swap(annotation: Annotation, teacher: np.ndarray, confidence: np.ndarray,
                rules: GuidanceRules) -> Annotation | None:
    """The labels with left and right exchanged when the teacher says so, else None."""
    torso = person_torso(annotation)
    limbs = annotation.visible & IS_LIMB
    if not np.isfinite(torso) or not limbs.any() or upright_rotation(annotation) != 0.0:
        return None
    if confidence[limbs].mean() < rules.swap_confidence:
        return None
    swapped = exchanged(annotation)
    as_given = agreement(teacher, annotation.joints, annotation.visible, torso, rules.agreement)
    as_swapped = agreement(teacher, swapped.joints, swapped.visible, torso, rules.agreement)
    return swapped if as_swapped >= as_given + rules.swap_margin else None


def fill_unlabelled(annotation: Annotation, teacher: np.ndarray, confidence: np.ndarray,
                    rules: GuidanceRules) -> tuple[Annotation, int]:
    """Unlabelled joints the teacher is confident of, labelled with its joints (upright people
    only); returns the annotation and how many joints it gained."""
    if upright_rotation(annotation) != 0.0 or not np.isfinite(person_torso(annotation)):
        return annotation, 0
    gained = ~annotation.visible & (confidence >= rules.fill_confidence)
    if not gained.any():
        return annotation, 0
    joints = annotation.joints.copy()
    joints[gained] = teacher[gained]
    return replace(annotation, joints=joints, visible=annotation.visible | gained), int(
        gained.sum())


def guide_labels(annotations: list[Annotation], targets: TeacherTargets, swap: bool, fill: bool,
                 rules: GuidanceRules) -> tuple[list[Annotation], GuidanceCounts]:
    """Levers 1 and 2 over one dataset's training people."""
    counts = GuidanceCounts(people=len(annotations))
    where = targets.index()
    guided = []
    for annotation in annotations:
        row = where.get(annotation.person_name)
        if row is not None:
            counts.taught += 1
            teacher, confidence = targets.joints[row], targets.confidence[row]
            if swap and (repaired := repair_swap(annotation, teacher, confidence, rules)):
                annotation = repaired
                counts.swapped += 1
            if fill:
                annotation, gained = fill_unlabelled(annotation, teacher, confidence, rules)
                counts.filled_joints += gained
        guided.append(annotation)
    return guided, counts


def soft_targets(annotations: list[Annotation], targets: TeacherTargets
                 ) -> list[SoftTarget | None]:
    """Lever 3: each person's teacher maps, where the teacher saw them."""
    where = targets.index()
    soft: list[SoftTarget | None] = []
    for annotation in annotations:
        row = where.get(annotation.person_name)
        if row is None:
            soft.append(None)
            continue
        cx, cy, side = targets.boxes[row]
        soft.append(SoftTarget(targets.maps[row], CropBox(float(cx), float(cy), float(side)),
                               float(targets.rotations[row])))
    return soft


def teach_splits(splits: list[DatasetSplit], cache_dir: str, model: str, repairs: list[str],
                 swap: bool, fill: bool, distil: bool, rules: GuidanceRules | None = None
                 ) -> tuple[list[DatasetSplit], dict[str, dict]]:
    """The splits with the teacher's levers applied to their training people: labels repaired
    and filled in the datasets named in ``repairs``, maps attached to all for ``distil``.
    Validation slices are never touched.  Returns the splits and what changed, per dataset."""
    rules = rules or GuidanceRules()
    taught, counts = [], {}
    for split in splits:
        path = cache_path(cache_dir, split.name, model)
        if not path.is_file():
            raise TeacherError(f"{path}: no teacher targets for {split.name}; make them with "
                               f"hourglass-pose teach --data <its folder> --out {cache_dir}")
        targets = TeacherTargets.load(path)
        train = split.train
        if split.name in repairs and (swap or fill):
            train, changed = guide_labels(train, targets, swap, fill, rules)
            counts[split.name] = changed.to_dict()
        soft = soft_targets(train, targets) if distil else None
        taught.append(replace(split, train=train, soft=soft))
    return taught, counts
