"""A compact copy of an LSP-layout dataset: each person's surroundings, small, as WebP.

A GPU machine is reached with the working tree alone (64 MiB in all), so the 165 MB LSPet
folder cannot travel as it is.  What training looks at is the person box and the margin that
augmentation can move, scale and rotate it into; the rest of each photo is dropped, the kept
part shrunk so the box is at most ``box_pixels`` wide (the network sees 128 px), and the joints
moved with it.  The copy keeps the layout and the image names, so the loader, the validation
split and the trainer read it as they read the original.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from app.engine.image_files import read_image
from app.engine.labelled_data import (
    DatasetError,
    ground_truth_box,
    load_annotations,
    read_joints_mat,
)
from app.train.datasets import dataset_name
from app.train.teacher import TeacherTargets, cache_path


def surroundings(image_shape: tuple[int, ...], cx: float, cy: float, side: float
                 ) -> tuple[int, int, int, int]:
    """The square of ``side`` about (cx, cy), clipped to the image: x0, y0, x1, y1."""
    half = side / 2
    height, width = image_shape[:2]
    return (max(0, int(cx - half)), max(0, int(cy - half)),
            min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half))))


def pack_dataset(source: str | Path, target: str | Path, box_pixels: int = 128,
                 region: float = 1.6, quality: int = 72,
                 teacher: tuple[Path, Path, str] | None = None, teacher_map_size: int = 32
                 ) -> tuple[int, int]:
    """Write the compact copy of ``source`` to ``target``; returns (images, bytes written).

    ``teacher`` (from folder, to folder, model name): the teacher's cached view of these
    people, moved into the copy's pixels beside it and its maps shrunk to
    ``teacher_map_size`` (the network's own heatmap size at 128 px), so that a machine without
    the teacher's runtime trains with it too."""
    from scipy.io import savemat

    source, target = Path(source), Path(target)
    if not source.is_dir():  # the copy keeps the LSP layout: its joints.mat is what it rewrites
        raise DatasetError(f"{source}: pack-data copies an LSP-layout folder (images/ and "
                           "joints.mat); COCO files train as they are")
    annotations = load_annotations(source)
    joints = read_joints_mat(source / "joints.mat")
    lsp_layout = joints.shape[:2] == (3, 14)
    (target / "images").mkdir(parents=True, exist_ok=True)
    written = 0
    moves: dict[str, tuple[np.ndarray, float]] = {}
    for annotation in annotations:
        image = read_image(annotation.image_path)
        box = ground_truth_box(annotation)
        offset, scale = np.zeros(2), 1.0
        if box is not None:
            x0, y0, x1, y1 = surroundings(image.shape, box.cx, box.cy, box.side * region)
            image, offset = image[y0:y1, x0:x1], np.array([x0, y0], dtype=np.float64)
            scale = min(1.0, box_pixels / box.side)
            if scale < 1.0:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        moved = (annotation.joints - offset) * scale
        moves[annotation.image_path.stem] = offset, scale
        if lsp_layout:
            joints[:2, :, annotation.index] = moved.T
        else:
            joints[:, :2, annotation.index] = moved
        ok, encoded = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
        if not ok:
            raise DatasetError(f"{annotation.image_path}: could not be re-encoded")
        path = target / "images" / annotation.image_path.with_suffix(".webp").name
        path.write_bytes(encoded.tobytes())
        written += len(encoded)
    savemat(str(target / "joints.mat"), {"joints": joints})
    if teacher is not None:
        source_cache, target_cache, model = teacher
        name = dataset_name(source)
        moved_targets = move_teacher_targets(
            TeacherTargets.load(cache_path(source_cache, name, model)), moves, teacher_map_size)
        moved_targets.save(cache_path(target_cache, name, model))
    return len(annotations), written


def move_teacher_targets(targets: TeacherTargets, moves: dict[str, tuple[np.ndarray, float]],
                         map_size: int) -> TeacherTargets:
    """The teacher's boxes and joints in the copy's pixels (its maps live in the box's frame,
    so they are only shrunk); people the copy does not hold are dropped."""
    kept = np.array([str(name) in moves for name in targets.names], dtype=bool)
    offsets = np.array([moves[str(n)][0] for n in targets.names[kept]]).reshape(-1, 2)
    scales = np.array([moves[str(n)][1] for n in targets.names[kept]])
    boxes = targets.boxes[kept].copy()
    boxes[:, :2] = (boxes[:, :2] - offsets) * scales[:, None]
    boxes[:, 2] *= scales
    joints = (targets.joints[kept] - offsets[:, None]) * scales[:, None, None]
    maps = np.array([[cv2.resize(m, (map_size, map_size), interpolation=cv2.INTER_AREA)
                      for m in person] for person in targets.maps[kept]], dtype=np.uint8)
    return replace(targets, names=targets.names[kept], boxes=boxes,
                   rotations=targets.rotations[kept], maps=maps.reshape(
                       len(boxes), -1, map_size, map_size), joints=joints,
                   confidence=targets.confidence[kept])
