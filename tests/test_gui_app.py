"""The real main window, offscreen, driving the real worker thread on LSPet media."""

from __future__ import annotations

import json

import cv2
import numpy as np
from PySide6.QtCore import QThread
from windows import WAIT_MS, make_window, next_reports

from app.gui.compose import ALL_JOINTS
from app.gui.worker import SourceRequest

pytest_plugins = ["window_fixtures"]  # the window fixture


def open_media(window, path) -> None:
    window.open_path(str(path))


def test_a_clip_plays_with_skeleton_and_status(qtbot, window, lspet_clip):
    open_media(window, lspet_clip)
    report = next_reports(qtbot, window, 3)[-1]
    assert report.result.keypoints.shape == (14, 2)
    assert window.video.last_frame() is not None
    assert "frames/s" in window.status.text() and "CPU" in window.status.text()
    assert window.source.description.endswith("clip.mp4")


def test_the_stacks_control_changes_what_runs(qtbot, window, lspet_clip):
    open_media(window, lspet_clip)
    assert next_reports(qtbot, window)[-1].result.stacks == 2
    window.controls.stacks_box.setValue(1)
    qtbot.waitUntil(lambda: window.last_report.result.stacks == 1, timeout=WAIT_MS)
    assert "1 stack" in window.status.text()


def test_a_paused_frame_is_shown_again_with_new_options(qtbot, window, lspet_clip):
    open_media(window, lspet_clip)
    next_reports(qtbot, window)
    window.link.set_playing.emit(False)
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    paused = window.last_report
    window.controls.stacks_box.setValue(1)
    again = next_reports(qtbot, window)[-1]
    assert again.result.stacks == 1
    assert again.result.frame_index == paused.result.frame_index


def test_play_at_the_end_of_a_file_plays_it_again(qtbot, window, lspet_clip):
    window.controls.loop_action.setChecked(False)
    open_media(window, lspet_clip)
    qtbot.waitUntil(lambda: window.last_report is not None
                    and window.last_report.result.frame_index == 11 and not window.playing,
                    timeout=WAIT_MS)
    window.toggle_playing()
    qtbot.waitUntil(lambda: window.playing and window.last_report.result.frame_index < 11,
                    timeout=WAIT_MS)


def test_heatmap_tiles_update_and_a_chosen_joint_is_overlaid(qtbot, window, lspet_clip):
    open_media(window, lspet_clip)
    report = next_reports(qtbot, window, 2)[-1]
    assert report.result.heatmaps is not None  # the panel is visible, so heatmaps are kept
    assert window.heatmaps.tile(0).pixmap() is not None
    plain = window.composed(report)
    window.heatmaps.select_joint(5)
    overlaid = window.composed(report)
    assert not np.array_equal(plain, overlaid)
    qtbot.waitUntil(lambda: window.refinement.stack_count() == 2, timeout=WAIT_MS)
    window.heatmaps.select_joint(ALL_JOINTS)
    assert not np.array_equal(window.composed(report), overlaid)


def test_refinement_follows_all_joints_until_a_joint_is_chosen(qtbot, window, lspet_clip):
    open_media(window, lspet_clip)
    next_reports(qtbot, window, 2)
    assert window.refinement.stack_count() == 2
    assert window.refinement.followed().startswith("All joints")
    window.heatmaps.select_joint(5)  # shown at once, from the frame on screen
    assert window.refinement.followed() == "left ankle"
    window.heatmaps.select_joint(None)
    assert window.refinement.followed().startswith("All joints")


def test_heatmaps_are_not_kept_when_no_view_needs_them(qtbot, window, lspet_clip):
    window.heatmap_dock.hide()
    window.refinement_dock.hide()
    open_media(window, lspet_clip)
    qtbot.waitUntil(lambda: window.last_report is not None
                    and window.last_report.result.heatmaps is None, timeout=WAIT_MS)
    assert window.options().keep_heatmaps is False


def test_a_recording_plays_back_with_every_frame_and_its_keypoints(
        qtbot, window, lspet_clip, tmp_path):
    window.controls.loop_action.setChecked(False)
    open_media(window, lspet_clip)
    next_reports(qtbot, window)
    window.link.set_playing.emit(False)
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    base = str(tmp_path / "take")
    window.start_recording(base)
    qtbot.waitUntil(lambda: window.recording, timeout=WAIT_MS)
    for _ in range(5):
        window.link.step.emit()
        next_reports(qtbot, window)
    window.link.stop_recording.emit()
    qtbot.waitUntil(lambda: not window.recording, timeout=WAIT_MS)
    with open(base + ".jsonl", encoding="utf-8") as file:
        lines = [json.loads(line) for line in file]
    capture = cv2.VideoCapture(base + ".mp4")
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert len(lines) == frames == 5
    assert [line["frame"] for line in lines] == sorted(line["frame"] for line in lines)
    assert len(lines[0]["keypoints"]) == 14


def test_changing_the_source_mid_run_switches_to_it(qtbot, window, lspet_clip, lspet_image):
    open_media(window, lspet_clip)
    next_reports(qtbot, window, 2)
    open_media(window, lspet_image)
    qtbot.waitUntil(lambda: window.source.description.endswith("person.jpg"), timeout=WAIT_MS)
    report = next_reports(qtbot, window, 2)[-1]
    assert report.image.shape[:2] == cv2.imread(str(lspet_image)).shape[:2]


def test_fault_an_unreadable_file_is_a_message_and_the_app_goes_on(qtbot, window, tmp_path,
                                                             lspet_clip):
    bogus = tmp_path / "broken.mp4"
    bogus.write_bytes(b"\x00" * 1000)
    failures = []
    window.worker_failed.connect(lambda kind, message: failures.append((kind, message)))
    open_media(window, bogus)
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0][0] == "source" and "broken.mp4" in failures[0][1]
    assert window.video.message_visible()
    open_media(window, lspet_clip)
    next_reports(qtbot, window)
    assert not window.video.message_visible()


def test_no_camera_is_said_in_the_window_with_a_way_on(qtbot, window, lspet_clip):
    window.settings.setValue("last_source", str(lspet_clip))
    window.start_with_camera()  # this machine has no camera
    qtbot.waitUntil(lambda: "No camera" in window.video.message_title(), timeout=WAIT_MS)
    assert window.video.message_visible()
    assert window.video.message_actions() == ["Open a file…", "Reopen clip.mp4",
                                              "Try the camera again"]


def test_a_mirrored_view_keeps_the_true_frame_for_the_model_and_snapshots(
        qtbot, window, lspet_image, tmp_path):
    open_media(window, lspet_image)
    next_reports(qtbot, window)
    window.controls.mirror_action.setChecked(True)
    report = next_reports(qtbot, window)[-1]
    assert window.video.is_mirrored()
    np.testing.assert_array_equal(report.image, cv2.imread(str(lspet_image)))
    saved = window.save_snapshot(str(tmp_path / "snap.png"))
    np.testing.assert_array_equal(cv2.imread(saved), window.composed(report))


def test_fault_snapshot_into_a_missing_folder_is_a_message_not_a_crash(qtbot, window, lspet_image,
                                                                   tmp_path):
    open_media(window, lspet_image)
    next_reports(qtbot, window)
    failures = []
    window.worker_failed.connect(lambda kind, message: failures.append(kind))
    assert window.save_snapshot(str(tmp_path / "missing" / "snap.png")) is None
    assert failures == ["output"]


def test_fault_closing_during_inference_leaves_no_worker_thread(qtbot, tiny_checkpoint, lspet_clip,
                                                          tmp_path):
    win = make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini")
    win.link.open_source.emit(SourceRequest(str(lspet_clip)))
    next_reports(qtbot, win)
    thread: QThread = win.link.worker_thread
    win.close()
    assert thread.isFinished()
    assert win.settings.value("stacks", type=int) == 2
