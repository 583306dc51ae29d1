"""Robustness: every fault a live demo can meet ends in a clear message, the app going on.

Faults already covered elsewhere are not repeated here: damaged media and cameras in
test_sources.py, damaged checkpoints and the code-running pickle in test_checkpoint.py, public
layouts in test_public_layouts.py, and the first window-level faults in test_gui_app.py.  This
file adds what the user sees in the window for the rest, the command line's Ctrl-C, the disk
filling up, a soak of the engine, and property tests that mutate files at random.

Every test name carries "fault", "soak", "corrupt", "camera" or "robust", so
``pytest -k "fault or soak or corrupt or camera or robust"`` selects them all.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from networks import random_network
from PySide6.QtCore import QSettings
from windows import WAIT_MS, next_reports

import app.gui.worker as worker_module
from app.cli import main
from app.engine import output
from app.engine.drawing import draw_pose, overlay_heatmap
from app.engine.output import JsonLinesWriter, OutputError, VideoWriter, pose_record
from app.engine.pipeline import PipelineOptions, PosePipeline, create_predictor
from app.engine.reader import FrameReader
from app.engine.sources import SYNTHETIC_SOURCE, FrameSource, SourceError, open_source
from app.gui.window import DISPLAY_MAX_SIDE, MainWindow
from app.model.checkpoint import CheckpointError, ModelSpec, load_checkpoint, save_checkpoint
from app.model.hourglass import HourglassConfig
from app.paths import default_checkpoint
from app.pose.affine import crop_matrix, invert_affine
from app.pose.heatmaps import decode_heatmaps
from app.pose.skeleton import LSP14, MPII16

# --- helpers -----------------------------------------------------------------------------------


def rss_mb() -> float:
    return _status_field("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_field("VmHWM") / 1024


def reset_peak_rss() -> bool:
    """Restart the kernel's high-water mark of resident memory (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise LookupError(name)


def native_threads(at_most: int | None = None) -> int:
    """Threads of this process.  A thread just joined can linger in the kernel's count for a
    moment, so with ``at_most`` this waits (up to two seconds) for the count to come down."""
    deadline = time.monotonic() + 2.0
    while (count := _status_field("Threads")) > (at_most or count) and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def video_frames(path: Path) -> int:
    """Frames decoded from a video file, by reading them all (not the container's claim)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def make_window(qtbot, checkpoint, settings_path: Path, device: str = "cpu",
                wait_for_model: bool = True) -> MainWindow:
    settings_store = QSettings(str(settings_path), QSettings.IniFormat)
    win = MainWindow(str(checkpoint), device, settings=settings_store)
    qtbot.addWidget(win)
    win.show()
    if wait_for_model:
        qtbot.waitUntil(lambda: win.model is not None, timeout=WAIT_MS)
    return win


@pytest.fixture
def window(qtbot, tiny_checkpoint, tmp_path):
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini")
    yield win
    win.stop_worker()


@pytest.fixture
def failures(window) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    window.worker_failed.connect(lambda kind, message: seen.append((kind, message)))
    return seen




def save_tiny(path: Path, skeleton=LSP14, seed: int = 0) -> Path:
    config = HourglassConfig(stacks=2, channels=16, depth=2, joints=skeleton.num_joints,
                             stem_channels=8)
    save_checkpoint(path, random_network(config, seed), ModelSpec(config, skeleton, input_size=64))
    return path


@pytest.fixture(scope="module")
def huge_image(tmp_path_factory, lspet_image) -> Path:
    """An 8000 x 6000 JPEG of a person (an LSPet photo blown up)."""
    photo = cv2.imread(str(lspet_image))
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    cv2.imwrite(str(path), cv2.resize(photo, (8000, 6000), interpolation=cv2.INTER_LINEAR))
    return path


# --- media: odd and huge images through the engine --------------------------------------------


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
        draw_pose(frame.image, result.keypoints, result.confidences, LSP14)
        overlay_heatmap(frame.image, result.heatmaps[-1].max(axis=0),
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
    worker = worker_module.PoseWorker(str(tiny_checkpoint), "cpu")
    reports: list = []
    worker.frame_ready.connect(reports.append)
    worker.start()
    worker.open_source(worker_module.SourceRequest(str(lspet_image)))
    try:
        qtbot.waitUntil(lambda: len(reports) >= worker_module.MAX_REPORTS_IN_FLIGHT,
                        timeout=WAIT_MS)
        qtbot.wait(1500)  # fifteen ticks of a still image at 10 frames/s
        assert len(reports) == worker_module.MAX_REPORTS_IN_FLIGHT
        worker.report_shown()
        qtbot.waitUntil(lambda: len(reports) > worker_module.MAX_REPORTS_IN_FLIGHT,
                        timeout=WAIT_MS)
        qtbot.wait(1000)
        assert len(reports) == worker_module.MAX_REPORTS_IN_FLIGHT + 1
    finally:
        worker.shutdown()


# --- media: what the window says --------------------------------------------------------------


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
    window.loop_action.setChecked(False)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    window.open_path(str(lspet_clip))
    qtbot.waitUntil(lambda: any("End of the file" in m for m in messages), timeout=WAIT_MS)
    assert not window.playing and failures == []
    assert window.last_report is not None  # the last frame stays on screen
    window.request_playing.emit(True)  # Play at the end plays it again
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


# --- checkpoints in the window ---------------------------------------------------------------


def test_corrupt_checkpoint_at_start_says_no_model_is_loaded(qtbot, tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    win = make_window(qtbot, corrupt, tmp_path / "settings.ini", wait_for_model=False)
    try:
        qtbot.waitUntil(lambda: win.video.message_visible(), timeout=WAIT_MS)
        assert win.video.message_title() == "No model is loaded"
        actions = win.video.message_actions()
        assert actions[0] == "Open a checkpoint…"
        assert ("Use the built-in model" in actions) == (default_checkpoint() is not None)
        assert win.model is None and win.status.text() == "No model loaded"
    finally:
        win.stop_worker()


@pytest.mark.parametrize("kind", ["random-bytes", "truncated", "other-architecture"])
def test_corrupt_checkpoint_while_running_keeps_the_running_model(
        qtbot, window, failures, tmp_path, tiny_checkpoint, lspet_clip, kind):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(10_000))
    elif kind == "truncated":
        path.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    else:  # a valid safetensors file of some other network
        save_file({"encoder.weight": torch.zeros(8, 4), "decoder.bias": torch.ones(3)}, str(path))
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    before = window.model
    window.request_model.emit(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0][0] == "model" and str(path) in failures[0][1]
    assert window.model is before
    assert not window.video.message_visible()  # a warning box, the video goes on behind it
    next_reports(qtbot, window, 2)


def test_fault_checkpoint_with_other_joints_loads_and_draws_its_own(
        qtbot, window, failures, tmp_path, lspet_clip):
    mpii = save_tiny(tmp_path / "mpii.safetensors", MPII16)
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    window.request_model.emit(str(mpii))
    qtbot.waitUntil(lambda: window.model.spec.skeleton == MPII16, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.last_report.result.keypoints.shape == (16, 2),
                    timeout=WAIT_MS)
    report = next_reports(qtbot, window)[-1]
    assert window.heatmaps.tile(15) is not None  # one tile per MPII joint
    assert report.result.heatmaps.shape[-3] == 16
    window.heatmaps.select_joint(9)  # head top: overlay and refinement for an MPII joint
    qtbot.waitUntil(lambda: window.refinement.stack_count() == 2, timeout=WAIT_MS)
    assert window.composed(report).shape == report.image.shape
    assert failures == []


def test_fault_checkpoint_with_other_joints_on_the_command_line(tmp_path, lspet_image):
    mpii = save_tiny(tmp_path / "mpii.safetensors", MPII16)
    out = tmp_path / "poses.jsonl"
    assert main(["infer", "--input", str(lspet_image), "--json", str(out),
                 "--checkpoint", str(mpii), "--device", "cpu"]) == 0
    record = json.loads(out.read_text().splitlines()[0])
    assert [k["name"] for k in record["keypoints"]] == list(MPII16.joint_names)


def test_fault_public_layout_with_missing_keys_names_them_in_the_window(
        qtbot, window, failures, tmp_path):
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    checkpoint = princeton_checkpoint(randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16,
                                                         stem=8)))
    del checkpoint["state_dict"]["model.module.outs.0.conv.weight"]
    path = tmp_path / "princeton.pth.tar"
    torch.save(checkpoint, path)
    window.request_model.emit(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "model" and str(path) in message
    assert "missing" in message and "outs.0.conv.weight" in message
    assert window.model.source.name == "tiny.safetensors"  # still running the old model


# --- devices ---------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_fault_cuda_asked_for_without_cuda_runs_on_the_cpu_and_says_so(
        qtbot, tiny_checkpoint, tmp_path):
    seen = []
    settings_store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(str(tiny_checkpoint), "cuda", settings=settings_store)
    win.worker_failed.connect(lambda kind, message: seen.append((kind, message)))
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.model is not None and bool(seen), timeout=WAIT_MS)
        assert seen == [("device", "CUDA was asked for, but PyTorch sees no such device "
                                   "here: running on the CPU")]
        assert win.model.device == "cpu"
    finally:
        win.stop_worker()


def test_fault_cuda_out_of_memory_during_a_frame_falls_back_to_the_cpu(
        qtbot, window, failures, lspet_clip):
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    predictor = window.worker._pipeline.predictor

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    loads = []
    window.worker.model_loaded.connect(loads.append)
    # Pretend the running predictor is on a GPU that has just run out of memory.
    predictor._run = out_of_memory
    predictor.device = torch.device("cuda")
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0] == ("device", "CUDA ran out of memory; switching to the CPU")
    qtbot.waitUntil(lambda: bool(loads), timeout=WAIT_MS)
    assert loads[0].device == "cpu"
    next_reports(qtbot, window, 3)  # the video goes on, on the CPU
    assert window.model.device == "cpu" and window.device_box.currentData() == "cpu"
    assert "CPU" in window.status.text()
    assert len(failures) == 1


def test_fault_an_unexpected_error_in_a_frame_pauses_with_a_message(
        qtbot, window, failures, lspet_clip):
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    predictor = window.worker._pipeline.predictor

    def broken(*args, **kwargs):
        raise RuntimeError("a kernel failed")

    predictor._run = broken
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "frame" and "RuntimeError: a kernel failed" in message
    assert "paused" in message
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    window.worker._pipeline.predictor.__dict__.pop("_run")  # mended: Play goes on
    window.request_playing.emit(True)
    next_reports(qtbot, window, 2)


def test_fault_device_changes_during_inference(qtbot, window, failures, lspet_clip, monkeypatch):
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    loads = []
    window.worker.model_loaded.connect(loads.append)
    for _ in range(3):  # while frames are being processed
        window.request_device.emit("cpu")
        next_reports(qtbot, window)
    qtbot.waitUntil(lambda: len(loads) == 3, timeout=WAIT_MS)
    if not torch.cuda.is_available():
        window.device_box.addItem("CUDA", "cuda")  # as on a machine whose GPU went away
        window.device_box.setCurrentIndex(1)
        window.device_box.activated.emit(1)
        qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
        assert failures[0] == ("device", "CUDA was asked for, but PyTorch sees no CUDA "
                                         "device here")
        assert window.device_box.currentData() == "cpu"  # the box shows where it runs
    reports = next_reports(qtbot, window, 3)
    assert [r.result.frame_index for r in reports] == sorted(r.result.frame_index
                                                             for r in reports)


# --- closing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wait_ms", [10_000, 50], ids=["waits", "says-closing"])
def test_fault_closing_during_model_load(qtbot, tiny_checkpoint, tmp_path, monkeypatch,
                                         wait_ms):
    loading = threading.Event()
    real_load = worker_module.load_model

    def slow_load(path=None):
        loading.set()
        time.sleep(1.0)
        return real_load(path)

    monkeypatch.setattr(worker_module, "load_model", slow_load)
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini", wait_for_model=False)
    win.close_wait_ms = wait_ms
    assert loading.wait(10)
    win.close()
    if wait_ms < 1000:  # the window stays, says why, and closes by itself
        assert win.isVisible() and win.video.message_title() == "Closing…"
    qtbot.waitUntil(lambda: win.thread_.isFinished() and not win.isVisible(), timeout=WAIT_MS)
    assert win.settings.value("device") == "cpu"


def test_fault_closing_during_recording_leaves_playable_files(qtbot, tiny_checkpoint,
                                                              lspet_clip, tmp_path):
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini")
    win.open_path(str(lspet_clip))
    next_reports(qtbot, win)
    base = tmp_path / "take"
    win.start_recording(str(base))
    qtbot.waitUntil(lambda: win.recording, timeout=WAIT_MS)
    next_reports(qtbot, win, 5)
    win.close()  # while recording and playing
    assert win.thread_.isFinished()
    lines = [json.loads(line) for line in (tmp_path / "take.jsonl").read_text().splitlines()]
    assert len(lines) >= 5
    assert video_frames(tmp_path / "take.mp4") == len(lines)


# --- the disk: full, or not writable ---------------------------------------------------------


def test_fault_disk_full_while_recording_stops_it_with_a_message(
        qtbot, window, failures, lspet_clip, tmp_path):
    (tmp_path / "take.jsonl").symlink_to("/dev/full")  # every write: No space left on device
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    window.start_recording(str(tmp_path / "take"))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "output" and "No space left on device" in message
    assert "the recording was stopped" in message
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    assert not window.record_action.isChecked()
    next_reports(qtbot, window, 2)  # the app goes on
    assert not (tmp_path / "take.mp4").exists()  # no video frame without its keypoints


def test_fault_disk_full_on_the_command_line_is_one_clear_line(tiny_checkpoint, lspet_clip,
                                                               tmp_path, capsys):
    out = tmp_path / "poses.jsonl"
    out.symlink_to("/dev/full")
    code = main(["infer", "--input", str(lspet_clip), "--json", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"hourglass-pose: {out}: writing failed (No space left on device)")


def test_fault_disk_filling_up_ends_the_video_playable(monkeypatch, tmp_path):
    free = iter([10**10, 10**10, 10**10, 10**6])  # plenty, then one megabyte

    class Usage:
        def __init__(self) -> None:
            self.free = next(free)

    monkeypatch.setattr(output, "DISK_CHECK_EVERY", 1)
    monkeypatch.setattr(output.shutil, "disk_usage", lambda path: Usage())
    video = VideoWriter(tmp_path / "take.mp4", 10.0)
    frame = np.full((48, 64, 3), 120, np.uint8)
    for _ in range(3):
        video.write(frame)
    with pytest.raises(OutputError, match="the disk is almost full"):
        video.write(frame)
    video.close()
    assert video_frames(tmp_path / "take.mp4") == 3


def test_fault_recording_into_an_unusable_folder_is_a_message(qtbot, window, failures,
                                                              lspet_image, tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    window.open_path(str(lspet_image))
    next_reports(qtbot, window)
    window.start_recording(str(not_a_folder / "take"))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0][0] == "output" and "file.txt" in failures[0][1]
    assert not window.recording
    next_reports(qtbot, window)


@pytest.mark.parametrize("where", ["full-disk", "not-a-folder"])
def test_fault_snapshot_on_a_full_disk_or_bad_folder_is_a_message(
        qtbot, window, failures, lspet_image, tmp_path, where):
    if where == "full-disk":
        target = tmp_path / "snap.png"
        target.symlink_to("/dev/full")
        reason = "No space left on device"
    else:
        (tmp_path / "file.txt").write_text("x")
        target = tmp_path / "file.txt" / "snap.png"
        reason = "Not a directory"
    window.open_path(str(lspet_image))
    next_reports(qtbot, window)
    assert window.save_snapshot(str(target)) is None
    assert failures[0][0] == "output" and reason in failures[0][1]
    assert window.save_snapshot(str(tmp_path / "good.png")) is not None  # the app goes on
    next_reports(qtbot, window)


def test_fault_settings_are_kept_after_faults(qtbot, tiny_checkpoint, lspet_clip, tmp_path):
    settings_path = tmp_path / "settings.ini"
    win = make_window(qtbot, tiny_checkpoint, settings_path)
    seen = []
    win.worker_failed.connect(lambda kind, message: seen.append(kind))
    win.flip_action.setChecked(True)
    win.threshold_slider.setValue(45)
    win.stacks_box.setValue(1)
    win.open_path(str(lspet_clip))
    next_reports(qtbot, win)
    win.request_model.emit(str(tmp_path / "absent.safetensors"))
    win.open_path(str(tmp_path / "absent.mp4"))
    assert win.save_snapshot(str(tmp_path / "missing" / "snap.png")) is None
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=WAIT_MS)
    win.close()
    again = make_window(qtbot, tiny_checkpoint, settings_path)
    try:
        assert again.flip_action.isChecked()
        assert again.threshold_slider.value() == 45
        assert again.stacks_box.value() == 1
        assert again.settings.value("last_source") == str(tmp_path / "absent.mp4")
    finally:
        again.stop_worker()


# --- Ctrl-C on the command line --------------------------------------------------------------


class InterruptedSource(FrameSource):
    """Wraps a source; raises KeyboardInterrupt (Ctrl-C) when asked for frame ``after``."""

    def __init__(self, inner: FrameSource, after: int) -> None:
        super().__init__(inner.description)
        self.inner, self.after, self.fps = inner, after, inner.fps
        self.frame_count = inner.frame_count
        self._prime("cannot read")

    def _grab(self):
        if self._index == self.after:
            raise KeyboardInterrupt
        frame = self.inner.read()
        return None if frame is None else (frame.image, frame.timestamp)

    def _release(self) -> None:
        self.inner.close()


def test_fault_ctrl_c_on_infer_keeps_the_frames_done(tiny_checkpoint, lspet_clip, tmp_path,
                                                     monkeypatch, capsys):
    import app.engine.sources as sources

    real_open = sources.open_source
    monkeypatch.setattr(sources, "open_source",
                        lambda *args, **kwargs: InterruptedSource(real_open(*args, **kwargs), 4))
    out, video = tmp_path / "poses.jsonl", tmp_path / "poses.mp4"
    code = main(["infer", "--input", str(lspet_clip), "--json", str(out), "--out", str(video),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 130
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3]
    assert video_frames(video) == 4
    captured = capsys.readouterr()
    assert "interrupted: keeping the frames done so far" in captured.out + captured.err


def test_fault_ctrl_c_while_loading_is_one_line_not_a_traceback(monkeypatch, tmp_path, capsys):
    import app.model.checkpoint as checkpoint

    def interrupted(path=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "load_model", interrupted)
    code = main(["infer", "--input", "x.mp4", "--json", str(tmp_path / "out.jsonl")])
    assert code == 130
    assert capsys.readouterr().err.strip() == "hourglass-pose: interrupted"


def test_fault_ctrl_c_on_train_saves_a_resumable_run(lspet_subset, tmp_path, monkeypatch,
                                                     capsys):
    from app.train.trainer import Trainer

    real_step = Trainer.train_step

    def step_then_interrupt(self, batch=None):
        if self.step == 2:
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", step_then_interrupt)
    run = tmp_path / "run"
    args = ["train", "--data", str(lspet_subset), "--run", str(run), "--stacks", "1",
            "--channels", "16", "--depth", "2", "--input-size", "64", "--batch-size", "2",
            "--held-out", "4", "--eval-every", "100", "--save-every", "100",
            "--max-steps", "5", "--init", str(tmp_path / "none.safetensors")]
    assert main(args) == 130
    captured = capsys.readouterr()
    assert "interrupted: saving" in captured.out + captured.err
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2
    monkeypatch.setattr(Trainer, "train_step", real_step)
    args[args.index("--max-steps") + 1] = "1"
    assert main(args) == 0
    assert "resumed" in capsys.readouterr().out
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 3


# --- soak --------------------------------------------------------------------------------------


def test_soak_engine_1000_frames_keeps_memory_threads_and_files_flat(tiny_checkpoint,
                                                                     tmp_path):
    """1,000 frames of the app's own drawn video through reader, pipeline, drawing, overlay
    and JSON lines, with the options changing as a user would change them."""
    loaded = load_checkpoint(tiny_checkpoint)
    pipeline = PosePipeline(create_predictor(loaded, "cpu"))
    skeleton = loaded.spec.skeleton
    options = [PipelineOptions(keep_heatmaps=True), PipelineOptions(stacks=1),
               PipelineOptions(flip=True, keep_heatmaps=True), PipelineOptions(smoothing=False)]
    frames, warmup = 1000, 100
    writer = JsonLinesWriter(tmp_path / "soak.jsonl")
    with FrameReader(open_source(SYNTHETIC_SOURCE)) as reader:
        for index in range(frames):
            frame = reader.next(timeout=10)
            result = pipeline.process(frame, options[(index // 50) % len(options)])
            draw_pose(frame.image, result.keypoints, result.confidences, skeleton)
            if result.heatmaps is not None:
                overlay_heatmap(frame.image, result.heatmaps[-1, 3],
                                invert_affine(crop_matrix(result.box, 16)))
            writer.write(pose_record(result, skeleton))
            if index == warmup - 1:
                start = (rss_mb(), native_threads(), threading.active_count(), open_files())
        end = (rss_mb(), native_threads(start[1]), threading.active_count(), open_files())
    writer.close()
    assert len((tmp_path / "soak.jsonl").read_text().splitlines()) == frames
    growth = end[0] - start[0]
    print(f"\nsoak {frames} frames: RSS {start[0]:.1f} -> {end[0]:.1f} MB ({growth:+.1f}), "
          f"threads {start[1]} -> {end[1]} (Python {start[2]} -> {end[2]}), "
          f"open files {start[3]} -> {end[3]}")
    assert growth < 50, f"resident memory grew {growth:.1f} MB over {frames - warmup} frames"
    # No growth (other tests' threads may still be winding down, so fewer is fine).
    assert all(e <= s for e, s in zip(end[1:], start[1:], strict=True)), (start, end)


def test_soak_opening_and_closing_sources_leaks_no_threads_or_files(lspet_clip, lspet_image,
                                                                    lspet_folder):
    """A user switching media all evening: every source and its reader thread goes away."""
    def cycle() -> None:
        for media in (lspet_clip, lspet_image, lspet_folder, SYNTHETIC_SOURCE):
            with FrameReader(open_source(media, loop=True)) as reader:
                for _ in range(3):
                    assert reader.next(timeout=10) is not None

    cycle()  # warm-up: codecs and libraries load once
    before = (native_threads(), threading.active_count(), open_files(), rss_mb())
    for _ in range(25):
        cycle()
    after = (native_threads(before[0]), threading.active_count(), open_files(), rss_mb())
    assert all(a <= b for a, b in zip(after[:3], before[:3], strict=True)), (before, after)
    assert after[3] - before[3] < 50


# --- property tests: mutated files and hostile heatmaps ----------------------------------------


def mutate(data: bytes, draw) -> bytes:
    """Flip, overwrite, cut or insert bytes anywhere in ``data``."""
    damaged = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["set", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(damaged) - 1)))
        if operation == "set" and damaged:
            damaged[position] = draw(st.integers(0, 255))
        elif operation == "truncate":
            del damaged[position:]
        elif operation == "insert":
            damaged[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del damaged[position:position + draw(st.integers(1, 64))]
    return bytes(damaged)


@pytest.fixture(scope="module")
def pickled_public_checkpoint(tmp_path_factory) -> Path:
    """A princeton-vl layout checkpoint, as torch.save writes it (a zip holding a pickle)."""
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    path = tmp_path_factory.mktemp("public") / "princeton.pth.tar"
    net = randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16, stem=8))
    torch.save(princeton_checkpoint(net), path)
    return path


def test_corrupt_empty_pickled_checkpoint_is_a_checkpoint_error(tmp_path):
    """Found by the mutation test below: an empty file's EOFError has no message."""
    path = tmp_path / "empty.pth.tar"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"\(EOFError\)"):
        load_checkpoint(path)


def load_or_checkpoint_error(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            loaded = load_checkpoint(path)
        except CheckpointError:
            return
        # A harmless change (inside a tensor's values, say) may load, and then fully.
        assert loaded.network is not None and loaded.spec.skeleton.num_joints > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupt_safetensors_mutated_anywhere_raise_only_checkpoint_error(tiny_checkpoint,
                                                                          data):
    load_or_checkpoint_error(mutate(tiny_checkpoint.read_bytes(), data.draw),
                             "mutated.safetensors")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupt_pickled_checkpoints_mutated_anywhere_raise_only_checkpoint_error(
        pickled_public_checkpoint, data):
    load_or_checkpoint_error(mutate(pickled_public_checkpoint.read_bytes(), data.draw),
                             "mutated.pth.tar")


@pytest.fixture(scope="module")
def encoded_images(lspet_image) -> dict[str, bytes]:
    photo = cv2.resize(cv2.imread(str(lspet_image)), (96, 72))
    return {suffix: cv2.imencode(suffix, photo)[1].tobytes() for suffix in (".jpg", ".png")}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), suffix=st.sampled_from([".jpg", ".png"]))
def test_corrupt_images_mutated_anywhere_open_or_raise_only_source_error(encoded_images, data,
                                                                         suffix):
    damaged = mutate(encoded_images[suffix], data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mutated{suffix}"
        path.write_bytes(damaged)
        try:
            with open_source(path) as source:
                frame = source.read()
        except SourceError:
            return
    assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
    assert frame.image.shape[2] == 3 and frame.image.flags.c_contiguous


# No subnormals: training turns on flush-to-zero for the process, and hypothesis then refuses.
hostile_floats = st.floats(allow_nan=True, allow_infinity=True, width=32, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(maps=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 9),
                                             st.integers(1, 9)), elements=hostile_floats))
def test_robust_heatmap_decoding_of_any_values_stays_on_the_map(maps):
    """NaN, infinities, flat and negative maps (a diverged or fp16-overflowed network) still
    decode to a point on each map, without an exception."""
    with np.errstate(all="ignore"):
        points, confidences = decode_heatmaps(maps)
    height, width = maps.shape[-2:]
    assert points.shape == (len(maps), 2) and confidences.shape == (len(maps),)
    assert np.isfinite(points).all()
    assert (points[:, 0] >= -1).all() and (points[:, 0] <= width).all()
    assert (points[:, 1] >= -1).all() and (points[:, 1] <= height).all()


@settings(max_examples=60, deadline=None)
@given(heatmaps=hnp.arrays(np.float32, (14, 8, 8), elements=hostile_floats),
       confidences=hnp.arrays(np.float32, 14, elements=hostile_floats))
def test_robust_drawing_of_a_pose_with_any_values(heatmaps, confidences):
    """What a broken checkpoint computes is drawn (or not) without an exception."""
    image = np.zeros((60, 80, 3), np.uint8)
    with np.errstate(all="ignore"):
        points, _ = decode_heatmaps(heatmaps)
        draw_pose(image, points * 5, confidences, LSP14, threshold=0.0)
        overlay_heatmap(image, heatmaps.max(axis=0), np.array([[5.0, 0, 0], [0, 5.0, 0]]))
