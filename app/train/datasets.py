"""Which of a dataset's people train and which judge: each dataset's fixed validation slice,
and the mix between datasets.

Training reads several datasets at once (LSPet's 9,000 crowd-labelled acrobatic photos and
LSP's 1,000 expert-labelled sports photos, or a COCO person-keypoints file); each holds out
its own fixed validation slice, chosen by image name so every session and machine holds out the
same people, and a photo's people are held out together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.engine.labelled_data import Annotation, load_annotations

if TYPE_CHECKING:  # a teacher's maps ride along with a split; data.py imports this module
    from app.train.data import SoftTarget


# Each dataset's validation slice, by its name (a packed copy keeps the name): LSPet's 500
# images, and 200 of LSP's 1,000, whose clean labels and upright people judge a model for
# webcams.  Others, COCO files too, hold out the default.
HELD_OUT = {"lspet": 500, "lsp": 200}
DEFAULT_HELD_OUT = 500


def dataset_name(root: str | Path) -> str:
    """A folder's name, or a COCO file's without its ending (``person_keypoints_val2017``)."""
    path = Path(root).resolve()
    return path.stem if path.is_file() else path.name


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
    """(train, validation): a fixed, seeded choice of ``count`` images held out of training,
    with every person in them.

    The choice depends only on the image names present, so every session and machine that
    sees the same dataset holds out the same images.
    """
    names = sorted({a.image_path.stem for a in annotations})
    rng = np.random.default_rng(seed)
    held_out = set(rng.choice(names, size=min(count, len(names)), replace=False).tolist())
    train = [a for a in annotations if a.image_path.stem not in held_out]
    validation = [a for a in annotations if a.image_path.stem in held_out]
    return train, validation
