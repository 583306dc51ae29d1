"""The labelled-data inspector's engine (app/engine/inspection.py) and ``eval``'s outputs built
on it, on LSP people copied at run time from ../shared/datasets/lsp, scored by a small random
network (its figures are poor, but they are figures: what matters is that they agree)."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from labelled_copies import PEOPLE, UNLABELLED, eval_args, requires_lsp, write_lsp_copy

from app.cli import main
from app.engine.image_files import read_image
from app.engine.inspection import (
    BATCH,
    draw_truth_and_prediction,
    drawing_name,
    inspect,
    person_heatmaps,
    person_names,
    write_table_csv,
)
from app.engine.labelled_data import Annotation, load_annotations
from app.engine.pipeline import PosePipeline
from app.engine.scoring import measurable, predict_annotations, predict_live, score
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.skeleton import LSP14

pytestmark = requires_lsp


@pytest.fixture(scope="module")
def lsp_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lsp_copy(tmp_path_factory.mktemp("lsp"))


@pytest.fixture(scope="module")
def pipeline(tiny_checkpoint) -> PosePipeline:
    return PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu", "fp32"))


@pytest.fixture(scope="module")
def report(pipeline, lsp_copy):
    return inspect(pipeline, load_annotations(lsp_copy))


def test_the_reports_figures_are_evals_and_the_people_add_up_to_them(
        report, pipeline, lsp_copy, tiny_checkpoint, tmp_path):
    annotations = load_annotations(lsp_copy)
    images = [read_image(a.image_path) for a in annotations]
    before = score(predict_annotations(pipeline.predictor, annotations, images), LSP14)
    assert report.evaluation == before  # the scoring eval had before it ran through inspect
    scores = tmp_path / "scores.json"
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--json", str(scores))) == 0
    written = json.loads(scores.read_text())
    assert {k: written[k] for k in report.evaluation.to_dict()} == report.evaluation.to_dict()
    assert written["images"] == len(report.people) == PEOPLE and not written["skipped"]

    hits = sum(int(p.hits.sum()) for p in report.people)
    counted = sum(int(p.counted.sum()) for p in report.people)
    assert 100 * hits / counted == pytest.approx(report.evaluation.mean)
    mirrored = 100 * np.mean([p.mirrored for p in report.people])
    assert mirrored == pytest.approx(report.evaluation.mirrored_people)
    assert [p.row for p in report.people] == list(range(PEOPLE))
    assert [p.name for p in report.people[:2]] == ["im00001.jpg", "im00002.jpg"]
    for person in report.people:
        assert person.keypoints.shape == (2, 14, 2) and person.confidences.shape == (2, 14)
        assert len(person.per_stack_pck) == 2 and person.per_stack_pck[-1] == person.pck
        assert person.counted.sum() == (13 if person.row in UNLABELLED else 14)


def test_worst_is_lowest_pck_first_then_least_confident(report):
    people = report.people[:4]
    confidences = np.full((2, 14), 0.9)
    graded = [replace(people[0], pck=50.0, confidences=confidences),
              replace(people[1], pck=20.0, confidences=confidences),
              replace(people[2], pck=20.0, confidences=confidences * 0.5),
              replace(people[3], pck=80.0, confidences=confidences)]
    ranked = replace(report, people=graded).worst(3)
    assert [p.row for p in ranked] == [people[2].row, people[1].row, people[0].row]
    worst = report.worst(len(report.people))
    assert [(p.pck, p.min_confidence) for p in worst] == sorted(
        (p.pck, p.min_confidence) for p in report.people)


def test_the_people_missing_a_joint_are_those_whose_joint_counted_and_missed(report):
    wrist = LSP14.index("left wrist")
    missed = report.with_missed("left wrist")
    assert [p.row for p in missed] == [p.row for p in report.people
                                       if p.counted[wrist] and not p.hits[wrist]]
    assert all("left wrist" in p.missed for p in missed)


def test_people_sharing_a_photo_are_numbered_in_the_table_and_the_drawings(report):
    photo, alone = Path("coco/000000123.jpg"), Path("coco/000000124.jpg")
    labelled = [Annotation(path, np.zeros((14, 2)), np.ones(14, bool), index)
                for index, path in enumerate((photo, alone, photo))]
    assert person_names(labelled) == ["000000123.jpg #1", "000000124.jpg", "000000123.jpg #2"]
    second = replace(report.people[0], name="000000123.jpg #2")
    assert drawing_name(7, second) == "007-000000123-2.png"


def test_the_csv_has_a_row_per_person_worst_first_and_a_column_per_joint(report, tmp_path):
    path = tmp_path / "people.csv"
    write_table_csv(report, path)
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["image", "pck", "missed", "mirrored", "min_confidence",
                       *LSP14.joint_names]
    worst = report.worst(PEOPLE)
    assert [row[0] for row in rows[1:]] == [p.name for p in worst]
    head_top = 5 + LSP14.index("head top")
    for row, person in zip(rows[1:], worst, strict=True):
        assert float(row[1]) == pytest.approx(person.pck, abs=0.005)
        assert row[2].split(";") == list(person.missed) or (row[2] == "" and not person.missed)
        assert row[3] == str(int(person.mirrored))
        assert row[5:] == ["" if not c else str(int(h))
                           for h, c in zip(person.hits, person.counted, strict=True)]
        assert (row[head_top] == "") == (person.row in UNLABELLED)


def test_eval_draws_the_worst_people_on_their_photos_and_lists_them(
        report, lsp_copy, tiny_checkpoint, tmp_path, capsys):
    folder = tmp_path / "drawings" / "worst"  # made, parents too
    table = tmp_path / "people.csv"
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--worst", "3", "--draw", str(folder),
                          "--csv", str(table))) == 0
    worst = report.worst(3)
    expected = [f"{rank:03d}-{Path(p.name).stem}.png" for rank, p in enumerate(worst, 1)]
    assert sorted(path.name for path in folder.iterdir()) == expected
    for name, person in zip(expected, worst, strict=True):
        drawing, photo = read_image(folder / name), read_image(person.annotation.image_path)
        assert drawing.shape == photo.shape and not np.array_equal(drawing, photo)
    out = capsys.readouterr().out
    assert "3 people scored worst" in out and worst[0].name in out
    assert len(table.read_text().splitlines()) == PEOPLE + 1


def test_a_drawing_never_lands_on_an_input(report, lsp_copy, tiny_checkpoint, tmp_path,
                                           capsys):
    folder = tmp_path / "drawings"
    folder.mkdir()
    photo = report.worst(1)[0].annotation.image_path
    (folder / f"001-{photo.stem}.png").symlink_to(photo)
    before = photo.read_bytes()
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--worst", "1", "--draw",
                          str(folder))) == 2
    assert "input" in capsys.readouterr().err and photo.read_bytes() == before


def test_the_drawing_is_a_copy_with_truth_and_prediction_on_it(report):
    person = report.worst(1)[0]
    photo = read_image(person.annotation.image_path)
    kept = photo.copy()
    drawn = draw_truth_and_prediction(photo, person, LSP14)
    assert np.array_equal(photo, kept) and drawn.shape == photo.shape
    for point in (person.annotation.joints[0], person.keypoints[-1, 0]):
        x, y = np.round(point).astype(int)
        if 0 <= x < photo.shape[1] and 0 <= y < photo.shape[0]:
            assert not np.array_equal(drawn[y, x], photo[y, x])


def test_a_persons_heatmaps_are_those_their_joints_were_decoded_from(report, pipeline):
    person = report.people[5]
    maps = person_heatmaps(pipeline, person, read_image(person.annotation.image_path))
    assert maps.shape == (2, 14, 16, 16)  # the tiny network: 64-pixel input, 16-pixel maps
    points, confidences = pipeline.spec.codec.decode(maps)
    np.testing.assert_allclose(pipeline.spec.codec.to_frame(points, person.box),
                               person.keypoints, atol=1e-3)
    np.testing.assert_allclose(confidences, person.confidences, atol=1e-4)


def test_cancel_stops_within_one_batch(pipeline, lsp_copy):
    heard: list[tuple[int, int]] = []
    result = inspect(pipeline, load_annotations(lsp_copy), progress=lambda *p: heard.append(p),
                     cancelled=lambda: len(heard) > 1)  # asked once the first batch is done
    assert result is None
    assert heard == [(0, PEOPLE), (BATCH, PEOPLE)]


def test_a_photo_that_cannot_be_read_is_skipped_and_the_rest_scored(
        pipeline, tiny_checkpoint, tmp_path, capsys):
    dataset = write_lsp_copy(tmp_path / "lsp", 12)
    broken = dataset / "images" / "im00005.jpg"
    broken.write_bytes(broken.read_bytes()[:2000])  # a download cut short
    found = inspect(pipeline, load_annotations(dataset))
    assert [(s.name, "truncated" in s.reason) for s in found.skipped] == [("im00005.jpg", True)]
    assert len(found.people) == found.evaluation.images == 11
    assert "im00005.jpg" not in [p.name for p in found.people]

    scores = tmp_path / "scores.json"
    assert main(eval_args(dataset, tiny_checkpoint, "--json", str(scores))) == 0
    err = capsys.readouterr().err
    assert "skipped im00005.jpg" in err and "1 of 12 people skipped" in err
    assert json.loads(scores.read_text())["images"] == 11


def test_box_free_runs_the_apps_own_pipeline(pipeline, lsp_copy, tiny_checkpoint, tmp_path):
    annotations = load_annotations(lsp_copy)[:3]
    found = inspect(pipeline, annotations, box_free=True)
    images = [read_image(a.image_path) for a in annotations]
    live, _ = predict_live(pipeline, annotations, images)
    assert found.box_free and len(found.people) == len(measurable(annotations, images, LSP14))
    for index, person in enumerate(found.people):  # predict_live scores the last frame's
        np.testing.assert_array_equal(person.keypoints[-1], live.joints[-1, index])
    assert found.evaluation.mean == score(live, LSP14).mean

    scores = tmp_path / "scores.json"
    assert main(eval_args(lsp_copy, tiny_checkpoint, "--box-free",
                          "--json", str(scores))) == 0
    assert json.loads(scores.read_text())["box_free"] is True
