"""File ▸ Open labelled data: the inspector driven through the real main window, on LSP people
copied at run time from ../shared/datasets/lsp and the tiny test model.

Every wait is on a signal (qtbot.waitUntil / waitSignal), never a sleep: the scoring runs on
the inspector's own thread while these tests keep the GUI thread's event loop turning.
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from labelled_copies import LSP, requires_lsp
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox
from windows import WAIT_MS

import app.gui.inspector_worker as inspector_worker
from app.cli import main
from app.gui.compose import ALL_JOINTS
from app.gui.inspector_table import Column

pytest_plugins = ["window_fixtures"]

PEOPLE = 40  # more than a batch of 32, so scoring takes two batches


def lsp_subset(folder: Path, count: int) -> Path:
    """An LSP-layout folder of the first ``count`` LSP people."""
    from scipy.io import loadmat, savemat

    if not (LSP / "joints.mat").is_file():
        pytest.skip(f"LSP dataset not found at {LSP}")
    (folder / "images").mkdir(parents=True)
    savemat(folder / "joints.mat", {"joints": loadmat(str(LSP / "joints.mat"))["joints"]
                                    [:, :, :count]})
    for number in range(1, count + 1):
        name = f"im{number:05d}.jpg"
        shutil.copyfile(LSP / "images" / name, folder / "images" / name)
    return folder


@pytest.fixture(scope="session")
def lsp_people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lsp_subset(tmp_path_factory.mktemp("lsp") / "lsp40", PEOPLE)


@pytest.fixture
def inspector(window):
    return window.inspector


def scored(qtbot, inspector, data: Path):
    """Open ``data`` and wait for its report and its worst person to be on screen."""
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
        inspector.open_data(data)
    report = inspector.shown_report()
    assert report is not None
    return report


def table_people(inspector) -> list:
    return inspector.people.rows.shown()


def test_the_menu_opens_the_inspector_and_the_table_agrees_with_eval(
        qtbot, window, inspector, lsp_people, tiny_checkpoint, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(lsp_people / "joints.mat"), ""))
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
        window.controls.labelled_action.trigger()
    assert inspector.isVisible() and inspector.data == lsp_people.resolve()
    people = table_people(inspector)

    eval_json = tmp_path / "eval.json"
    assert main(["eval", "--dataset", str(lsp_people), "--checkpoint", str(tiny_checkpoint),
                 "--device", "cpu", "--json", str(eval_json)]) == 0
    evaluation = json.loads(eval_json.read_text())
    assert len(people) == evaluation["images"] == PEOPLE
    # LSP counts all 14 joints of everyone, so the set's PCK is the people's mean, and a
    # joint's PCK the share of people who did not miss it.
    assert np.mean([p.pck for p in people]) == pytest.approx(evaluation["mean"], abs=0.01)
    for joint, value in evaluation["per_joint"].items():
        missed = sum(joint in p.missed for p in people)
        assert 100 * (1 - missed / len(people)) == pytest.approx(value, abs=0.01), joint
    exchanged = 100 * np.mean([p.mirrored for p in people])
    assert exchanged == pytest.approx(evaluation["mirrored_people_percent"], abs=0.01)
    shown = [inspector.people.rows.index(row, Column.PCK).data() for row in range(len(people))]
    assert shown == [f"{p.pck:.1f}" for p in people]
    assert f"{evaluation['mean']:.1f} %" in inspector.summary.text()


def test_worst_first_sortable_and_filtered_by_joint(qtbot, inspector, lsp_people) -> None:
    report = scored(qtbot, inspector, lsp_people)
    people = table_people(inspector)
    assert people == report.worst(PEOPLE)
    assert [p.pck for p in people] == sorted(p.pck for p in people)

    inspector.table.sortByColumn(Column.IMAGE, Qt.SortOrder.AscendingOrder)
    names = [p.name for p in table_people(inspector)]
    assert names == sorted(names)
    inspector.table.sortByColumn(Column.CONFIDENCE, Qt.SortOrder.DescendingOrder)
    confidences = [p.min_confidence for p in table_people(inspector)]
    assert confidences == sorted(confidences, reverse=True)

    joint = max(report.joint_names, key=lambda name: len(report.with_missed(name)))
    missed = report.with_missed(joint)
    assert missed
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
        inspector.chart.joint_clicked.emit(joint)  # a click on the joint's bar
    assert inspector.people.joint_filter.currentData() == joint
    assert {id(p) for p in table_people(inspector)} == {id(p) for p in missed}
    assert inspector.person.refinement.followed() == joint  # the joint filtered for
    inspector.people.joint_filter.setCurrentIndex(0)
    inspector.people.joint_filter.activated.emit(0)
    assert len(table_people(inspector)) == PEOPLE


def test_a_person_shows_drawing_heatmaps_and_steps_with_the_arrow_keys(
        qtbot, inspector, lsp_people) -> None:
    report = scored(qtbot, inspector, lsp_people)
    worst = report.worst(1)[0]
    panel = inspector.person
    assert inspector.table.currentIndex().row() == 0
    assert panel.picture().person is worst
    assert panel.photo.pixmap() is not None
    assert panel.heatmaps.tile(ALL_JOINTS).pixmap() is not None
    assert panel.refinement.stack_count() == 2
    assert panel.refinement.followed() == worst.missed[0]  # the default view's answer
    assert worst.name in panel.title.text()

    other = next(name for name in report.joint_names if name != worst.missed[0])
    joint = report.joint_names.index(other)
    qtbot.mouseClick(panel.heatmaps.tile(joint), Qt.MouseButton.LeftButton)
    assert panel.refinement.followed() == other
    assert panel.refinement.tile(0).pixmap() is not None

    second = table_people(inspector)[1]
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS) as shown:
        qtbot.keyClick(inspector.table, Qt.Key.Key_Down)
    assert shown.args[0].person is second
    assert inspector.table.currentIndex().row() == 1
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS) as shown:
        qtbot.keyClick(inspector.table, Qt.Key.Key_Up)
    assert shown.args[0].person is worst


def test_cancel_mid_run_leaves_a_responsive_window_and_no_results(
        qtbot, inspector, lsp_people, monkeypatch) -> None:
    """The run is held after its first count until Cancel is heard, so Cancel lands mid-run
    however fast the machine is."""
    real = inspector_worker.inspect
    holding = threading.Event()

    def held(pipeline, annotations, *, progress, cancelled, **options):
        def progress_then_hold(done: int, total: int) -> None:
            progress(done, total)
            holding.set()
            deadline = time.monotonic() + WAIT_MS / 1000
            while not cancelled() and time.monotonic() < deadline:
                time.sleep(0.005)

        return real(pipeline, annotations, progress=progress_then_hold, cancelled=cancelled,
                    **options)

    monkeypatch.setattr(inspector_worker, "inspect", held)
    reports = []
    inspector.report_shown.connect(reports.append)
    inspector.open_data(lsp_people)
    qtbot.waitUntil(holding.is_set, timeout=WAIT_MS)
    ticked = []
    QTimer.singleShot(0, lambda: ticked.append(True))
    qtbot.waitUntil(lambda: bool(ticked), timeout=WAIT_MS)  # the GUI runs while it scores
    assert inspector.cancel_button.isVisible() and inspector.progress.isVisible()
    qtbot.mouseClick(inspector.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: reports == [None], timeout=WAIT_MS)
    assert inspector.people.rows.rowCount() == 0
    assert not inspector.cancel_button.isVisible()
    assert "Cancelled" in inspector.summary.text()
    assert inspector.shown_report() is None


def test_a_broken_image_is_skipped_and_the_rest_scored(qtbot, inspector, tmp_path) -> None:
    data = lsp_subset(tmp_path / "broken", 12)
    (data / "images" / "im00005.jpg").write_bytes(b"not a photo")
    report = scored(qtbot, inspector, data)
    assert [skip.name for skip in report.skipped] == ["im00005.jpg"]
    assert len(table_people(inspector)) == 11
    assert inspector.people.skipped.isVisible() and "im00005.jpg" in inspector.people.skipped.text()


def test_the_people_are_scored_by_the_stacks_and_flip_test_chosen(
        qtbot, inspector, lsp_people, tiny_checkpoint, tmp_path) -> None:
    scored(qtbot, inspector, lsp_people)
    assert inspector.stacks_box.maximum() == inspector.stacks_box.value() == 2
    assert "true box, 2 of 2 stacks" in inspector.summary.text()
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
        inspector.stacks_box.setValue(1)
    assert len(inspector.shown_report().evaluation.per_stack) == 1
    assert inspector.person.picture().heatmaps.shape[0] == 1  # the stack that scored them
    with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
        inspector.flip_box.setChecked(True)
    report = inspector.shown_report()
    assert report.flip and "1 of 2 stacks, flip test" in inspector.summary.text()

    eval_json = tmp_path / "eval.json"
    assert main(["eval", "--dataset", str(lsp_people), "--checkpoint", str(tiny_checkpoint),
                 "--device", "cpu", "--stacks", "1", "--flip", "--json", str(eval_json)]) == 0
    assert report.evaluation.mean == pytest.approx(json.loads(eval_json.read_text())["mean"],
                                                   abs=0.01)


def test_a_new_model_keeps_the_stacks_chosen_or_all_of_its_own_when_all_were(inspector):
    def with_stacks(count: int):
        spec = inspector.model.spec
        return replace(inspector.model, spec=replace(spec, config=replace(spec.config,
                                                                          stacks=count)))

    assert inspector.data is None  # nothing open, so nothing is scored here
    assert inspector.stacks_box.value() == 2
    inspector.set_model(with_stacks(4))
    assert (inspector.stacks_box.value(), inspector.stacks_box.maximum()) == (4, 4)
    inspector.stacks_box.setValue(3)
    assert inspector.scoring().stacks == 3
    inspector.set_model(with_stacks(8))
    assert (inspector.stacks_box.value(), inspector.stacks_box.maximum()) == (3, 8)
    inspector.set_model(with_stacks(2))
    assert inspector.stacks_box.value() == 2 and inspector.scoring().stacks is None


def test_results_are_kept_and_shown_at_once(qtbot, inspector, lsp_people, tmp_path) -> None:
    first = scored(qtbot, inspector, lsp_people)
    scored(qtbot, inspector, lsp_subset(tmp_path / "other", 6))
    shown = []
    inspector.report_shown.connect(shown.append)
    inspector.open_data(lsp_people)
    assert shown == [first]  # no waiting: nothing was sent to the worker


def test_export_writes_the_rows_shown_and_never_the_input(qtbot, inspector, lsp_people,
                                                          tmp_path) -> None:
    report = scored(qtbot, inspector, lsp_people)
    target = inspector.export_csv(tmp_path / "people.csv")
    with open(target, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["image"] for row in rows] == [p.name for p in report.worst(PEOPLE)]

    inspector.people.filter_joint(report.joint_names[0])
    mat = tmp_path / "joints.mat"
    shutil.copyfile(lsp_people / "joints.mat", mat)
    written = inspector.export_csv(mat)  # named like an input: written beside it as .csv
    assert written == tmp_path / "joints.csv"
    assert mat.read_bytes() == (lsp_people / "joints.mat").read_bytes()
    with open(written, newline="", encoding="utf-8") as file:
        assert len(list(csv.DictReader(file))) == len(table_people(inspector))


def coco_file(folder: Path, count: int) -> Path:
    """The first ``count`` LSP people as a COCO person-keypoints file, each in their own
    photo, and the next one twice side by side on a canvas (two people in one photo)."""
    from scipy.io import loadmat

    from app.engine.coco_keypoints import COCO_JOINTS
    from app.pose.skeleton import LSP14

    joints = loadmat(str(LSP / "joints.mat"))["joints"][:, :2, :].transpose(2, 0, 1)
    (folder / "images").mkdir(parents=True)
    photo = cv2.imread(str(LSP / "images" / f"im{count + 1:05d}.jpg"))
    cv2.imwrite(str(folder / "images" / "canvas.png"), np.hstack([photo, photo]))
    people = [(f"im{number + 1:05d}.jpg", joints[number]) for number in range(count)]
    people += [("canvas.png", joints[count] + (shift, 0)) for shift in (0, photo.shape[1])]
    images, annotations = {}, []
    for index, (name, points) in enumerate(people):
        if name != "canvas.png":
            shutil.copyfile(LSP / "images" / name, folder / "images" / name)
        image = cv2.imread(str(folder / "images" / name))
        images.setdefault(name, {"id": len(images), "file_name": name,
                                 "width": image.shape[1], "height": image.shape[0]})
        keypoints = np.zeros((len(COCO_JOINTS), 3))
        for joint, joint_name in enumerate(LSP14.joint_names):
            if joint_name.replace(" ", "_") in COCO_JOINTS:
                keypoints[COCO_JOINTS.index(joint_name.replace(" ", "_"))] = (*points[joint], 2)
        low, high = points.min(axis=0), points.max(axis=0)
        annotations.append({"id": index, "image_id": images[name]["id"], "category_id": 1,
                            "iscrowd": 0, "num_keypoints": 12,
                            "keypoints": keypoints.ravel().tolist(),
                            "bbox": [*low.tolist(), *(high - low).tolist()]})
    path = folder / "person_keypoints_test.json"
    path.write_text(json.dumps({"images": list(images.values()), "annotations": annotations,
                                "categories": [{"id": 1, "name": "person",
                                                "keypoints": list(COCO_JOINTS)}]}))
    return path


@requires_lsp
def test_a_coco_file_is_inspected_like_an_lsp_folder(qtbot, inspector, tmp_path) -> None:
    report = scored(qtbot, inspector, coco_file(tmp_path / "coco", 6))
    names = sorted(p.name for p in table_people(inspector))
    assert names == sorted([f"im{n:05d}.jpg" for n in range(1, 7)]
                           + ["canvas.png #1", "canvas.png #2"])
    assert "head top" not in report.worst(1)[0].missed  # COCO labels no head top
    assert np.isnan(report.evaluation.per_joint["head top"])
    assert inspector.person.picture().person is report.worst(1)[0]
    row = [p.name for p in table_people(inspector)].index("canvas.png #2")
    if inspector.table.currentIndex().row() != row:
        with qtbot.waitSignal(inspector.person_shown, timeout=WAIT_MS):
            inspector.table.selectRow(row)
    picture = inspector.person.picture()
    assert picture.person.name == "canvas.png #2"
    canvas_width = cv2.imread(str(picture.person.annotation.image_path)).shape[1]
    assert picture.drawing.shape[1] < canvas_width  # one of two people: shown large


def test_a_dataset_error_reaches_the_user(qtbot, inspector, tmp_path) -> None:
    with qtbot.waitSignal(inspector.failed, timeout=WAIT_MS) as failed:
        inspector.open_data(tmp_path)
    assert "joints.mat" in failed.args[0]
    boxes = [box for box in inspector.findChildren(QMessageBox) if box.isVisible()]
    assert boxes and failed.args[0] in boxes[0].text()
    assert "Could not score" in inspector.summary.text()
    boxes[0].close()


def test_the_inspector_self_test_passes(lsp_people, tiny_checkpoint, tmp_path, capsys) -> None:
    screenshot = tmp_path / "inspector.png"
    assert main(["--self-test", "--inspect", str(lsp_people), "--checkpoint",
                 str(tiny_checkpoint), "--device", "cpu", "--screenshot", str(screenshot)]) == 0
    assert "self-test passed" in capsys.readouterr().out
    assert screenshot.stat().st_size > 0


def test_an_empty_inspect_path_is_refused(capsys) -> None:
    assert main(["--inspect", ""]) == 2
    assert "--inspect is empty" in capsys.readouterr().err
