"""Where the system refuses the camera, the app says which setting to change.

Each platform's answer is checked from the facts it reads (an authorisation status, registry
switches, device nodes and /proc); the real probe of the machine the tests run on is called too,
which on CI's Windows and macOS runners reads their registry and asks AVFoundation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from windows import WAIT_MS

from app.engine import camera_access
from app.engine.camera_access import (
    CameraRefusal,
    camera_refusal,
    linux_refusal,
    macos_refusal,
    programs_holding,
    windows_refusal,
)

pytest_plugins = ["window_fixtures"]  # the window fixture: the real window, its model loaded


def test_the_probe_of_this_machine_answers_without_raising():
    refusal = camera_refusal()
    assert refusal is None or (refusal.title and refusal.detail.endswith(
        "Meanwhile, open a video or a photo, or drop one on this window."))


@pytest.mark.parametrize(("status", "words"), [
    (2, "System Settings ▸ Privacy & Security ▸ Camera"),  # denied
    (1, "Screen Time"),  # restricted
    (0, "Allow it in the prompt"),  # not asked yet: OpenCV's open asks
])
def test_macos_names_the_privacy_setting(status, words):
    refusal = macos_refusal(status)
    assert refusal is not None and words in refusal.detail


@pytest.mark.parametrize("status", [3, None])  # authorised, or the system would not say
def test_macos_authorised_or_unknown_is_no_refusal(status):
    assert macos_refusal(status) is None


def test_windows_names_each_switch_that_is_off():
    switches = {("HKEY_CURRENT_USER", camera_access._CONSENT_STORE + r"\webcam\NonPackaged"):
                "Deny",
                ("HKEY_CURRENT_USER", camera_access._CONSENT_STORE + r"\webcam"): "Allow"}
    refusal = windows_refusal(lambda hive, key: switches.get((hive, key)))
    assert refusal is not None
    assert "“Let desktop apps access your camera”" in refusal.detail
    assert "Settings ▸ Privacy & security ▸ Camera" in refusal.detail
    assert "“Let apps access your camera”" not in refusal.detail  # that one is on


def test_windows_switches_on_or_never_set_are_no_refusal():
    assert windows_refusal(lambda hive, key: None) is None
    assert windows_refusal(lambda hive, key: "Allow") is None


needs_symlinks = pytest.mark.skipif(sys.platform == "win32",
                                    reason="symbolic links need privileges on Windows")


def fake_process(proc: Path, pid: int, name: str, opened: list[str]) -> None:
    (proc / str(pid) / "fd").mkdir(parents=True)
    (proc / str(pid) / "comm").write_text(name + "\n")
    for number, target in enumerate(opened):
        (proc / str(pid) / "fd" / str(number)).symlink_to(target)


@needs_symlinks
def test_linux_names_the_program_holding_the_camera(tmp_path):
    dev, proc = tmp_path / "dev", tmp_path / "proc"
    dev.mkdir()
    (dev / "video0").touch()
    fake_process(proc, 4242, "zoom", ["/dev/null", str(dev / "video0")])
    fake_process(proc, 4243, "bash", ["/dev/null"])
    fake_process(proc, os.getpid(), "ourselves", [str(dev / "video0")])
    (proc / "self").mkdir()
    refusal = linux_refusal(dev, proc)
    assert refusal == CameraRefusal(
        "The camera is in use by another program",
        "zoom has the camera open: close it (or end its call), then try the camera again. "
        "Meanwhile, open a video or a photo, or drop one on this window.")


def test_linux_device_this_user_may_not_open_names_the_video_group(tmp_path):
    dev, proc = tmp_path / "dev", tmp_path / "proc"
    proc.mkdir()
    dev.mkdir()
    (dev / "video0").touch()
    refusal = linux_refusal(dev, proc, may_open=lambda node: False)
    assert refusal is not None and "video group" in refusal.detail
    assert str(dev / "video0") in refusal.detail
    assert linux_refusal(dev, proc, may_open=lambda node: True) is None


def test_linux_without_video_devices_is_no_camera_not_a_refusal(tmp_path):
    assert linux_refusal(tmp_path, tmp_path) is None


def test_programs_holding_skip_processes_that_vanish_or_hide(tmp_path):
    fake_process(tmp_path, 10, "gone", [])
    (tmp_path / "10" / "comm").unlink()
    (tmp_path / "11").mkdir()  # another user's process: no readable fd/
    assert programs_holding([Path("/dev/video0")], tmp_path) == []


# --- in the window ---------------------------------------------------------------------------

REFUSAL = CameraRefusal("macOS does not let Hourglass Pose use the camera",
                        "Turn on Hourglass Pose in System Settings ▸ Privacy & Security ▸ Camera.")


def test_a_refused_camera_at_start_names_the_setting_and_offers_a_file(qtbot, window,
                                                                       monkeypatch):
    monkeypatch.setattr("app.gui.messages.camera_refusal", lambda: REFUSAL)
    monkeypatch.setattr("app.gui.worker.list_cameras", lambda: [])  # as the system refuses
    window.start_with_camera()
    qtbot.waitUntil(lambda: window.video.message_title() == REFUSAL.title, timeout=WAIT_MS)
    assert window.video.message_visible()
    assert window.video.message_actions() == ["Open a file…", "Try the camera again"]


def test_a_refused_camera_chosen_by_hand_names_the_setting(qtbot, window, monkeypatch):
    monkeypatch.setattr("app.gui.messages.camera_refusal", lambda: REFUSAL)
    failures = []
    window.worker_failed.connect(lambda kind, message: failures.append(kind))
    window.controls.camera_box.clear()
    window.controls.camera_box.addItem("Camera 7", 7)  # no such camera here
    window.open_camera()
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert window.video.message_title() == REFUSAL.title
    assert window.video.message_actions() == ["Open a file…", "Try the camera"]


def test_a_file_that_fails_is_not_blamed_on_camera_settings(qtbot, window, monkeypatch,
                                                             tmp_path):
    monkeypatch.setattr("app.gui.messages.camera_refusal", lambda: REFUSAL)
    failures = []
    window.worker_failed.connect(lambda kind, message: failures.append(kind))
    window.open_path(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert window.video.message_title() == "This source cannot be shown"
