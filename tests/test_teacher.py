"""The teacher's cached view and the three levers training takes from it.

The levers are tested on hand-made people whose right answer is known; the teacher itself
(EfficientPose through ai-edge-litert, the optional ``teacher`` extra) only where it is
installed and ../shared/teachers holds it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from app.engine.labelled_data import Annotation, ground_truth_box, load_annotations
from app.pose.affine import CropBox, apply_affine, crop_matrix
from app.pose.heatmaps import gaussian_heatmaps
from app.train.data import SoftTarget, make_sample
from app.train.datasets import DatasetSplit, dataset_name
from app.train.guidance import (
    GuidanceRules,
    exchanged,
    fill_unlabelled,
    repair_swap,
    teach_splits,
)
from app.train.pack import pack_dataset
from app.train.teacher import TeacherError, TeacherTargets, cache_path, upright_rotation

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
TEACHER = SHARED / "teachers" / "efficientpose" / "EfficientPoseII.tflite"

# A person facing the camera: their right side on the image's left.
STANDING = np.array([
    (85, 260), (86, 210), (88, 160), (112, 160), (114, 210), (115, 260),  # legs, right first
    (65, 160), (70, 130), (80, 100), (120, 100), (130, 130), (135, 160),  # arms, right first
    (100, 95), (100, 60),  # neck, head top
], dtype=np.float64)


def person(joints: np.ndarray = STANDING, visible: np.ndarray | None = None,
           name: str = "im00001") -> Annotation:
    visible = np.ones(14, bool) if visible is None else visible
    return Annotation(Path(f"/nowhere/{name}.jpg"), joints.copy(), visible.copy(), 0)


def upside_down(joints: np.ndarray) -> np.ndarray:
    return np.stack([joints[:, 0], 320 - joints[:, 1]], axis=1)


def test_upright_people_are_left_alone_and_others_turned_upright():
    assert upright_rotation(person()) == 0.0
    turn = upright_rotation(person(upside_down(STANDING)))
    assert abs(abs(turn) - 180) < 1e-6
    lying = STANDING[:, ::-1].copy()  # head to the left, feet to the right
    turned = upright_rotation(person(lying))
    shoulders, hips = lying[[8, 9]].mean(axis=0), lying[[2, 3]].mean(axis=0)
    down = apply_affine(crop_matrix(CropBox(0, 0, 1), 1, turned), np.stack([shoulders, hips]))
    dx, dy = down[1] - down[0]
    assert abs(abs(turned) - 90) < 20 and dy > 0 and abs(dx) < 1e-6 * abs(dy)  # hips below
    hidden_hip = np.ones(14, bool)
    hidden_hip[2] = False
    assert upright_rotation(person(upside_down(STANDING), hidden_hip)) == 0.0


def test_labels_the_teacher_sees_exchanged_are_exchanged():
    confident = np.full(14, 0.9)
    labelled_as_seen = exchanged(person())  # the crowd named the sides as the viewer sees them
    repaired = repair_swap(labelled_as_seen, STANDING, confident, GuidanceRules())
    assert repaired is not None
    np.testing.assert_array_equal(repaired.joints, STANDING)
    assert repair_swap(person(), STANDING, confident, GuidanceRules()) is None  # agree already


def test_an_unsure_teacher_or_an_upside_down_person_changes_nothing():
    rules = GuidanceRules()
    assert repair_swap(exchanged(person()), STANDING, np.full(14, 0.2), rules) is None
    inverted = upside_down(STANDING)
    assert repair_swap(exchanged(person(inverted)), inverted, np.full(14, 0.9), rules) is None


def test_unlabelled_joints_the_teacher_is_sure_of_are_labelled_with_its_joints():
    visible = np.ones(14, bool)
    visible[[0, 6]] = False  # right ankle and right wrist unlabelled
    teacher = STANDING + 3.0
    confidence = np.full(14, 0.9)
    confidence[6] = 0.3  # unsure of the wrist
    filled, gained = fill_unlabelled(person(visible=visible), teacher, confidence,
                                     GuidanceRules())
    assert gained == 1 and filled.visible[0] and not filled.visible[6]
    np.testing.assert_array_equal(filled.joints[0], teacher[0])
    np.testing.assert_array_equal(filled.joints[1:], STANDING[1:])  # labels kept


def test_the_teachers_maps_follow_each_augmented_view():
    annotation = person()
    teacher_box = CropBox(100, 160, 260)
    # Teacher maps drawn at the labels, in the teacher's own crop (48 px), turned by 30 degrees.
    in_teacher = apply_affine(crop_matrix(teacher_box, 48, 30.0), STANDING)
    maps = gaussian_heatmaps(in_teacher, 48, 1.5, np.ones(14, np.float32))
    soft = SoftTarget(np.round(maps * 255).astype(np.uint8), teacher_box, 30.0)
    view, rotation = CropBox(105, 150, 240), -20.0
    warped = soft.warped(view, 32, rotation)
    expected = apply_affine(crop_matrix(view, 32, rotation), STANDING)
    peaks = np.array([np.unravel_index(m.argmax(), m.shape)[::-1] for m in warped])
    assert np.abs(peaks - expected).max() <= 1.0
    image = np.zeros((320, 240, 3), np.uint8)
    blended = make_sample(image, annotation, view, 128, 2.0, rotation, flip=True, soft=soft,
                          soft_share=0.5)
    plain = make_sample(image, annotation, view, 128, 2.0, rotation, flip=True)
    flipped_peaks = np.array([np.unravel_index(m.argmax(), m.shape)[::-1]
                              for m in blended.target])
    plain_peaks = np.array([np.unravel_index(m.argmax(), m.shape)[::-1] for m in plain.target])
    assert np.abs(flipped_peaks - plain_peaks).max() <= 1  # same joints, same sides
    assert not np.allclose(blended.target, plain.target)


def write_targets(folder: Path, name: str, people: list[Annotation], joints: np.ndarray
                  ) -> None:
    count = len(people)
    TeacherTargets(
        names=np.array([a.image_path.stem for a in people]),
        boxes=np.tile([100.0, 160.0, 260.0], (count, 1)), rotations=np.zeros(count),
        maps=np.zeros((count, 14, 8, 8), np.uint8), joints=np.stack([joints] * count),
        confidence=np.full((count, 14), 0.9, np.float32),
    ).save(cache_path(folder, name, "EfficientPoseII"))


def test_only_the_crowd_labelled_training_people_are_repaired(tmp_path):
    crowd = [exchanged(person(name=f"im{n:05d}")) for n in range(1, 4)]
    expert = [exchanged(person(name=f"im{n:05d}")) for n in range(1, 3)]
    splits = [DatasetSplit("lspet", crowd, crowd[:1]), DatasetSplit("lsp", expert, expert[:1])]
    write_targets(tmp_path, "lspet", crowd, STANDING)
    write_targets(tmp_path, "lsp", expert, STANDING)
    taught, counts = teach_splits(splits, str(tmp_path), "EfficientPoseII", ["lspet"],
                                  swap=True, fill=False, distil=True)
    assert counts == {"lspet": {"people": 3, "taught": 3, "swapped": 3, "filled_joints": 0}}
    assert all(np.array_equal(a.joints, STANDING) for a in taught[0].train)
    assert taught[1].train == expert and taught[0].validation == crowd[:1]  # never the judge's
    assert all(s is not None for split in taught for s in split.soft)
    with pytest.raises(TeacherError, match="hourglass-pose teach"):
        teach_splits(splits, str(tmp_path / "none"), "EfficientPoseII", [], False, False, True)


@pytest.mark.skipif(not TEACHER.is_file(), reason="needs ../shared/teachers/efficientpose")
def test_the_teacher_sees_lsp_people_where_their_labels_are(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="the teacher extra is not installed")
    from app.train.teacher import compute_teacher_targets

    lsp = SHARED / "datasets" / "lsp"
    folder = tmp_path / "lsp"
    (folder / "images").mkdir(parents=True)
    savemat(folder / "joints.mat", {"joints": loadmat(str(lsp / "joints.mat"))["joints"][..., :4]})
    for number in range(1, 5):
        shutil.copyfile(lsp / "images" / f"im{number:05d}.jpg",
                        folder / "images" / f"im{number:05d}.jpg")
    path = compute_teacher_targets(folder, TEACHER, tmp_path / "cache", chunk=3)
    targets = TeacherTargets.load(path)
    assert path == cache_path(tmp_path / "cache", "lsp", TEACHER) and not any(
        (tmp_path / "cache").glob("*.parts"))
    people = load_annotations(folder)
    assert list(targets.names) == [a.image_path.stem for a in people]
    assert targets.maps.shape == (4, 14, 48, 48) and targets.maps.dtype == np.uint8
    for annotation, joints in zip(people, targets.joints, strict=True):
        extent = np.ptp(annotation.joints, axis=0).max()
        close = np.hypot(*(joints - annotation.joints).T) < 0.1 * extent
        assert close.sum() >= 10, annotation.image_path.name  # the teacher's PCK here is ~85%


def test_a_packed_copy_carries_the_teacher_targets_in_its_own_pixels(lspet_subset, tmp_path):
    people = [a for a in load_annotations(lspet_subset) if ground_truth_box(a) is not None]
    boxes = [ground_truth_box(a) for a in people]
    TeacherTargets(
        names=np.array([a.image_path.stem for a in people]),
        boxes=np.array([(b.cx, b.cy, b.side) for b in boxes]), rotations=np.zeros(len(people)),
        maps=np.zeros((len(people), 14, 8, 8), np.uint8),
        joints=np.stack([a.joints for a in people]),  # a teacher that agrees with the labels
        confidence=np.ones((len(people), 14), np.float32),
    ).save(cache_path(tmp_path / "teacher", dataset_name(lspet_subset), "EfficientPoseII"))
    pack_dataset(lspet_subset, tmp_path / "copy", box_pixels=64,
                 teacher=(tmp_path / "teacher", tmp_path / "moved", "EfficientPoseII"))
    moved = TeacherTargets.load(cache_path(tmp_path / "moved", dataset_name(lspet_subset),
                                           "EfficientPoseII"))
    packed = {a.image_path.stem: a for a in load_annotations(tmp_path / "copy")}
    assert list(moved.names) == [a.image_path.stem for a in people]
    assert moved.maps.shape == (len(people), 14, 32, 32)  # shrunk to travel
    for name, joints, box in zip(moved.names, moved.joints, moved.boxes, strict=True):
        copy = packed[str(name)]
        np.testing.assert_allclose(joints, copy.joints, atol=1e-6)
        expected = ground_truth_box(copy)
        np.testing.assert_allclose(box, (expected.cx, expected.cy, expected.side), atol=1e-6)
