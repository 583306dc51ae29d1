"""Frames where the right answer is known: LSPet people, labelled, placed small in a 640x480
frame, one or several (pytest puts tests/ on the path).  The shipped model runs on them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from app.engine.image_files import read_image
from app.engine.labelled_data import Annotation, load_annotations
from app.engine.pipeline import PosePipeline
from app.model.checkpoint import load_model
from app.model.predictors import create_predictor
from app.pose.metrics import pck_hits, torso_diameters
from app.train.evaluate import paste_into

FRAME_SIZE = (640, 480)
# Held-out photos (never trained on) the shipped model reads well once the person is
# cropped, and not at all when a third of the frame high and the frame letterboxed whole.
JUMPER = "im00375"  # a free-runner leaping off a wall, arms spread
RUNNER = "im00124"  # a runner on a track, upright
GYMNAST = "im00199"  # a gymnast on a mat, one arm raised


@dataclass(frozen=True)
class Person:
    """A labelled person as placed in a frame: joints in frame pixels."""

    joints: np.ndarray
    visible: np.ndarray

    @property
    def centre(self) -> tuple[float, float]:
        low, high = self.joints[self.visible].min(axis=0), self.joints[self.visible].max(axis=0)
        return float((low[0] + high[0]) / 2), float((low[1] + high[1]) / 2)

    def box(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """(x, y, w, h) around the labelled joints, ``margin`` of their extent larger."""
        low, high = self.joints[self.visible].min(axis=0), self.joints[self.visible].max(axis=0)
        grow = margin * (high - low) / 2
        low, high = low - grow, high + grow
        return float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])

    def pck(self, keypoints: np.ndarray) -> float:
        """The share of this person's labelled joints ``keypoints`` hits at PCK@0.2."""
        torso = torso_diameters(self.joints[None], 9, 2)  # left shoulder, right hip
        hits, counted = pck_hits(keypoints[None], self.joints[None], self.visible[None], torso)
        return float(hits.sum() / counted.sum())


def shipped_pipeline() -> PosePipeline:
    """The embedded model at fp32, so that results do not depend on this CPU's bf16."""
    return PosePipeline(create_predictor(load_model(None), "cpu", "fp32"))


def place(frame: np.ndarray, lspet: Path, name: str, centre: tuple[float, float],
          height: float = FRAME_SIZE[1] / 3, room: float = 0.5) -> Person:
    """Paste the photo ``name``, scaled so its person is ``height`` pixels tall (the larger
    side of the joints' box), cut to that box and ``room`` times as much again around it,
    with the person's centre at ``centre``."""
    annotation = annotations(lspet)[name]
    image = read_image(annotation.image_path)
    labelled = annotation.joints[annotation.visible]
    low, high = labelled.min(axis=0), labelled.max(axis=0)
    scale = height / float((high - low).max())
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    joints = (annotation.joints + 0.5) * scale - 0.5
    low, high = (low + 0.5) * scale - 0.5, (high + 0.5) * scale - 0.5
    room = room * (high - low).max()
    x0, y0 = np.maximum(np.floor(low - room), 0).astype(int)
    x1, y1 = np.ceil(high + room).astype(int)
    cut = resized[y0:y1, x0:x1]
    left = round(centre[0] - ((low[0] + high[0]) / 2 - x0))
    top = round(centre[1] - ((low[1] + high[1]) / 2 - y0))
    paste_into(frame, cut, left, top)
    return Person(joints - (x0, y0) + (left, top), annotation.visible.copy())


@cache
def annotations(lspet: Path) -> dict[str, Annotation]:
    return {a.image_path.stem: a for a in load_annotations(lspet)}


def blank_frame(colour: tuple[int, int, int] = (60, 60, 60)) -> np.ndarray:
    width, height = FRAME_SIZE
    return np.full((height, width, 3), colour, np.uint8)
