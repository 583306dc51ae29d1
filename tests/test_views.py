"""Which way a labelled person faces, and training that shows people from behind more often."""

from __future__ import annotations

import numpy as np
import pytest
from labelled_copies import LSP, requires_lsp

from app.cli import main
from app.pose.views import facing
from app.train.data import Augmentation, LspTrainingSet
from app.train.datasets import split_dataset


def person(left_shoulder_x: float, neck_y: float = 30) -> np.ndarray:
    """LSP14 joints: shoulders at y 30, hips at y 70, the left shoulder at ``left_shoulder_x``
    and the right one at x 50."""
    joints = np.zeros((14, 2), np.float32)
    joints[8] = (50, 30)  # right shoulder
    joints[9] = (left_shoulder_x, 30)
    joints[2], joints[3] = (52, 70), (70, 70)  # right hip, left hip
    joints[12] = (60, neck_y)
    return joints


@pytest.mark.parametrize(("left_x", "neck_y", "expected"), [
    (80, 30, "front"),  # the person's left on the picture's right
    (20, 30, "behind"),
    (55, 30, "side"),
    (80, 90, "not upright"),
])
def test_facing_reads_person_centric_labels(left_x, neck_y, expected):
    assert facing(person(left_x, neck_y), np.ones(14, bool)) == expected


def test_facing_is_unknown_without_the_shoulders_hips_and_neck():
    labelled = np.ones(14, bool)
    labelled[9] = False
    assert facing(person(20), labelled) == "unknown"


@requires_lsp
def test_the_lsp_labels_hold_people_from_behind():
    from app.engine.labelled_data import load_annotations

    views = [facing(a.joints, a.visible) for a in load_annotations(LSP)]
    assert 150 < views.count("behind") < views.count("front")


def test_people_from_behind_come_round_more_often(lspet_subset):
    split = split_dataset(lspet_subset, held_out=8)
    once = LspTrainingSet.mixed([split], 64, 2.0, Augmentation())
    twice = LspTrainingSet.mixed([split], 64, 2.0, Augmentation(behind_repeats=3))
    behind = {i for i, a in enumerate(once.annotations) if facing(a.joints, a.visible) == "behind"}
    assert behind, "the subset should hold someone seen from behind"
    counts = np.bincount(twice.epoch, minlength=len(once))
    assert all(counts[i] == (3 if i in behind else 1) for i in range(len(once)))
    assert len(once.epoch) == len(once)


def test_a_count_in_augment_must_be_whole(tmp_path, capsys):
    assert main(["train", "--run", str(tmp_path / "run"), "--augment",
                 "behind_repeats=1.5"]) == 2
    assert "behind_repeats is a whole number" in capsys.readouterr().err
