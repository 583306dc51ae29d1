"""The disk full, or a folder that cannot be written: recordings stop with a message and keep
what they have, snapshots are refused, and the command line says it in one line.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from measures import video_frames
from windows import WAIT_MS, next_reports

from app.cli import main
from app.engine import output
from app.engine.output import JsonLinesWriter, VideoWriter
from app.engine.output_paths import OutputError

pytest_plugins = ["window_fixtures"]  # the window and failures fixtures


def first_recording_failure(qtbot, window, failures, clip, take) -> tuple[str, str]:
    """Plays ``clip``, records to ``take`` and waits for the first failure (kind, message)."""
    window.open_path(str(clip))
    next_reports(qtbot, window)
    window.start_recording(str(take))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    return failures[0]


def test_fault_disk_full_while_recording_stops_it_with_a_message(
        qtbot, window, failures, lspet_clip, tmp_path):
    (tmp_path / "take.jsonl").symlink_to("/dev/full")  # every write: No space left on device
    kind, message = first_recording_failure(qtbot, window, failures, lspet_clip,
                                            tmp_path / "take")
    assert kind == "output" and "No space left on device" in message
    assert "the recording was stopped" in message
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    assert not window.controls.record_action.isChecked()
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
        f"hourglass-pose: {out}: writing failed (No space left on device); nothing was written")


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


# --- a disk filling up: what was written is kept, whole, for infer and the app alike ---------


def disk_filling_after(monkeypatch, folder: Path, checks: int, then: int) -> None:
    """The disk of ``folder`` has room for ``checks`` checks of it, then ``then`` bytes free;
    every other folder's answer is the real one."""
    real = shutil.disk_usage
    answers = iter([10**10] * checks)

    def disk_usage(path):
        if Path(path) != folder:
            return real(path)
        return shutil._ntuple_diskusage(10**11, 10**11 - 1, next(answers, then))

    monkeypatch.setattr(output, "DISK_CHECK_EVERY", 1)
    monkeypatch.setattr(output.shutil, "disk_usage", disk_usage)


def test_fault_disk_filling_up_keeps_the_frames_written_in_both_files(
        monkeypatch, tiny_checkpoint, lspet_clip, tmp_path, capsys):
    keypoints, video = tmp_path / "o.jsonl", tmp_path / "o.mp4"
    disk_filling_after(monkeypatch, tmp_path, checks=4, then=2**20)
    code = main(["infer", "--input", str(lspet_clip), "--json", str(keypoints), "--out",
                 str(video), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"hourglass-pose: {video}: the disk is almost full (1 MB left), so the video ends at "
        f"frame 4; the 4 frames written so far are kept in {keypoints} and {video}")
    records = [json.loads(line) for line in keypoints.read_text().splitlines()]
    assert [record["frame"] for record in records] == [0, 1, 2, 3]
    assert video_frames(video) == 4  # finalised: it plays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl", "o.mp4"]


def test_fault_disk_without_a_second_of_video_refuses_before_writing(
        monkeypatch, tiny_checkpoint, lspet_clip, tmp_path, capsys):
    keypoints, video = tmp_path / "o.jsonl", tmp_path / "o.mp4"
    keypoints.write_text('{"frame": 0, "earlier": "results"}\n')
    disk_filling_after(monkeypatch, tmp_path, checks=0, then=output.ROOM_TO_SPARE)
    code = main(["infer", "--input", str(lspet_clip), "--json", str(keypoints), "--out",
                 str(video), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"hourglass-pose: {video}: the disk has 4 MB free, not enough for "
                           "a second of this video (about ")
    assert last.endswith("; nothing was written")
    assert keypoints.read_text() == '{"frame": 0, "earlier": "results"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl"]


def test_fault_disk_with_little_room_still_records_what_fits(
        monkeypatch, tiny_checkpoint, lspet_clip, tmp_path):
    """Under the 64 MB once asked for before every frame: a short clip fits, so it is made."""
    disk_filling_after(monkeypatch, tmp_path, checks=0, then=20 * 2**20)
    code = main(["infer", "--input", str(lspet_clip), "--json", str(tmp_path / "o.jsonl"),
                 "--out", str(tmp_path / "o.mp4"), "--checkpoint", str(tiny_checkpoint),
                 "--device", "cpu"])
    assert code == 0
    assert video_frames(tmp_path / "o.mp4") == 12


def test_fault_disk_full_mid_line_keeps_the_whole_lines(tmp_path):
    writer = JsonLinesWriter(tmp_path / "o.jsonl")
    writer.write({"frame": 0})
    real = writer._file

    class FullDisk:  # a line half written, then no space
        closed = False

        def write(self, data: str) -> None:
            real.write(data[:5])
            real.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self) -> None:
            self.closed = True
            real.close()

    writer._file = FullDisk()
    with pytest.raises(OutputError, match="No space left on device"):
        writer.write({"frame": 1})
    writer.close()
    assert (tmp_path / "o.jsonl").read_text() == '{"frame": 0}\n'


def test_fault_disk_filling_up_while_recording_in_the_app_keeps_both_files(
        qtbot, window, failures, lspet_clip, tmp_path, monkeypatch):
    takes = tmp_path / "takes"  # the window's settings are in tmp_path
    takes.mkdir()
    disk_filling_after(monkeypatch, takes, checks=3, then=2**20)
    kind, message = first_recording_failure(qtbot, window, failures, lspet_clip, takes / "take")
    assert kind == "output" and "the disk is almost full (1 MB left)" in message
    assert (f"the 3 frames written so far are kept in {takes / 'take.jsonl'} and "
            f"{takes / 'take.mp4'}; the recording was stopped") in message
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    assert len((takes / "take.jsonl").read_text().splitlines()) == 3
    assert video_frames(takes / "take.mp4") == 3
    assert sorted(p.name for p in takes.iterdir()) == ["take.jsonl", "take.mp4"]
