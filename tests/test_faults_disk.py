"""The disk full, or a folder that cannot be written: recordings stop with a message and keep
what they have, snapshots are refused, and the command line says it in one line.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import numpy as np
import pytest
from measures import video_frames
from windows import WAIT_MS, next_reports

from app.cli import main
from app.engine import output
from app.engine.output import OutputError, VideoWriter

pytest_plugins = ["window_fixtures"]  # the window and failures fixtures


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
