"""People labelled with their joints, read from a dataset's own layout: one :class:`Annotation`
per person, whichever layout they came from, so evaluation, the inspector, training and the
teacher never ask.  :func:`load_annotations` takes an LSP-layout folder or a COCO
person-keypoints file (``app.engine.coco_keypoints``).

Two LSP layouts share one loader.  LSPet (``joints`` 14 x 3 x N: x, y, visible; ``imNNNNN.jpg``)
masks joints flagged not visible, whose coordinates are often junk.  The original LSP
(``joints`` 3 x 14 x N with an occlusion flag; ``imNNNN.jpg``) keeps every joint: its
benchmark scores occluded joints too.  Entry i belongs to image i + 1, and entries whose image
is absent are skipped (the shared LSPet copy withholds every tenth image).  Images may be in
any format the app reads (JPEG, or WebP in the compact copy that ``app.train.pack`` writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.engine.image_files import IMAGE_EXTENSIONS
from app.engine.mat_files import MatFileError, read_mat_matrix
from app.pose.affine import PERSON_BOX_MARGIN, CropBox, box_from_keypoints


@dataclass(frozen=True)
class Annotation:
    """One person: image file, joints (14, 2) in image pixels, which joints are labelled.

    ``region`` (left, top, width, height in whole pixels) is set only where the photo holds
    other people too (COCO): the part of it in which this person stands alone, enough, for
    scoring without a box.  The true box never needs it: it comes from the joints."""

    image_path: Path
    joints: np.ndarray
    visible: np.ndarray
    index: int  # its entry in the labels: joints.mat's column, or the COCO file's annotation
    region: tuple[int, int, int, int] | None = None

    @property
    def person_name(self) -> str:
        """What names this person in caches and held-out slices: the image's name, with the
        entry's number where the photo holds several people."""
        stem = self.image_path.stem
        return stem if self.region is None else f"{stem}#{self.index}"


class DatasetError(Exception):
    """A dataset folder that cannot be read; the message names it, for the user."""


def read_joints_mat(path: Path) -> np.ndarray:
    """The ``joints`` matrix of a MATLAB file, read without SciPy (the packaged app has none)."""
    try:
        return read_mat_matrix(path, "joints").astype(np.float64)
    except MatFileError as error:
        raise DatasetError(f"{path}: not a joints.mat with a 'joints' matrix: it {error}"
                           ) from error


def load_annotations(path: str | Path) -> list[Annotation]:
    """Every labelled person of the dataset at ``path``, in file order: an LSP-layout folder,
    or a COCO person-keypoints file (any file is read as one)."""
    path = Path(path)
    if path.is_file():
        # Imported here: the COCO reader builds on this module's Annotation and DatasetError.
        from app.engine.coco_keypoints import load_coco_keypoints

        return load_coco_keypoints(path)
    return load_lsp(path)


def load_lsp(root: Path) -> list[Annotation]:
    """Every annotated image present under ``root`` (LSPet or LSP layout), in file order."""
    mat_path = root / "joints.mat"
    if not mat_path.is_file():
        raise DatasetError(f"{root}: no joints.mat (expected the LSP or LSPet layout, or a "
                           "COCO person_keypoints_*.json file)")
    joints = read_joints_mat(mat_path)
    if joints.shape[:2] == (14, 3):  # LSPet: x, y, visible
        coords, visible, digits = joints[:, :2, :], joints[:, 2, :] > 0.5, 5
    elif joints.shape[:2] == (3, 14):  # LSP: x, y, occluded; all joints are scored
        coords = joints[:2].transpose(1, 0, 2)
        visible, digits = np.ones(joints.shape[1:], dtype=bool), 4
    else:
        raise DatasetError(f"{mat_path}: joints has shape {joints.shape}, not 14x3xN or 3x14xN")
    images = root / "images"
    by_name = {path.stem: path for path in (images.iterdir() if images.is_dir() else ())
               if path.suffix.lower() in IMAGE_EXTENSIONS}
    annotations = []
    for index in range(joints.shape[-1]):
        image_path = by_name.get(f"im{index + 1:0{digits}d}")
        if image_path is not None:
            annotations.append(
                Annotation(image_path, coords[:, :, index].copy(), visible[:, index].copy(),
                           index)
            )
    return annotations


def ground_truth_box(annotation: Annotation) -> CropBox | None:
    """The evaluation and training crop: the labelled joints' box with the standard margin."""
    return box_from_keypoints(annotation.joints, annotation.visible, PERSON_BOX_MARGIN)
