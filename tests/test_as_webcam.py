"""``eval --as-webcam``: every labelled photo scored as a webcam would show it, each photo's
effects drawn from the seed and its name alone, so a person scores the same in any set, in
any order; and the drawings show the photo that was scored.  LSP people copied at run time
from ../shared/datasets/lsp, scored by a small random network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from labelled_copies import eval_args, requires_lsp, write_lsp_copy

from app.cli import main
from app.cli.pose_commands import WEBCAM_SEED, webcam_view
from app.engine.image_files import read_image
from app.engine.inspection import InspectionReport, draw_truth_and_prediction, inspect
from app.engine.labelled_data import load_annotations
from app.engine.pipeline import PosePipeline
from app.engine.scoring import predict_live
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.skeleton import LSP14
from app.train.camera_effects import photo_as_webcam

PEOPLE = 12

pytestmark = requires_lsp


@pytest.fixture(scope="module")
def lsp_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lsp_copy(tmp_path_factory.mktemp("lsp"), PEOPLE)


@pytest.fixture(scope="module")
def pipeline(tiny_checkpoint) -> PosePipeline:
    return PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu", "fp32"))


@pytest.fixture(scope="module")
def as_webcam(pipeline, lsp_copy) -> InspectionReport:
    return inspect(pipeline, load_annotations(lsp_copy), prepare=webcam_view(WEBCAM_SEED))


def test_a_photos_effects_come_from_the_seed_and_its_name_alone(lsp_copy):
    photo = read_image(lsp_copy / "images" / "im00001.jpg")
    once = photo_as_webcam(photo, "im00001", 5)
    assert np.array_equal(once, photo_as_webcam(photo, "im00001", 5))
    assert not np.array_equal(once, photo_as_webcam(photo, "im00002", 5))
    assert not np.array_equal(once, photo_as_webcam(photo, "im00001", 6))


def test_the_same_seed_scores_alike_twice_and_in_any_set(as_webcam, pipeline, lsp_copy):
    annotations = load_annotations(lsp_copy)
    again = inspect(pipeline, annotations, prepare=webcam_view(WEBCAM_SEED))
    assert again.evaluation == as_webcam.evaluation
    some = inspect(pipeline, annotations[9:1:-3], prepare=webcam_view(WEBCAM_SEED))
    whole = {person.name: person for person in as_webcam.people}
    assert len(some.people) == 3
    for person in some.people:
        assert np.array_equal(some.photo(person), as_webcam.photo(whole[person.name]))
        np.testing.assert_allclose(person.keypoints, whole[person.name].keypoints, atol=1e-3)


def test_another_seed_shows_other_photos(as_webcam, pipeline, lsp_copy):
    other = inspect(pipeline, load_annotations(lsp_copy), prepare=webcam_view(7))
    plain = inspect(pipeline, load_annotations(lsp_copy))
    for report in (other, plain):
        assert not any(np.array_equal(report.photo(p), as_webcam.photo(q))
                       for p, q in zip(report.people, as_webcam.people, strict=True))
        assert not np.array_equal(np.stack([p.keypoints for p in report.people]),
                                  np.stack([p.keypoints for p in as_webcam.people]))


def test_box_free_shows_the_pipeline_the_prepared_photo(pipeline, lsp_copy):
    annotations, prepare = load_annotations(lsp_copy)[:2], webcam_view(WEBCAM_SEED)
    found = inspect(pipeline, annotations, box_free=True, prepare=prepare)
    live, _ = predict_live(pipeline, annotations,
                           [prepare(read_image(a.image_path), a) for a in annotations])
    for index, person in enumerate(found.people):
        np.testing.assert_array_equal(person.keypoints[-1], live.joints[-1, index])


def test_eval_as_webcam_says_so_and_draws_the_photos_it_scored(
        as_webcam, lsp_copy, tiny_checkpoint, tmp_path, capsys):
    folder, scores = tmp_path / "worst", tmp_path / "scores.json"
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--as-webcam", "--worst", "2",
                          "--draw", str(folder), "--json", str(scores))) == 0
    assert "as a webcam would show them" in capsys.readouterr().out
    written = json.loads(scores.read_text())
    assert written["as_webcam"] == WEBCAM_SEED
    assert written["mean"] == round(as_webcam.evaluation.mean, 2)
    for drawing, person in zip(sorted(folder.iterdir()), as_webcam.worst(2), strict=True):
        expected = draw_truth_and_prediction(as_webcam.photo(person), person, LSP14)
        assert np.array_equal(read_image(drawing), expected)

    assert main(eval_args(lsp_copy, tiny_checkpoint, "--as-webcam", "7",
                          "--json", str(scores))) == 0
    assert json.loads(scores.read_text())["as_webcam"] == 7
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--json", str(scores))) == 0
    assert json.loads(scores.read_text())["as_webcam"] is None
