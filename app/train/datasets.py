"""The people of the training datasets, read from their own layouts, and each one's fixed
validation slice.

Training reads several datasets at once (LSPet's 9,000 crowd-labelled acrobatic photos and
LSP's 1,000 expert-labelled sports photos); each holds out its own fixed validation slice.
Every loader gives the same :class:`Annotation` per person, so training, evaluation and the
teacher never ask which layout a person came from.

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
from typing import TYPE_CHECKING

import numpy as np

from app.engine.image_files import IMAGE_EXTENSIONS

if TYPE_CHECKING:  # a teacher's maps ride along with a split; data.py imports this module
    from app.train.data import SoftTarget


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


# Each dataset's validation slice, by its folder's name (a packed copy keeps the name): LSPet's
# 500, and 200 of LSP's 1,000, whose clean labels and upright people judge a model for webcams.
HELD_OUT = {"lspet": 500, "lsp": 200}
DEFAULT_HELD_OUT = 500


def dataset_name(root: str | Path) -> str:
    return Path(root).resolve().name


def held_out_count(root: str | Path) -> int:
    """How many of the dataset's images its validation slice holds."""
    return HELD_OUT.get(dataset_name(root), DEFAULT_HELD_OUT)


@dataclass(frozen=True)
class DatasetSplit:
    """One dataset's training people, its validation slice, and how many times each of its
    training people comes round in an epoch (the mix between datasets)."""

    name: str
    train: list[Annotation]
    validation: list[Annotation]
    repeats: int = 1
    soft: list[SoftTarget | None] | None = None  # a teacher's maps of the training people


def split_dataset(root: str | Path, repeats: int = 1, held_out: int | None = None
                  ) -> DatasetSplit:
    """Load ``root`` and hold out its validation slice (``held_out`` images, by default the
    dataset's own count)."""
    count = held_out_count(root) if held_out is None else held_out
    train, validation = split_validation(load_annotations(root), count)
    return DatasetSplit(dataset_name(root), train, validation, repeats)


def split_validation(
    annotations: list[Annotation], count: int = 500, seed: int = 2016
) -> tuple[list[Annotation], list[Annotation]]:
    """(train, validation): a fixed, seeded choice of ``count`` images held out of training.

    The choice depends only on the image names present, so every session and machine that
    sees the same folder holds out the same images.
    """
    names = sorted(a.image_path.stem for a in annotations)
    rng = np.random.default_rng(seed)
    held_out = set(rng.choice(names, size=min(count, len(names)), replace=False).tolist())
    train = [a for a in annotations if a.image_path.stem not in held_out]
    validation = [a for a in annotations if a.image_path.stem in held_out]
    return train, validation
