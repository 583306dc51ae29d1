"""Closing the window at awkward moments (a model loading, a recording running), and what it
remembers after faults.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from measures import video_frames
from windows import WAIT_MS, make_window, next_reports

import app.engine.models as models_module


@pytest.mark.parametrize("wait_ms", [10_000, 50], ids=["waits", "says-closing"])
def test_fault_closing_during_model_load(qtbot, tiny_checkpoint, tmp_path, monkeypatch,
                                         wait_ms):
    loading = threading.Event()
    real_load = models_module.load_model

    def slow_load(path=None):
        loading.set()
        time.sleep(1.0)
        return real_load(path)

    monkeypatch.setattr(models_module, "load_model", slow_load)
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini", wait_for_model=False)
    win.close_wait_ms = wait_ms
    assert loading.wait(10)
    win.close()
    if wait_ms < 1000:  # the window stays, says why, and closes by itself
        assert win.isVisible() and win.video.message_title() == "Closing…"
    qtbot.waitUntil(lambda: win.link.worker_thread.isFinished() and not win.isVisible(),
                    timeout=WAIT_MS)
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
    assert win.link.worker_thread.isFinished()
    lines = [json.loads(line) for line in (tmp_path / "take.jsonl").read_text().splitlines()]
    assert len(lines) >= 5
    assert video_frames(tmp_path / "take.mp4") == len(lines)


def test_fault_settings_are_kept_after_faults(qtbot, tiny_checkpoint, lspet_clip, tmp_path):
    settings_path = tmp_path / "settings.ini"
    win = make_window(qtbot, tiny_checkpoint, settings_path)
    seen = []
    win.worker_failed.connect(lambda kind, message: seen.append(kind))
    win.controls.flip_action.setChecked(True)
    win.controls.threshold_slider.setValue(45)
    win.controls.stacks_box.setValue(1)
    win.open_path(str(lspet_clip))
    next_reports(qtbot, win)
    win.link.load_model.emit(str(tmp_path / "absent.safetensors"))
    win.open_path(str(tmp_path / "absent.mp4"))
    assert win.save_snapshot(str(tmp_path / "missing" / "snap.png")) is None
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=WAIT_MS)
    win.close()
    again = make_window(qtbot, tiny_checkpoint, settings_path)
    try:
        assert again.controls.flip_action.isChecked()
        assert again.controls.threshold_slider.value() == 45
        assert again.controls.stacks_box.value() == 1
        assert again.settings.value("last_source") == str(tmp_path / "absent.mp4")
    finally:
        again.stop_worker()
