"""The frame pipeline: crop, network, decode and track, on real LSPet media."""

from __future__ import annotations

import itertools
import json
import time

import cv2
import numpy as np
import pytest

from app.engine.open_media import open_source
from app.engine.output import JsonLinesWriter, OutputError, VideoWriter, pose_record
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.reader import FrameReader
from app.engine.sources import Frame, FrameSource, SourceError
from app.model.architecture import HourglassConfig
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.model.spec import ModelSpec
from app.pose.affine import apply_affine, crop_matrix, frame_box
from app.pose.heatmaps import gaussian_heatmaps
from app.pose.skeleton import LSP14


@pytest.fixture(scope="module")
def pipeline(tiny_checkpoint) -> PosePipeline:
    return PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu"))


def test_every_frame_of_a_clip_gives_a_pose_in_frame_pixels(pipeline, lspet_clip):
    with open_source(lspet_clip) as source:
        results = [pipeline.process(frame) for frame in source]
    assert len(results) == 12
    for result in results:
        assert result.keypoints.shape == (14, 2)
        assert np.isfinite(result.keypoints).all()
        assert result.stack_keypoints.shape == (2, 14, 2)
        assert result.stacks == 2
        assert result.heatmaps is None  # only when asked for
        assert set(result.timings_ms) == {"crop", "model", "decode", "smooth"}


def test_heatmaps_are_kept_only_when_asked_and_early_exit_runs_fewer_stacks(
        pipeline, lspet_image):
    with open_source(lspet_image) as source:
        frame = source.read()
    pipeline.reset()
    result = pipeline.process(frame, PipelineOptions(stacks=1, keep_heatmaps=True))
    assert result.stacks == 1
    assert result.heatmaps.shape == (1, 14, 16, 16)
    assert result.stack_keypoints.shape == (1, 14, 2)


class PeakPredictor:
    """Stands in for the network: heatmaps with a peak at fixed crop positions.

    This isolates the pipeline's geometry (crop, decode, back to the frame) and its tracking.
    """

    def __init__(self, peaks_in_heatmap: np.ndarray, confidence: float = 0.9) -> None:
        config = HourglassConfig(stacks=2, channels=16, depth=2)
        self.spec = ModelSpec(config, LSP14, input_size=64)
        self.peaks = peaks_in_heatmap
        self.confidence = confidence

    def __call__(self, crops, stacks=None, flip=False):
        maps = gaussian_heatmaps(self.peaks, 16, 2.0) * self.confidence
        return np.stack([np.stack([maps] * len(crops))] * (stacks or 2)).astype(np.float32)


def frame_of(image: np.ndarray, index: int = 0) -> Frame:
    return Frame(image, index, index / 10)


def test_decoded_joints_land_where_the_heatmap_peaks_map_in_the_frame():
    rng = np.random.default_rng(3)
    peaks = rng.uniform(3, 12, size=(14, 2))
    pipeline = PosePipeline(PeakPredictor(peaks))
    image = np.zeros((240, 320, 3), np.uint8)
    result = pipeline.process(frame_of(image), PipelineOptions(smoothing=False, tracking=False))
    box = frame_box(320, 240)
    expected = apply_affine(np.linalg.inv(np.vstack([crop_matrix(box, 16), [0, 0, 1]]))[:2],
                            peaks)
    np.testing.assert_allclose(result.keypoints, expected, atol=0.1 * box.side / 16)
    assert result.box == box


def test_tracking_follows_a_confident_pose_and_falls_back_to_the_whole_frame():
    peaks = np.array([[4 + i % 7, 4 + i // 2] for i in range(14)], dtype=float)
    predictor = PeakPredictor(peaks)
    pipeline = PosePipeline(predictor)
    image = np.zeros((240, 320, 3), np.uint8)
    first = pipeline.process(frame_of(image, 0))
    second = pipeline.process(frame_of(image, 1))
    assert first.searched and first.found and first.box.side < frame_box(320, 240).side
    assert not second.searched and second.crops == 1
    predictor.confidence = 0.05  # the person is lost: searched in that very frame, in vain
    lost = pipeline.process(frame_of(image, 2))
    assert lost.searched and not lost.found and lost.box == frame_box(320, 240)
    assert pipeline.process(frame_of(image, 3)).box == frame_box(320, 240)


def test_tracking_never_collapses_onto_a_speck():
    """A confident pose squeezed into one heatmap pixel (as a blurred crop can give) closes
    the box in by at most half a frame, down to a fifth of the frame's shorter side."""
    pipeline = PosePipeline(PeakPredictor(np.full((14, 2), 8.0) + np.arange(14)[:, None] % 2))
    image = np.zeros((240, 320, 3), np.uint8)
    sides = [pipeline.process(frame_of(image, index)).box.side for index in range(12)]
    assert all(later >= 0.5 * earlier - 1e-9 for earlier, later in itertools.pairwise(sides))
    assert sides[-1] == pytest.approx(0.2 * 240)


def test_reset_forgets_the_tracked_person():
    pipeline = PosePipeline(PeakPredictor(np.full((14, 2), 8.0) + np.arange(14)[:, None] % 3))
    image = np.zeros((100, 100, 3), np.uint8)
    first = pipeline.process(frame_of(image, 0))
    pipeline.process(frame_of(image, 1))
    pipeline.reset()
    again = pipeline.process(frame_of(image, 2))
    assert again.searched and again.box == first.box


def test_reader_hands_out_every_frame_of_a_file_in_order(lspet_clip):
    with FrameReader(open_source(lspet_clip)) as reader:
        indices = []
        while (frame := reader.next(timeout=5)) is not None:
            indices.append(frame.index)
    assert indices == list(range(12))
    assert reader.dropped == 0


class FastCamera(FrameSource):
    """A live source faster than its consumer: frames must be dropped, never queued."""

    is_live = True

    def __init__(self, frames: int, fail_after: int | None = None) -> None:
        super().__init__("camera fake")
        self.frames, self.fail_after, self.count = frames, fail_after, 0

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if self.fail_after is not None and self.count >= self.fail_after:
            raise SourceError("camera fake: the camera stopped delivering frames")
        if self.count >= self.frames:
            return None
        self.count += 1
        time.sleep(0.002)
        return np.zeros((4, 4, 3), np.uint8), self.count / 500


def test_camera_reader_keeps_only_the_latest_frame_when_the_consumer_is_slow():
    with FrameReader(FastCamera(200)) as reader:
        seen = []
        while (frame := reader.next(timeout=5)) is not None:
            seen.append(frame.index)
            time.sleep(0.02)
    assert reader.dropped > 0
    assert seen == sorted(seen) and len(seen) < 200


def test_camera_lost_mid_stream_reaches_the_consumer_as_a_source_error():
    with (FrameReader(FastCamera(100, fail_after=5)) as reader,
          pytest.raises(SourceError, match="stopped delivering")):
        while reader.next(timeout=5) is not None:
            pass


def test_keypoint_records_and_annotated_video_are_written(pipeline, lspet_clip, tmp_path):
    writer = JsonLinesWriter(tmp_path / "poses.jsonl")
    video = VideoWriter(tmp_path / "poses.mp4", 10.0)
    with open_source(lspet_clip) as source:
        for frame in source:
            result = pipeline.process(frame)
            writer.write(pose_record(result, LSP14))
            video.write(frame.image)
    writer.close()
    video.close()
    lines = (tmp_path / "poses.jsonl").read_text().splitlines()
    record = json.loads(lines[3])
    assert len(lines) == 12 and record["frame"] == 3
    assert [k["name"] for k in record["keypoints"]] == list(LSP14.joint_names)
    assert set(record["keypoints"][0]) == {"name", "x", "y", "confidence"}
    capture = cv2.VideoCapture(str(tmp_path / "poses.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    capture.release()


def test_writing_into_a_missing_folder_is_a_clear_output_fault(tmp_path):
    with pytest.raises(OutputError, match="missing"):
        JsonLinesWriter(tmp_path / "missing" / "poses.jsonl")
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "poses.mp4", 10.0)
