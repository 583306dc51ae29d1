"""Faults of the media, as the engine and the window meet them: odd and huge images, files
that are no media, a video that ends, a camera lost mid-stream, and a window too slow for the
worker.  Damaged media and cameras on their own are test_sources.py's.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from measures import peak_rss_mb, reset_peak_rss, rss_mb
from windows import WAIT_MS, next_reports

import app.gui.worker as worker_module
from app.cli import main
from app.engine.drawing import draw_pose, overlay_heatmap
from app.engine.open_media import open_source
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.gui.window import DISPLAY_MAX_SIDE
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.affine import crop_matrix, invert_affine
from app.pose.skeleton import LSP14

pytest_plugins = ["window_fixtures"]  # the window and failures fixtures


@pytest.fixture(scope="module")
def huge_image(tmp_path_factory, lspet_image) -> Path:
    """An 8000 x 6000 JPEG of a person (an LSPet photo blown up)."""
    photo = cv2.imread(str(lspet_image))
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    cv2.imwrite(str(path), cv2.resize(photo, (8000, 6000), interpolation=cv2.INTER_LINEAR))
    return path


def odd_layout(kind: str, photo: np.ndarray) -> tuple[str, np.ndarray]:
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    return {
        "grey-jpeg": (".jpg", grey),
        "grey-png": (".png", grey),
        "16bit-png": (".png", photo.astype(np.uint16) * 257),
        "16bit-grey-png": (".png", grey.astype(np.uint16) * 257),
        "4-channel-png": (".png", cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)),
    }[kind]


@pytest.mark.parametrize("kind", ["grey-jpeg", "grey-png", "16bit-png", "16bit-grey-png",
                                  "4-channel-png"])
def test_fault_odd_image_layouts_give_a_pose(kind, lspet_image, tiny_checkpoint, tmp_path):
    photo = cv2.imread(str(lspet_image))
    suffix, pixels = odd_layout(kind, photo)
    path = tmp_path / f"odd{suffix}"
    assert cv2.imwrite(str(path), pixels)
    pipeline = PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu"))
    with open_source(path) as source:
        frame = source.read()
    assert frame.image.dtype == np.uint8 and frame.image.shape == (*photo.shape[:2], 3)
    result = pipeline.process(frame)
    assert result.keypoints.shape == (14, 2) and np.isfinite(result.keypoints).all()


def test_fault_huge_image_runs_in_bounded_time_and_memory(huge_image, tiny_checkpoint):
    pipeline = PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu"))
    options = PipelineOptions(keep_heatmaps=True)
    measured = reset_peak_rss()
    before = rss_mb()
    started = time.monotonic()
    with open_source(huge_image) as source:
        frame = source.read()
        assert frame.image.shape == (6000, 8000, 3)
        result = pipeline.process(frame, options)
        canvas = frame.image.copy()  # as the window draws: frames are read-only
        draw_pose(canvas, result.keypoints, result.confidences, LSP14)
        overlay_heatmap(canvas, result.heatmaps[-1].max(axis=0),
                        invert_affine(crop_matrix(result.box, 16)))
    seconds = time.monotonic() - started
    assert np.isfinite(result.keypoints).all()
    assert seconds < 60
    if measured:  # the frame is 144 MB: decoding, one copy, and bands of overlay on top
        assert peak_rss_mb() - before < 700, f"peak {peak_rss_mb() - before:.0f} MB"


def test_fault_huge_image_in_the_window_is_shown_reduced_and_memory_stays_bounded(
        qtbot, window, huge_image):
    window.heatmaps.select_joint(-1)  # the all-joints overlay, the costliest view
    before = rss_mb()
    window.open_path(str(huge_image))
    levels = []
    for _ in range(12):
        report = next_reports(qtbot, window)[-1]
        levels.append(rss_mb() - before)
    print("\nhuge image in the window, MB over the start, per frame:", [round(v) for v in levels])
    assert report.image.shape == (6000, 8000, 3)  # the model and snapshots see it whole
    assert max(window.video.last_frame().shape[:2]) == DISPLAY_MAX_SIDE
    # Frames of 144 MB held by design: the still itself, the reader's queue of two, the one
    # the worker is on, two reports in flight and the one the window keeps; how fast that
    # level is reached depends on the machine, so only the level is checked here (the
    # back-pressure that bounds it is test_fault_a_window_that_falls_behind_...).
    assert max(levels) < 8 * 144 + 300


def test_fault_a_window_that_falls_behind_holds_the_worker_back(qtbot, tiny_checkpoint,
                                                                  lspet_image):
    """Reports not yet drawn stop the worker at MAX_REPORTS_IN_FLIGHT; each one drawn lets
    exactly one more through (the worker runs on this thread here, so its timer is driven
    by qtbot's waits and nothing else can acknowledge a report)."""
    worker = worker_module.PoseWorker()
    reports: list = []
    worker.frame_ready.connect(reports.append)
    worker.start()
    worker.set_device("cpu")
    worker.load_model(str(tiny_checkpoint))
    worker.open_source(worker_module.SourceRequest(str(lspet_image)))
    try:
        qtbot.waitUntil(lambda: len(reports) >= worker_module.MAX_REPORTS_IN_FLIGHT,
                        timeout=WAIT_MS)
        qtbot.wait(1500)  # fifteen ticks of a still image at 10 frames/s
        assert len(reports) == worker_module.MAX_REPORTS_IN_FLIGHT
        worker.acknowledge_report()
        qtbot.waitUntil(lambda: len(reports) > worker_module.MAX_REPORTS_IN_FLIGHT,
                        timeout=WAIT_MS)
        qtbot.wait(1000)
        assert len(reports) == worker_module.MAX_REPORTS_IN_FLIGHT + 1
    finally:
        worker.shutdown()


def bad_media(kind: str, tmp_path: Path, lspet_image: Path) -> Path:
    if kind == "not-media":
        path = tmp_path / "notes.mp4"
        path.write_text("these are my notes, not a video\n" * 50)
    elif kind == "truncated-jpeg":
        path = tmp_path / "cut.jpg"
        path.write_bytes(lspet_image.read_bytes()[:3000])
    elif kind == "empty-folder":
        path = tmp_path / "empty"
        path.mkdir()
    elif kind == "missing":
        path = tmp_path / "gone.mp4"
    return path


@pytest.mark.parametrize("kind", ["not-media", "truncated-jpeg", "empty-folder", "missing"])
def test_fault_bad_media_is_a_message_in_the_window_and_a_good_file_plays_after(
        qtbot, window, failures, tmp_path, lspet_image, kind):
    path = bad_media(kind, tmp_path, lspet_image)
    window.open_path(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind_, message = failures[0]
    assert kind_ == "source" and path.name in message
    assert window.video.message_visible()
    assert window.video.message_title() == "This source cannot be shown"
    assert window.video.message_actions() == ["Open a file…", "Try the camera"]
    window.open_path(str(lspet_image))
    next_reports(qtbot, window)
    assert not window.video.message_visible()


def test_fault_video_that_ends_pauses_with_a_message(qtbot, window, failures, lspet_clip):
    window.controls.loop_action.setChecked(False)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    window.open_path(str(lspet_clip))
    qtbot.waitUntil(lambda: any("End of the file" in m for m in messages), timeout=WAIT_MS)
    assert not window.playing and failures == []
    assert window.last_report is not None  # the last frame stays on screen
    window.link.set_playing.emit(True)  # Play at the end plays it again
    next_reports(qtbot, window)


class FakeCapture:
    """Stands in for cv2.VideoCapture: a camera that delivers ``frames`` frames, then none."""

    def __init__(self, frames: int) -> None:
        self.frames, self.reads = frames, 0

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        time.sleep(0.01)
        if self.reads > self.frames:
            return False, None
        return True, np.full((240, 320, 3), 90, np.uint8)

    def release(self) -> None:
        pass


def test_camera_lost_mid_stream_is_a_message_and_the_app_goes_on(
        qtbot, window, failures, monkeypatch, lspet_clip):
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda what: FakeCapture(frames=8)
                        if isinstance(what, int) else real_capture(what))
    window.open_camera()
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0] == ("source", "camera 0: the camera stopped delivering frames")
    assert window.last_report is not None  # frames came before the loss
    assert window.video.message_title() == "This source cannot be shown"
    assert "Try the camera" in window.video.message_actions()
    assert not window.playing
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)


def test_fault_not_media_on_the_command_line_is_exactly_one_line(tiny_checkpoint, tmp_path):
    """Not even FFmpeg's own complaint ("moov atom not found") comes before ours."""
    import subprocess
    import sys

    notes = tmp_path / "notes.mp4"
    notes.write_text("these are my notes, not a video\n" * 50)
    done = subprocess.run(
        [sys.executable, "-m", "app", "infer", "--input", str(notes), "--json",
         str(tmp_path / "out.jsonl"), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "hourglass-pose: video notes.mp4: not readable media (OpenCV cannot decode it; is the "
        "file corrupt or truncated?)"]


def test_camera_absent_on_the_command_line_is_one_clear_line(tiny_checkpoint, tmp_path,
                                                             capsys):
    code = main(["infer", "--input", "7", "--json", str(tmp_path / "out.jsonl"),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "hourglass-pose: camera 7: no camera found (is it plugged in, and not in use by "
        "another program?)")
