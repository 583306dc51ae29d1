"""COCO person keypoints read wherever a dataset is read, and LSP's joints.mat without SciPy.

The COCO file is written at run time from LSP's own labels, so what the loader should make of
it is known: its 12 limb joints, the neck as the shoulders' midpoint, no head top.  One photo
is a wide canvas holding the same person twice, beside a crowd and an unlabelled person.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import loadmat, savemat

from app.cli import main
from app.engine.coco_keypoints import COCO_JOINTS, load_coco_keypoints
from app.engine.image_files import read_image
from app.engine.labelled_data import DatasetError, load_annotations, read_joints_mat
from app.engine.pipeline import PosePipeline
from app.engine.scoring import person_view, predict_live, run_still_as_shown
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.skeleton import LSP14
from app.train.data import decode_once
from app.train.datasets import dataset_name, held_out_count, split_validation

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
LSP = SHARED / "lsp"
pytestmark = pytest.mark.skipif(not (LSP / "joints.mat").is_file(), reason=f"needs {LSP}")

SINGLES = 4  # LSP people 1-4 each in their own photo; person 5 twice on the canvas
PAD = 300  # around and between the canvas's two copies: each region stays in its own copy
LIMBS = [j for j, name in enumerate(LSP14.joint_names) if name not in ("neck", "head top")]
NECK, HEAD_TOP = LSP14.index("neck"), LSP14.index("head top")
SHOULDERS = [LSP14.index("left shoulder"), LSP14.index("right shoulder")]
HIDDEN = LSP14.index("left knee")  # person 4's: COCO flag 1, labelled but not seen
UNLABELLED = LSP14.index("right shoulder")  # person 3's: COCO flag 0, so no neck either


def coco_keypoints(joints: np.ndarray, flags: np.ndarray) -> list[float]:
    """LSP joints (14, 2) as COCO's 17 (x, y, flag) triples; the face unlabelled."""
    triples = np.zeros((len(COCO_JOINTS), 3))
    for joint in LIMBS:
        coco = COCO_JOINTS.index(LSP14.joint_names[joint].replace(" ", "_"))
        triples[coco] = (*joints[joint], flags[joint]) if flags[joint] else (0, 0, 0)
    return triples.ravel().tolist()


def bbox(joints: np.ndarray) -> list[float]:
    low, high = joints.min(axis=0), joints.max(axis=0)
    return [*low.tolist(), *(high - low).tolist()]


@pytest.fixture(scope="module")
def people() -> list[tuple[np.ndarray, np.ndarray, Path | np.ndarray]]:
    """(joints, COCO flags, photo: a file, or the canvas's pixels) for each person the file
    labels, in its order."""
    joints = loadmat(str(LSP / "joints.mat"))["joints"][:, :2, :].transpose(2, 0, 1)
    chosen = []
    for number in range(SINGLES):
        flags = np.full(14, 2)
        if number == 2:
            flags[UNLABELLED] = 0
        if number == 3:
            flags[HIDDEN] = 1
        chosen.append((joints[number], flags, LSP / "images" / f"im{number + 1:05d}.jpg"))
    photo = cv2.imread(str(LSP / "images" / f"im{SINGLES + 1:05d}.jpg"))
    height, width = photo.shape[:2]
    canvas = np.zeros((height + 2 * PAD, 2 * width + 3 * PAD, 3), np.uint8)
    for shift in (PAD, 2 * PAD + width):
        canvas[PAD:PAD + height, shift:shift + width] = photo
        chosen.append((joints[SINGLES] + (shift, PAD), np.full(14, 2), canvas))
    return chosen


def write_coco(folder: Path, people: list, image_folder: str = "test") -> Path:
    """person_keypoints_test.json in ``folder``/annotations and its photos in ``image_folder``
    (beside the annotations folder, or inside it if that is "annotations/images")."""
    (folder / "annotations").mkdir(parents=True)
    photos = folder / image_folder
    photos.mkdir(parents=True)
    cv2.imwrite(str(photos / "canvas.png"), people[-1][2])
    images, annotations = [], []
    for index, (joints, flags, photo) in enumerate(people):
        if isinstance(photo, Path):
            (photos / photo.name).symlink_to(photo)
            name, (height, width) = photo.name, cv2.imread(str(photo)).shape[:2]
            images.append({"id": index, "file_name": name, "width": width, "height": height})
            image_id = index
        else:
            image_id = SINGLES
        annotations.append({"id": 100 + index, "image_id": image_id, "category_id": 1,
                            "iscrowd": 0, "num_keypoints": int((flags > 0).sum()),
                            "keypoints": coco_keypoints(joints, flags), "bbox": bbox(joints)})
    canvas = people[-1][2]
    images.append({"id": SINGLES, "file_name": "canvas.png", "width": canvas.shape[1],
                   "height": canvas.shape[0]})
    joints = people[-1][0]
    annotations.insert(SINGLES, {  # the crowd: labelled, but one outline for many people
        "id": 98, "image_id": SINGLES, "category_id": 1, "iscrowd": 1, "num_keypoints": 12,
        "keypoints": coco_keypoints(joints, np.full(14, 2)), "bbox": bbox(joints)})
    annotations.insert(SINGLES, {  # a person outlined, not one joint labelled
        "id": 99, "image_id": SINGLES, "category_id": 1, "iscrowd": 0, "num_keypoints": 0,
        "keypoints": [0] * 51, "bbox": [10, 10, 50, 80]})
    path = folder / "annotations" / "person_keypoints_test.json"
    path.write_text(json.dumps({
        "images": images, "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_JOINTS),
                        "skeleton": []}]}))
    return path


@pytest.fixture(scope="module")
def coco_file(tmp_path_factory: pytest.TempPathFactory, people: list) -> Path:
    return write_coco(tmp_path_factory.mktemp("coco"), people)


@pytest.fixture(scope="module")
def same_people_as_lsp(tmp_path_factory: pytest.TempPathFactory, people: list) -> Path:
    """The same people, labelled as COCO labels them, in an LSPet-layout folder: one photo per
    person (the canvas twice)."""
    folder = tmp_path_factory.mktemp("lsp-copy")
    (folder / "images").mkdir()
    labels = np.zeros((14, 3, len(people)))
    for index, (joints, flags, photo) in enumerate(people):
        labels[:, :2, index], labels[:, 2, index] = joints, flags > 0
        if (flags[SHOULDERS] > 0).all():
            labels[NECK, :2, index] = joints[SHOULDERS].mean(axis=0)
        else:
            labels[NECK, 2, index] = 0
        labels[HEAD_TOP, 2, index] = 0
        name = folder / "images" / f"im{index + 1:05d}.png"
        cv2.imwrite(str(name), photo if isinstance(photo, np.ndarray) else cv2.imread(str(photo)))
    savemat(folder / "joints.mat", {"joints": labels})
    return folder


def test_coco_people_are_the_lsp_limbs_with_a_derived_neck_and_no_head_top(coco_file, people):
    read = load_annotations(coco_file)
    assert [a.index for a in read] == [0, 1, 2, 3, 6, 7]  # the crowd and the unlabelled skipped
    assert [a.image_path.name for a in read] == [
        *(f"im{n:05d}.jpg" for n in range(1, SINGLES + 1)), "canvas.png", "canvas.png"]
    for annotation, (joints, flags, _) in zip(read, people, strict=True):
        labelled = flags[LIMBS] > 0
        np.testing.assert_array_equal(annotation.visible[LIMBS], labelled)
        np.testing.assert_allclose(annotation.joints[LIMBS][labelled], joints[LIMBS][labelled])
        assert not annotation.visible[HEAD_TOP]
    third, fourth = read[2], read[3]
    assert not third.visible[UNLABELLED] and not third.visible[NECK]  # one shoulder: no neck
    assert fourth.visible[HIDDEN]  # COCO's "labelled, not seen" is scored, as LSP's occluded
    np.testing.assert_allclose(read[0].joints[NECK], people[0][0][SHOULDERS].mean(axis=0))
    assert read[0].visible[NECK]


def test_only_people_sharing_a_photo_get_a_region_of_it(coco_file, people):
    read = load_annotations(coco_file)
    assert all(a.region is None for a in read[:SINGLES])
    left, right = read[SINGLES].region, read[SINGLES + 1].region
    width = people[SINGLES][0][:, 0].max() - people[SINGLES][0][:, 0].min()
    assert left is not None and right is not None
    assert right[0] - left[0] == PAD + cv2.imread(str(LSP / "images" / "im00005.jpg")).shape[1]
    assert left[1:] == right[1:] and left[2] == pytest.approx(1.3 * width, abs=2)
    x0, y0, w, h = left
    inside = read[SINGLES].joints[read[SINGLES].visible]
    assert (inside >= (x0, y0)).all() and (inside <= (x0 + w, y0 + h)).all()
    assert read[SINGLES].person_name != read[SINGLES + 1].person_name
    assert read[0].person_name == "im00001"  # LSP's names (and teacher caches) unchanged


def test_box_free_scoring_looks_at_the_persons_region_in_photo_pixels(coco_file,
                                                                       tiny_checkpoint):
    read = load_annotations(coco_file)[SINGLES:]
    canvas = read_image(read[0].image_path)
    pipeline = PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu", "fp32"))
    live, _ = predict_live(pipeline, read, [canvas, canvas], frames=2)
    view, offset = person_view(read[1], canvas)
    alone = run_still_as_shown(pipeline, view, 2)
    np.testing.assert_allclose(live.joints[:, 1], [r.keypoints + offset for r in alone])
    # The two copies' regions hold the same pixels: the same pose, one copy apart.
    shift = np.subtract(read[1].region[:2], read[0].region[:2])
    np.testing.assert_allclose(live.joints[:, 1], live.joints[:, 0] + shift)


def test_eval_takes_a_coco_file_and_scores_as_on_the_same_people_in_lsp_layout(
        coco_file, same_people_as_lsp, tiny_checkpoint, tmp_path):
    scores = {}
    for name, dataset in (("coco", coco_file), ("lsp", same_people_as_lsp)):
        out = tmp_path / f"{name}.json"
        assert main(["eval", "--dataset", str(dataset), "--checkpoint", str(tiny_checkpoint),
                     "--device", "cpu", "--json", str(out)]) == 0
        scores[name] = json.loads(out.read_text())
    coco, lsp = scores["coco"], scores["lsp"]
    assert coco["images"] == lsp["images"] == SINGLES + 2
    for joint in (*LIMBS, NECK):
        name = LSP14.joint_names[joint]
        assert coco["per_joint"][name] == lsp["per_joint"][name], name
    assert math.isnan(coco["per_joint"]["head top"])
    assert coco["mean"] == lsp["mean"] and coco["per_stack"] == lsp["per_stack"]


def test_a_coco_file_names_its_slice_and_trains(coco_file, tmp_path):
    assert dataset_name(coco_file) == "person_keypoints_test"
    assert held_out_count(coco_file) == 500
    train, validation = split_validation(load_annotations(coco_file), 1, seed=3)
    names = {a.image_path.name for a in validation}
    assert len(names) == 1 and not names & {a.image_path.name for a in train}
    run = tmp_path / "run"
    assert main(["train", "--data", str(coco_file), "--run", str(run), "--stacks", "1",
                 "--channels", "16", "--depth", "2", "--input-size", "64", "--batch-size", "2",
                 "--held-out", "2", "--eval-every", "2", "--max-steps", "2", "--device", "cpu",
                 "--init", str(tmp_path / "none.safetensors")]) == 0
    record = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 2 and "person_keypoints_test" in json.dumps(record)


def test_people_sharing_a_photo_share_its_decoded_pixels(coco_file):
    people = load_annotations(coco_file)
    images = decode_once(people)
    by_photo = {}
    for person, image in zip(people, images, strict=True):
        by_photo.setdefault(person.image_path, []).append(image)
    shared = [arrays for arrays in by_photo.values() if len(arrays) > 1]
    assert shared and all(a is arrays[0] for arrays in shared for a in arrays)


def test_pack_data_refuses_a_coco_file_with_a_message(coco_file, tmp_path, capsys):
    assert main(["pack-data", "--data", str(coco_file), "--out", str(tmp_path / "copy")]) == 2
    assert "pack-data copies an LSP-layout folder" in capsys.readouterr().err
    assert not (tmp_path / "copy").exists()


def test_the_images_folder_beside_the_file_is_found_and_a_missing_one_named(tmp_path, people):
    path = write_coco(tmp_path, people, image_folder="annotations/images")
    assert len(load_annotations(path)) == SINGLES + 2
    (path.parent / "images").rename(tmp_path / "elsewhere")
    with pytest.raises(DatasetError) as raised:
        load_annotations(path)
    message = str(raised.value)
    for looked_in in (tmp_path / "test", path.parent / "test", path.parent / "images"):
        assert str(looked_in) in message


def entry_with(**changes: object) -> dict:
    joints = np.array([[10.0 + j, 20.0 + j] for j in range(14)])
    entry = {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "num_keypoints": 12,
             "keypoints": coco_keypoints(joints, np.full(14, 2)), "bbox": [10, 20, 14, 14]}
    return entry | changes


def with_annotations(annotations: str) -> bytes:
    """A COCO file of one 100 x 80 photo (id 7) and these annotations (JSON text)."""
    return ('{"images": [{"id": 7, "file_name": "x.jpg", "width": 100, "height": 80}], '
            f'"categories": [{{"id": 1, "keypoints": {json.dumps(list(COCO_JOINTS))}}}], '
            f'"annotations": {annotations}}}').encode()


# An integer no float holds, in place of the first keypoint's x.
HUGE = "[" + json.dumps(entry_with()).replace('"keypoints": [0.0',
                                               '"keypoints": [1' + "0" * 400) + "]"


@pytest.mark.parametrize("content, expected", [
    (b"\x89PNG\r\n\x1a\n", "not a COCO person-keypoints file: it is not JSON"),
    (b"[" * 100_000, "it is not JSON"),
    (b"[]", "it holds a JSON list, not an object"),
    (b'{"images": [], "categories": []}', "it has no 'annotations' list"),
    (b'{"images": [], "annotations": [], "categories": [{"id": 1, "keypoints": ["a"]}]}',
     "no category is labelled with COCO's 17 keypoints"),
    ([entry_with(keypoints=[1, 2, 2])], "annotations[0]: keypoints is not a list of 51"),
    ([entry_with(keypoints=["5"] * 51)], 'annotations[0]: keypoints holds "5", not a number'),
    ([entry_with(keypoints=[float("nan")] * 51)], "infinite or undefined number"),
    (HUGE, "annotations[0]: keypoints holds a number too large"),
    ([entry_with(keypoints=[1e12, 5, 2] * 17)], "a keypoint lies far outside its image"),
    ([entry_with(keypoints=[5, 5, 3] * 17)], "flags are not all 0, 1 or 2"),
    ([entry_with(image_id=8)], "annotations[0]: its image_id 8 is none of the images' ids"),
    ([entry_with(image_id=[7])], "its image_id [7] is none of the images' ids"),
    ([entry_with(), "person"], "annotations[1]: a JSON str, not an object"),
])
def test_a_file_that_is_not_coco_keypoints_is_refused_with_one_clear_message(
        tmp_path, content, expected):
    path = tmp_path / "person_keypoints_bad.json"
    (tmp_path / "images").mkdir()
    if isinstance(content, list):
        content = json.dumps(content)
    if isinstance(content, str):
        content = with_annotations(content)
    path.write_bytes(content)
    with pytest.raises(DatasetError) as raised:
        load_coco_keypoints(path)
    assert str(path) in str(raised.value) and expected in str(raised.value)


def test_eval_reports_a_bad_coco_file_as_the_users_error(tmp_path, tiny_checkpoint, capsys):
    path = tmp_path / "person_keypoints_bad.json"
    path.write_text('{"images": [], "annotations": [], "categories": []}')
    assert main(["eval", "--dataset", str(path), "--checkpoint", str(tiny_checkpoint)]) == 2
    err = capsys.readouterr().err
    assert "not a COCO person-keypoints file" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["lsp", "lspet"])
def test_joints_mat_reads_without_scipy_as_scipy_reads_it(name):
    path = SHARED / name / "joints.mat"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    np.testing.assert_array_equal(read_joints_mat(path), loadmat(str(path))["joints"])


@pytest.mark.parametrize("compressed", [False, True])
def test_the_mat_reader_refuses_what_is_not_a_real_numeric_matrix(tmp_path, compressed):
    path = tmp_path / "joints.mat"
    savemat(path, {"other": np.arange(3.0), "joints": np.int16([[1, -2], [3, 4]])},
            do_compression=compressed)
    assert read_joints_mat(path).tolist() == [[1.0, -2.0], [3.0, 4.0]]
    for value, expected in ((np.array([1 + 2j]), "a complex matrix"),
                            ({"x": 1.0}, "a struct"), ("text", "a string")):
        savemat(path, {"joints": value}, do_compression=compressed)
        with pytest.raises(DatasetError, match=expected):
            read_joints_mat(path)
    savemat(path, {"other": 1.0}, do_compression=compressed)
    with pytest.raises(DatasetError, match=r"no matrix named 'joints' .*'other'"):
        read_joints_mat(path)
    path.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64" + bytes(600))
    with pytest.raises(DatasetError, match=r"v7\.3"):
        read_joints_mat(path)
    savemat(path, {"joints": np.random.default_rng(0).random((14, 3, 40))},
            do_compression=compressed)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match=r"truncated|does not inflate|shorter"):
        read_joints_mat(path)
