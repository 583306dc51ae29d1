"""Labelled LSP people copied at run time from ../shared/datasets/lsp into a test's own folder,
and ``eval``'s command line on them: the inspector's tests and ``eval --as-webcam``'s share
them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scipy.io import loadmat, savemat

from app.pose.skeleton import LSP14

LSP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "lsp"
PEOPLE = 40  # more than one batch of 32, so batching and Cancel between batches are seen
UNLABELLED = (3, 7)  # people whose head top the copy marks unlabelled (LSP labels every joint)

# Tests that read LSP skip where ../shared is not beside the clone, as the LSPet ones do.
requires_lsp = pytest.mark.skipif(not (LSP / "joints.mat").is_file(), reason=f"needs {LSP}")


def write_lsp_copy(folder: Path, people: int = PEOPLE) -> Path:
    """The first ``people`` of LSP in its layout, head tops of UNLABELLED marked unlabelled."""
    joints = loadmat(str(LSP / "joints.mat"))["joints"][:, :, :people].copy()
    joints[LSP14.index("head top"), 2, list(UNLABELLED)] = 0
    (folder / "images").mkdir(parents=True)
    savemat(folder / "joints.mat", {"joints": joints})
    for number in range(1, people + 1):
        name = f"im{number:05d}.jpg"
        shutil.copyfile(LSP / "images" / name, folder / "images" / name)
    return folder


def eval_args(dataset: Path, checkpoint: Path, *more: str) -> list[str]:
    return ["eval", "--dataset", str(dataset), "--checkpoint", str(checkpoint),
            "--device", "cpu", "--precision", "fp32", *more]
