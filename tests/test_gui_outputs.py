"""The window's snapshot and recording follow the rules of every output: never over the
source, never a file the user had changed until the new one is whole."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest
from measures import video_frames
from windows import WAIT_MS, next_reports

pytest_plugins = ["window_fixtures"]


@pytest.fixture
def window(window):
    """window_fixtures' window (pytest passes it in by the same name), keeping its failures."""
    window.failures = []
    window.worker_failed.connect(lambda kind, message: window.failures.append((kind, message)))
    return window


def test_a_snapshot_over_the_photo_being_shown_is_refused(qtbot, window, lspet_image, tmp_path):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.imread(str(lspet_image)))
    before = photo.read_bytes()
    window.open_path(str(photo))
    next_reports(qtbot, window)
    assert window.save_snapshot(str(photo)) is None
    kind, message = window.failures[0]
    assert kind == "output" and message.startswith(f"{photo}: this is the input")
    assert photo.read_bytes() == before
    assert window.save_snapshot(str(tmp_path / "other.png")) is not None  # the app goes on


def test_a_snapshot_needs_an_image_ending_and_replaces_a_file_whole(qtbot, window, lspet_image,
                                                                     tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    window.open_path(str(lspet_image))
    next_reports(qtbot, window)
    assert window.save_snapshot(str(notes)) is None
    assert "must end in" in window.failures[0][1] and notes.read_text() == "my notes"
    older = tmp_path / "shot.png"
    older.write_bytes(b"an older snapshot")
    assert window.save_snapshot(str(older)) == str(older)
    assert cv2.imread(str(older)).shape == cv2.imread(str(lspet_image)).shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "settings.ini",
                                                          "shot.png"]


def test_recording_over_the_clip_being_played_is_refused(qtbot, window, lspet_clip, tmp_path):
    clip = tmp_path / "clip.mp4"
    shutil.copyfile(lspet_clip, clip)
    before = clip.read_bytes()
    window.open_path(str(clip))
    next_reports(qtbot, window)
    window.start_recording(str(tmp_path / "clip"))  # the dialog's name: clip -> clip.mp4
    qtbot.waitUntil(lambda: bool(window.failures), timeout=WAIT_MS)
    kind, message = window.failures[0]
    assert kind == "output" and message.startswith(f"{clip}: this is the input")
    next_reports(qtbot, window, 3)
    assert not window.recording
    assert clip.read_bytes() == before


def pause(qtbot, window) -> None:
    window.link.set_playing.emit(False)
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)


def test_an_earlier_recording_is_kept_until_the_new_one_is_saved(qtbot, window, lspet_clip,
                                                                 tmp_path):
    take_video, take_json = tmp_path / "take.mp4", tmp_path / "take.jsonl"
    take_video.write_bytes(b"yesterday's video")
    take_json.write_text("yesterday's keypoints\n")
    window.controls.loop_action.setChecked(False)
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    pause(qtbot, window)
    window.start_recording(str(tmp_path / "take"))
    qtbot.waitUntil(lambda: window.recording, timeout=WAIT_MS)
    for _ in range(3):
        window.link.step.emit()
        next_reports(qtbot, window)
    assert take_video.read_bytes() == b"yesterday's video"  # until the recording ends
    assert take_json.read_text() == "yesterday's keypoints\n"
    window.link.stop_recording.emit()
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    lines = [json.loads(line) for line in take_json.read_text().splitlines()]
    assert len(lines) == video_frames(take_video) == 3
    assert not list(tmp_path.glob(".take*"))


def test_a_recording_stopped_before_its_first_frame_changes_nothing(qtbot, window, lspet_clip,
                                                                    tmp_path):
    take_video, take_json = tmp_path / "take.mp4", tmp_path / "take.jsonl"
    take_video.write_bytes(b"yesterday's video")
    take_json.write_text("yesterday's keypoints\n")
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    pause(qtbot, window)
    window.start_recording(str(tmp_path / "take"))
    qtbot.waitUntil(lambda: window.recording, timeout=WAIT_MS)
    window.link.stop_recording.emit()
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    assert "nothing was saved" in messages[-1]
    assert take_video.read_bytes() == b"yesterday's video"
    assert take_json.read_text() == "yesterday's keypoints\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.ini", "take.jsonl",
                                                          "take.mp4"]
