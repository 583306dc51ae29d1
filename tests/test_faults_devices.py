"""Devices that are missing or fail during a frame: the model moves to the CPU and says so, or
playback pauses with the reason.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import pytest
import torch
from windows import WAIT_MS, make_window, next_reports

pytest_plugins = ["window_fixtures"]  # the window and failures fixtures


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_fault_cuda_asked_for_without_cuda_runs_on_the_cpu_and_says_so(
        qtbot, tiny_checkpoint, tmp_path):
    seen = []
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini", "cuda",
                      wait_for_model=False)
    win.worker_failed.connect(lambda kind, message: seen.append((kind, message)))
    qtbot.waitUntil(lambda: win.model is not None and bool(seen), timeout=WAIT_MS)
    assert seen == [("device", "CUDA was asked for, but PyTorch sees no such device "
                               "here: running on the CPU")]
    assert win.model.device == "cpu"


def run_through_pytorch(qtbot, window) -> None:
    """Moves the window's model to PyTorch on the CPU (as CUDA runs it), and waits."""
    loads = []
    window.link.worker.model_loaded.connect(loads.append)
    window.link.set_device.emit("cpu-torch")
    qtbot.waitUntil(lambda: bool(loads), timeout=WAIT_MS)
    window.link.worker.model_loaded.disconnect(loads.append)


def playing_predictor_that_raises(qtbot, window, clip, error: Exception):
    """The window playing ``clip``, its predictor from now on raising ``error`` on every run."""
    window.open_path(str(clip))
    next_reports(qtbot, window)
    predictor = window.link.worker._run.pipeline.predictor

    def fail(*args, **kwargs):
        raise error

    predictor._run = fail
    return predictor


def test_fault_cuda_out_of_memory_during_a_frame_falls_back_to_the_cpu(
        qtbot, window, failures, lspet_clip):
    run_through_pytorch(qtbot, window)
    loads = []
    window.link.worker.model_loaded.connect(loads.append)
    # Pretend the running predictor is on a GPU that has just run out of memory.
    predictor = playing_predictor_that_raises(
        qtbot, window, lspet_clip,
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    predictor.device = torch.device("cuda")
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0] == ("device", "CUDA ran out of memory; switching to the CPU")
    qtbot.waitUntil(lambda: bool(loads), timeout=WAIT_MS)
    assert loads[0].device == "cpu"
    next_reports(qtbot, window, 3)  # the video goes on, on the CPU
    assert window.model.device == "cpu" and window.controls.device_box.currentData() == "cpu"
    assert "CPU" in window.status.text()
    assert len(failures) == 1


def test_fault_openvino_failing_in_a_frame_moves_to_pytorch_and_says_so(
        qtbot, window, failures, lspet_clip):
    assert window.link.worker._run.pipeline.predictor.runtime == "openvino"
    loads = []
    window.link.worker.model_loaded.connect(loads.append)
    playing_predictor_that_raises(qtbot, window, lspet_clip, RuntimeError("a kernel failed"))
    # loads is filled in the worker's thread: the window has the model once it is its own.
    qtbot.waitUntil(lambda: bool(failures) and bool(loads) and window.model is loads[0],
                    timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "device" and "RuntimeError: a kernel failed" in message
    assert message.endswith("switching to the CPU through PyTorch")
    assert loads[0].runtime == "torch" and window.controls.device_box.currentData() == "cpu-torch"
    next_reports(qtbot, window, 3)  # the video goes on, through PyTorch
    assert len(failures) == 1


def test_fault_an_unexpected_error_in_a_frame_pauses_with_a_message(
        qtbot, window, failures, lspet_clip):
    run_through_pytorch(qtbot, window)  # the last resort: nothing to move to
    playing_predictor_that_raises(qtbot, window, lspet_clip, RuntimeError("a kernel failed"))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "frame" and "RuntimeError: a kernel failed" in message
    assert "paused" in message
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    window.link.worker._run.pipeline.predictor.__dict__.pop("_run")  # mended: Play goes on
    window.link.set_playing.emit(True)
    next_reports(qtbot, window, 2)


def test_fault_device_changes_during_inference(qtbot, window, failures, lspet_clip, monkeypatch):
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    loads = []
    window.link.worker.model_loaded.connect(loads.append)
    for _ in range(3):  # while frames are being processed
        window.link.set_device.emit("cpu")
        next_reports(qtbot, window)
    qtbot.waitUntil(lambda: len(loads) == 3, timeout=WAIT_MS)
    if not torch.cuda.is_available():
        window.controls.device_box.addItem("CUDA", "cuda")  # as on a machine whose GPU went away
        cuda = window.controls.device_box.count() - 1
        window.controls.device_box.setCurrentIndex(cuda)
        window.controls.device_box.activated.emit(cuda)
        qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
        assert failures[0] == ("device", "CUDA was asked for, but PyTorch sees no CUDA "
                                         "device here")
        assert window.controls.device_box.currentData() == "cpu"  # the box shows where it runs
    reports = next_reports(qtbot, window, 3)
    assert [r.result.frame_index for r in reports] == sorted(r.result.frame_index
                                                             for r in reports)
