"""COCO person-keypoint files read as the model's 14 LSP joints, one :class:`Annotation` per
person, so every command that takes an LSP folder takes the field's own format too.

COCO labels 17 joints; the 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles) are
LSP's too and map by name, labelled where COCO's flag is 1 (hidden) or 2 (seen), as LSP scores
occluded joints.  COCO has no neck or head top: the neck is taken as the shoulders' midpoint
where both are labelled, and the head top is never labelled, so it is never scored.  Crowd
regions and people without a labelled joint (``num_keypoints`` 0) are skipped.  A photo of
several people gives each a ``region`` (the person's box with the usual margin), so that
scoring without a box looks at one of them.

The images are found where COCO puts them: ``annotations/person_keypoints_val2017.json``
beside ``val2017/``, or the folder named by the file's suffix beside the file, or ``images/``.
Files are checked as they are read: anything that is not a COCO keypoint file, or an entry with
wrong, missing or absurd values, is refused with a :class:`DatasetError` that names the file and
the entry, never half-read.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np

from app.engine.labelled_data import Annotation, DatasetError
from app.pose.affine import PERSON_BOX_MARGIN
from app.pose.skeleton import LSP14

COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# For each of the model's joints, the COCO joint it is (-1: none: the neck and the head top).
SOURCES = np.array([COCO_JOINTS.index(name.replace(" ", "_"))
                    if name.replace(" ", "_") in COCO_JOINTS else -1
                    for name in LSP14.joint_names])
NECK = LSP14.index("neck")
SHOULDERS = [COCO_JOINTS.index("left_shoulder"), COCO_JOINTS.index("right_shoulder")]


class EntryError(Exception):
    """What is wrong with one entry of the file (the loader names the file and the entry)."""


def load_coco_keypoints(path: Path) -> list[Annotation]:
    """Every person of the COCO keypoint file at ``path`` whose photo is present, in the
    file's order."""
    content = read_json(path)
    people = content["annotations"]
    person_categories = person_category_ids(path, content["categories"])
    photos = Photos(content["images"], image_folder(path))
    # Everyone COCO outlines counts as company in a photo, crowds and the unlabelled too.
    company = Counter(ident(entry.get("image_id")) for entry in people
                      if isinstance(entry, dict)
                      and ident(entry.get("category_id")) in person_categories)
    annotations = []
    for index, entry in enumerate(people):
        try:
            person = read_person(entry, index, person_categories, photos, company)
        except EntryError as error:
            raise DatasetError(f"{path}: annotations[{index}]: {error}") from error
        if person is not None:
            annotations.append(person)
    return annotations


def read_json(path: Path) -> dict:
    """The file's content, if it has COCO's three lists; otherwise one clear refusal."""
    refusal = f"{path}: not a COCO person-keypoints file"
    try:
        content = json.loads(path.read_bytes())
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from error
    except (ValueError, RecursionError) as error:  # bad JSON or text; nesting past reason
        raise DatasetError(f"{refusal}: it is not JSON ({error})") from error
    if not isinstance(content, dict):
        raise DatasetError(f"{refusal}: it holds a JSON {type(content).__name__}, not an object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(content.get(key), list):
            raise DatasetError(f"{refusal}: it has no {key!r} list")
    return content


def person_category_ids(path: Path, categories: list) -> set:
    """The ids of the categories labelled with COCO's 17 person keypoints."""
    ids = {ident(entry.get("id")) for entry in categories
           if isinstance(entry, dict) and entry.get("keypoints") == list(COCO_JOINTS)} - {None}
    if not ids:
        raise DatasetError(f"{path}: not a COCO person-keypoints file: no category is labelled "
                           f"with COCO's 17 keypoints ({', '.join(COCO_JOINTS)})")
    return ids


def image_folder(path: Path) -> Path:
    """Where the file's photos are, looked for as COCO lays them out."""
    split = path.stem.removeprefix("person_keypoints_")
    candidates = list(dict.fromkeys((path.parent.parent / split, path.parent / split,
                                     path.parent / "images")))
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise DatasetError(f"{path}: its images are in none of the folders COCO's layout puts them "
                       f"in: looked for {', '.join(str(f) for f in candidates)}")


class Photos:
    """The file's images by id, each checked (and looked for on disk) once, when a person in
    it is first read."""

    def __init__(self, entries: list, folder: Path) -> None:
        self.entries = {ident(entry.get("id")): entry for entry in entries
                        if isinstance(entry, dict)}
        self.folder = folder
        self.checked: dict[int | str, tuple[Path, float, float, bool]] = {}

    def get(self, image_id: object) -> tuple[Path, float, float, bool]:
        """(file, width, height, whether the file is there) of the image ``image_id``."""
        key = ident(image_id)
        if key in self.checked:
            return self.checked[key]
        entry = self.entries.get(key) if key is not None else None
        if entry is None:
            raise EntryError(f"its image_id {json.dumps(image_id)[:40]} is none of the "
                             "images' ids")
        width, height = (number(entry.get(side), f"its image's {side}", positive=True)
                         for side in ("width", "height"))
        file = self.folder / image_name(entry.get("file_name"))
        self.checked[key] = file, width, height, file.is_file()
        return self.checked[key]


def read_person(entry: object, index: int, person_categories: set, photos: Photos,
                company: Counter) -> Annotation | None:
    """One entry as a person; None for what is not one (another category, a crowd, nobody
    labelled) or whose photo is absent."""
    if not isinstance(entry, dict):
        raise EntryError(f"a JSON {type(entry).__name__}, not an object")
    if ident(entry.get("category_id")) not in person_categories:
        return None
    if entry.get("iscrowd") or entry.get("num_keypoints") == 0:
        return None
    file, width, height, present = photos.get(entry.get("image_id"))
    keypoints = numbers(entry.get("keypoints"), 3 * len(COCO_JOINTS), "keypoints")
    keypoints = keypoints.reshape(len(COCO_JOINTS), 3)
    if not set(keypoints[:, 2].tolist()) <= {0, 1, 2}:
        raise EntryError("its keypoints' flags are not all 0, 1 or 2")
    labelled = keypoints[:, 2] > 0
    points = keypoints[:, :2]
    if (np.abs(points[labelled] - (width / 2, height / 2)) > (1.5 * width, 1.5 * height)).any():
        raise EntryError("a keypoint lies far outside its image")
    if not present:
        return None
    joints, visible = lsp_joints(points, labelled)
    region = None
    if company[ident(entry["image_id"])] > 1:
        region = person_region(numbers(entry.get("bbox"), 4, "bbox"), width, height)
    return Annotation(file, joints, visible, index, region)


def lsp_joints(points: np.ndarray, labelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO's (17, 2) points and labelled flags as the model's (14, 2) joints and flags."""
    mapped = SOURCES >= 0
    joints = np.zeros((len(SOURCES), 2))
    visible = np.zeros(len(SOURCES), dtype=bool)
    joints[mapped], visible[mapped] = points[SOURCES[mapped]], labelled[SOURCES[mapped]]
    if labelled[SHOULDERS].all():
        joints[NECK], visible[NECK] = points[SHOULDERS].mean(axis=0), True
    return joints, visible


def person_region(bbox: np.ndarray, width: float, height: float) -> tuple[int, int, int, int]:
    """COCO's box round the person, widened by the person box's margin and kept inside the
    photo, in whole pixels."""
    x, y, w, h = bbox.tolist()
    if w < 0 or h < 0:
        raise EntryError("its bbox has a negative size")
    grow_x, grow_y = w * (PERSON_BOX_MARGIN - 1) / 2, h * (PERSON_BOX_MARGIN - 1) / 2
    # Clipped before rounding: a box past any float's range ends at the photo's edge.
    left, right = (math.floor(max(x - grow_x, 0)), math.ceil(min(x + w + grow_x, width)))
    top, bottom = (math.floor(max(y - grow_y, 0)), math.ceil(min(y + h + grow_y, height)))
    if right <= left or bottom <= top:
        raise EntryError("its bbox lies outside its image")
    return left, top, right - left, bottom - top


def image_name(name: object) -> PurePosixPath:
    """The image's file name, as a path that stays inside the image folder."""
    if not isinstance(name, str) or not name:
        raise EntryError("its image has no file_name")
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise EntryError(f"its image's file_name {name!r} leaves the image folder")
    return relative


def ident(value: object) -> int | str | None:
    """An id as COCO writes them (a number or a string); None for anything else."""
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def number(value: object, what: str, positive: bool = False) -> float:
    return float(checked([value], what, positive)[0])


def numbers(values: object, count: int, what: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) != count:
        raise EntryError(f"{what} is not a list of {count} numbers")
    return checked(values, what)


def checked(values: list, what: str, positive: bool = False) -> np.ndarray:
    """Finite JSON numbers as float64 (a bool, a string or null is none)."""
    for value in values:
        if type(value) not in (int, float):  # (not isinstance: a bool is an int)
            raise EntryError(f"{what} holds {json.dumps(value)[:40]}, not a number")
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError as error:  # an integer past any float
        raise EntryError(f"{what} holds a number too large") from error
    if not np.isfinite(array).all():
        raise EntryError(f"{what} holds an infinite or undefined number")
    if positive and (array <= 0).any():
        raise EntryError(f"{what} is not positive")
    return array
