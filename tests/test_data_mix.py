"""Training on several datasets: each one's validation slice, the mix, and synthetic occluders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.engine.labelled_data import load_annotations
from app.train.data import (
    Augmentation,
    FrameEdge,
    LspTrainingSet,
    black_beyond,
    ground_truth_box,
    make_sample,
    paste_occluders,
)
from app.train.datasets import DatasetSplit, held_out_count, split_dataset
from app.train.trainer import StepBatches

LSP = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "lsp"


def test_each_dataset_holds_out_its_own_slice_by_name(tmp_path):
    assert held_out_count("../shared/datasets/lsp") == 200
    assert held_out_count("../shared/datasets/lspet/") == 500
    assert held_out_count(tmp_path / "mine") == 500


@pytest.mark.skipif(not LSP.is_dir(), reason="needs ../shared/datasets/lsp")
def test_lsp_holds_out_a_fixed_slice_of_200_and_scores_every_joint():
    split = split_dataset(LSP)
    again = split_dataset(LSP)
    assert split.name == "lsp" and len(split.validation) == 200 and len(split.train) == 800
    assert [a.image_path for a in split.validation] == [a.image_path for a in again.validation]
    assert not {a.image_path for a in split.train} & {a.image_path for a in split.validation}
    assert all(a.visible.all() for a in split.validation)


@pytest.mark.skipif(not LSP.is_dir(), reason="needs ../shared/datasets/lsp")
def test_eval_scores_the_lsp_validation_slice(tmp_path, tiny_checkpoint):
    scores = tmp_path / "scores.json"
    assert main(["eval", "--dataset", str(LSP), "--split", "validation",
                 "--checkpoint", str(tiny_checkpoint), "--json", str(scores)]) == 0
    result = json.loads(scores.read_text())
    assert result["images"] == 200  # LSP labels every torso
    facings = result["by_facing"]  # which way each person faces, from the labels
    assert sum(row["people"] for row in facings.values()) == 200
    assert facings["front"]["people"] > facings["behind"]["people"] > 20


def test_the_mix_repeats_each_datasets_people_in_an_epoch(lspet_subset):
    people = load_annotations(lspet_subset)
    first, second = people[:30], people[30:]
    splits = [DatasetSplit("a", first, [], repeats=1), DatasetSplit("b", second, [], repeats=3)]
    train_set = LspTrainingSet.mixed(splits, 64, 2.0)
    counts = np.bincount(train_set.epoch, minlength=len(train_set))
    names = [a.image_path for a in train_set.annotations]
    for index, count in enumerate(counts):
        assert count == (1 if names[index] in {a.image_path for a in first} else 3)
    batches = StepBatches(train_set, 4, seed=0)
    assert batches.steps_per_epoch == len(train_set.epoch) // 4
    drawn = np.concatenate([batches.indices(step) for step in range(batches.steps_per_epoch)])
    assert np.bincount(drawn, minlength=len(train_set)).max() == 3


def test_occluders_cover_parts_of_the_crop_with_other_photos_and_keep_the_targets(
        lspet_subset):
    people = load_annotations(lspet_subset)
    image = np.full((300, 300, 3), 128, np.uint8)
    donor = np.zeros((300, 300, 3), np.uint8)
    donor[..., 2] = 255  # pure red: every pasted pixel shows where it came from
    augmentation = Augmentation(occluder_size=(0.2, 0.3), occluders_most=2)
    rng = np.random.default_rng(1)
    crop = make_sample(image, people[0], ground_truth_box(people[0]), 64, 2.0).image
    covered = paste_occluders(crop, [donor], augmentation, rng)
    red = (covered == (0, 0, 255)).all(axis=2)
    assert 0.04 * 64 * 64 <= red.sum() <= 2 * (0.3 * 64) ** 2 + 1
    assert (covered[~red] == crop[~red]).all()
    assert crop.max() > 0 and not (crop == (0, 0, 255)).all(axis=2).any()  # input untouched


def test_occluders_never_show_past_the_frame_edge():
    crop = np.full((64, 64, 3), 200, np.uint8)
    edge = FrameEdge("bottom", 0.5)
    cut = black_beyond(crop, edge)
    assert (cut[32:] == 0).all() and (cut[:32] == 200).all()


def test_training_samples_draw_occluders_only_when_asked(lspet_subset):
    people = load_annotations(lspet_subset)
    plain = LspTrainingSet(people, 64, 2.0, Augmentation())
    occluded = LspTrainingSet(people, 64, 2.0, Augmentation(occluder_probability=1.0),
                              images=plain.images)
    for index in range(5):
        a = plain.sample(index, np.random.default_rng(index))
        b = occluded.sample(index, np.random.default_rng(index))
        np.testing.assert_array_equal(a.target, b.target)  # the same view, the same targets
        assert (a.image != b.image).any()
