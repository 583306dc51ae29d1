"""One frame in, one pose out: track the person, crop, run the network, decode, smooth.

The person box follows the last confident pose (MediaPipe's region-of-interest tracking): the
first frame, or any frame after the pose was lost, is searched whole (letterboxed).  The
result carries everything a consumer may draw, in frame pixels; heatmaps only when asked,
since copying them out costs time and memory on every frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from app.engine.sources import Frame
from app.model.checkpoint import LoadedModel
from app.model.runner import (
    DeviceError,
    HeatmapPredictor,
    cpu_supports_bf16,
    random_crop,
    remembered_cpu_precision,
    resolve_device,
    time_calls,
)
from app.pose.affine import CropBox, box_from_keypoints, crop_to_frame, frame_box, warp_crop
from app.pose.heatmaps import decode_heatmaps
from app.pose.smoothing import OneEuroFilter

# Tracking: the crop around the last pose is a little roomier than the training crop (1.3x),
# so limbs at its edge can come back into view.
TRACKING_MARGIN = 1.5
# Half the joints must be confident to keep following the person: fewer is more often a
# cut to another scene than a person half out of view.
TRACKING_MIN_JOINT_FRACTION = 0.5
TRACKING_MIN_CONFIDENCE = 0.3
# How far the box may close in: at most to half its side per frame, and never below a fifth
# of the frame's shorter side.  A crop much smaller than the person is a blur to the network,
# whose confident-looking answers on it would shrink the box again, down to a pixel.
TRACKING_MAX_ZOOM_IN = 0.5
TRACKING_MIN_FRAME_FRACTION = 0.2


@dataclass(frozen=True)
class PipelineOptions:
    """What the user controls per frame; changing it takes effect on the next frame."""

    stacks: int | None = None  # None: every stack of the model
    flip: bool = False
    smoothing: bool = True
    keep_heatmaps: bool = False
    tracking: bool = True


@dataclass(frozen=True)
class PoseResult:
    """A finished frame: the pose in frame pixels and how it was obtained."""

    frame_index: int
    timestamp: float
    keypoints: np.ndarray  # (J, 2), smoothed when smoothing is on
    confidences: np.ndarray  # (J,)
    stack_keypoints: np.ndarray  # (K, J, 2): each computed stack's own decoded joints
    box: CropBox
    stacks: int
    heatmaps: np.ndarray | None = None  # (K, J, H, W) when asked for
    timings_ms: dict[str, float] = field(default_factory=dict)


PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def create_predictor(loaded: LoadedModel, device: str = "auto", precision: str = "auto"
                     ) -> HeatmapPredictor:
    """The network on the best device there is (or the one asked for), at its best precision,
    BatchNorm folded into the convolutions (``hourglass-pose bench`` compares the variants).

    ``auto`` precision is fp16 on CUDA; on the CPU, bf16 where oneDNN has native bf16 kernels
    and a quick race shows it faster than fp32 here (CPUs differ; both score the same PCK),
    raced once per machine and remembered.
    """
    chosen = resolve_device(device)
    if precision == "auto":
        precision = "fp16" if chosen.type == "cuda" else remembered_cpu_precision(
            loaded.spec, lambda: fastest_cpu_precision(loaded))
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r} (use {', '.join(PRECISIONS)})")
    return HeatmapPredictor(loaded.network, loaded.spec, chosen, PRECISIONS[precision],
                            fold=True)


def fastest_cpu_precision(loaded: LoadedModel, runs: int = 5) -> str:
    """fp32 or bf16, whichever runs the first stack faster on this CPU (a fraction of a
    second: a few passes of each)."""
    if not cpu_supports_bf16():
        return "fp32"
    crop = random_crop(loaded.spec.input_size)
    medians = {}
    for name in ("fp32", "bf16"):
        predictor = HeatmapPredictor(loaded.network, loaded.spec, torch.device("cpu"),
                                     PRECISIONS[name], fold=True)
        times = time_calls(lambda p=predictor: p(crop, 1), predictor.device, runs, warmup=2)
        medians[name] = float(np.median(times))
    return min(medians, key=medians.get)


class PosePipeline:
    """Turns frames into :class:`PoseResult`; keeps the tracking and smoothing state."""

    def __init__(self, predictor: HeatmapPredictor) -> None:
        self.predictor = predictor
        self.spec = predictor.spec
        self.smoother = OneEuroFilter()
        self._next_box: CropBox | None = None

    def reset(self) -> None:
        """Forget the person: the next frame is searched whole and not smoothed."""
        self._next_box = None
        self.smoother.reset()

    def process(self, frame: Frame, options: PipelineOptions = PipelineOptions()) -> PoseResult:
        started = time.perf_counter()
        height, width = frame.image.shape[:2]
        box = self._next_box if (options.tracking and self._next_box) else frame_box(width, height)
        crop, _ = warp_crop(frame.image, box, self.spec.input_size)
        cropped = time.perf_counter()

        heatmaps = self.predictor(crop[None], options.stacks, options.flip)[:, 0]
        inferred = time.perf_counter()

        points, stack_confidences = decode_heatmaps(heatmaps)  # every stack at once
        stack_points = crop_to_frame(points, box, self.spec.heatmap_size)
        keypoints, confidences = stack_points[-1], stack_confidences[-1]
        decoded = time.perf_counter()

        if options.smoothing:
            keypoints = self.smoother(keypoints, confidences, frame.timestamp)
        else:
            self.smoother.reset()
        self._next_box = self._track(keypoints, confidences, box, min(width, height))
        finished = time.perf_counter()

        return PoseResult(
            frame_index=frame.index,
            timestamp=frame.timestamp,
            keypoints=keypoints,
            confidences=confidences,
            stack_keypoints=stack_points,
            box=box,
            stacks=len(heatmaps),
            heatmaps=heatmaps if options.keep_heatmaps else None,
            timings_ms={
                "crop": 1000 * (cropped - started),
                "model": 1000 * (inferred - cropped),
                "decode": 1000 * (decoded - inferred),
                "smooth": 1000 * (finished - decoded),
            },
        )

    def _track(self, keypoints: np.ndarray, confidences: np.ndarray, box: CropBox,
               frame_short_side: int) -> CropBox | None:
        """Next frame's box from this pose, or None (search the whole frame) if it is weak."""
        confident = confidences >= TRACKING_MIN_CONFIDENCE
        if confident.sum() < TRACKING_MIN_JOINT_FRACTION * len(confident):
            return None
        tracked = box_from_keypoints(keypoints, confident, TRACKING_MARGIN)
        if tracked is None:
            return None
        side = max(tracked.side, box.side * TRACKING_MAX_ZOOM_IN,
                   frame_short_side * TRACKING_MIN_FRAME_FRACTION)
        return replace(tracked, side=side)
