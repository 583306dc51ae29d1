"""People labelled with their joints, read from a dataset's own layout: one :class:`Annotation`
per person, whichever layout they came from, so evaluation, the inspector, training and the
teacher never ask.

Two layouts share one loader.  LSPet (``joints`` 14 x 3 x N: x, y, visible; ``imNNNNN.jpg``)
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
from app.pose.affine import PERSON_BOX_MARGIN, CropBox, box_from_keypoints


@dataclass(frozen=True)
class Annotation:
    """One person: image file, joints (14, 2) in image pixels, which joints are labelled."""

    image_path: Path
    joints: np.ndarray
    visible: np.ndarray
    index: int  # its entry in joints.mat


class DatasetError(Exception):
    """A dataset folder that cannot be read; the message names it, for the user."""


def read_joints_mat(path: Path) -> np.ndarray:
    """The ``joints`` matrix of a MATLAB file (SciPy is a training-only dependency)."""
    try:
        from scipy.io import loadmat
    except ImportError as error:
        raise DatasetError("reading LSP annotations needs SciPy, which this build leaves out: "
                           "train and evaluate from a checkout (pip install -e .[train])"
                           ) from error
    try:
        return np.asarray(loadmat(str(path))["joints"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as error:
        raise DatasetError(f"{path}: not a joints.mat with a 'joints' matrix ({error})"
                           ) from error


def load_annotations(root: str | Path) -> list[Annotation]:
    """Every annotated image present under ``root`` (LSPet or LSP layout), in file order."""
    root = Path(root)
    mat_path = root / "joints.mat"
    if not mat_path.is_file():
        raise DatasetError(f"{root}: no joints.mat (expected the LSP or LSPet layout)")
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
