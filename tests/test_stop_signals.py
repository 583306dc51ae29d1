"""SIGTERM (``kill``, ``timeout``) and SIGINT (Ctrl-C) end ``infer`` the same way: the frame in
hand finished, the video finalised, the JSON complete, one line, exit 143 or 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from measures import video_frames

LONG_CLIP_FRAMES = 1500  # far more than a run gets through before the signal


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, lspet_clip) -> Path:
    """The LSPet clip's frames over and over."""
    capture = cv2.VideoCapture(str(lspet_clip))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    height, width = frames[0].shape[:2]
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (width, height))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write mp4v")
    for index in range(LONG_CLIP_FRAMES):
        writer.write(frames[index % len(frames)])
    writer.release()
    return path


def lines_so_far(folder: Path) -> int:
    """Lines in the results being written (under their temporary name, until the end)."""
    for pending in folder.glob(".poses.jsonl.tmp-*"):
        try:
            return pending.read_text().count("\n")
        except OSError:
            return 0
    return 0


@pytest.mark.parametrize("number, code, said", [
    (signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_leaves_a_playable_video_and_whole_json(
        long_clip, tiny_checkpoint, tmp_path, number, code, said):
    poses, video = tmp_path / "poses.jsonl", tmp_path / "poses.mp4"
    poses.write_text("an earlier run's results\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "app", "infer", "--input", str(long_clip), "--json", str(poses),
         "--out", str(video), "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
         "--precision", "fp32"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while lines_so_far(tmp_path) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before the signal"
    run.send_signal(number)
    out, err = run.communicate(timeout=120)
    assert run.returncode == code
    lines = [json.loads(line) for line in poses.read_text().splitlines()]
    assert 3 <= len(lines) < LONG_CLIP_FRAMES
    assert [line["frame"] for line in lines] == list(range(len(lines)))
    assert video_frames(video) == len(lines)
    assert "Traceback" not in err and out == ""
    assert err.splitlines()[-1] == (f"hourglass-pose: {said}: keeping the frames done so far, "
                                    f"{len(lines)} -> {poses} and {video}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses.jsonl", "poses.mp4"]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_app_closes_it_and_saves_the_recording(qtbot, tiny_checkpoint,
                                                               lspet_clip, tmp_path, number):
    from windows import make_window, next_reports

    from app.gui.main import CloseOnSignals

    window = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini")
    stop = CloseOnSignals(window)
    try:
        window.open_path(str(lspet_clip))
        next_reports(qtbot, window)
        window.start_recording(str(tmp_path / "take"))
        qtbot.waitUntil(lambda: window.recording, timeout=30_000)
        next_reports(qtbot, window, 3)
        os.kill(os.getpid(), number)
        qtbot.waitUntil(lambda: window.link.worker_thread.isFinished(), timeout=30_000)
    finally:
        stop.restore()
    assert stop.received == number and not window.isVisible()
    lines = (tmp_path / "take.jsonl").read_text().splitlines()
    assert len(lines) >= 3 and video_frames(tmp_path / "take.mp4") == len(lines)
