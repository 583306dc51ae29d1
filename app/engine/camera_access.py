"""Why the system keeps the camera from the app, where the system can say: macOS's and Windows'
privacy settings, and on Linux a camera that another program holds or that this user may not
open.

OpenCV only reports that a camera gave no frames.  When that happens, ``camera_refusal`` asks the
system itself, without opening a camera, and returns what to tell the user: a title and which
setting to change.  None means no refusal was found (no camera, or a reason no system reports).
Every check is cheap and never raises: a system that will not answer is no refusal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_MEANWHILE = "Meanwhile, open a video or a photo, or drop one on this window."


@dataclass(frozen=True)
class CameraRefusal:
    title: str  # what happened, in a few words
    detail: str  # what to change and where, for the window


def camera_refusal() -> CameraRefusal | None:
    """What keeps the camera from this app, asked of this system; call after a camera failed."""
    try:
        if sys.platform == "darwin":
            return macos_refusal(_macos_authorization_status())
        if sys.platform == "win32":
            return windows_refusal(_windows_consent)
        if sys.platform.startswith("linux"):
            return linux_refusal()
    except OSError:
        pass
    return None


# -- macOS ------------------------------------------------------------------------------------
# AVAuthorizationStatus: whether the user let this app (or, from a terminal, the terminal)
# use the camera.  Asking does not prompt; opening the camera does, once.
_NOT_DETERMINED, _RESTRICTED, _DENIED = 0, 1, 2
_MACOS_SETTING = "System Settings ▸ Privacy & Security ▸ Camera"


def macos_refusal(status: int | None) -> CameraRefusal | None:
    if status == _DENIED:
        return CameraRefusal(
            "macOS does not let Hourglass Pose use the camera",
            f"Turn on Hourglass Pose (or, if you started it from a terminal, that terminal) in "
            f"{_MACOS_SETTING}, then quit and reopen the app. {_MEANWHILE}")
    if status == _RESTRICTED:
        return CameraRefusal(
            "The camera is restricted on this Mac",
            "A management profile or Screen Time (System Settings ▸ Screen Time ▸ Content & "
            f"Privacy) keeps apps from the camera: ask whoever manages this Mac. {_MEANWHILE}")
    if status == _NOT_DETERMINED:
        return CameraRefusal(
            "macOS is asking whether Hourglass Pose may use the camera",
            "Allow it in the prompt, then try the camera again. If no prompt is shown, "
            f"turn on Hourglass Pose in {_MACOS_SETTING}. {_MEANWHILE}")
    return None


def _macos_authorization_status() -> int | None:
    """``[AVCaptureDevice authorizationStatusForMediaType:AVMediaTypeVideo]`` through the
    Objective-C runtime (ctypes, so no extra package), or None if it cannot be asked."""
    import ctypes

    try:
        objc = ctypes.cdll.LoadLibrary("/usr/lib/libobjc.A.dylib")
        avfoundation = ctypes.cdll.LoadLibrary(
            "/System/Library/Frameworks/AVFoundation.framework/AVFoundation")
        objc.objc_getClass.restype = objc.sel_registerName.restype = ctypes.c_void_p
        objc.objc_getClass.argtypes = objc.sel_registerName.argtypes = [ctypes.c_char_p]
        # objc_msgSend takes the method's own signature: here (class, selector, NSString *).
        send = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_void_p)(("objc_msgSend", objc))
        device = objc.objc_getClass(b"AVCaptureDevice")
        media_type = ctypes.c_void_p.in_dll(avfoundation, "AVMediaTypeVideo")
        if not device or not media_type.value:
            return None
        return send(device, objc.sel_registerName(b"authorizationStatusForMediaType:"),
                    media_type)
    except (OSError, AttributeError, ValueError):
        return None


# -- Windows ----------------------------------------------------------------------------------
# The switches of Settings ▸ Privacy & security ▸ Camera, as the registry keeps them ("Allow" or
# "Deny"): for the whole device, for this user's apps, for this user's desktop apps.
_CONSENT_STORE = r"Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore"
_WINDOWS_SWITCHES = (
    ("HKEY_LOCAL_MACHINE", rf"{_CONSENT_STORE}\webcam", "Camera access"),
    ("HKEY_CURRENT_USER", rf"{_CONSENT_STORE}\webcam", "Let apps access your camera"),
    ("HKEY_CURRENT_USER", rf"{_CONSENT_STORE}\webcam\NonPackaged",
     "Let desktop apps access your camera"),
)


def windows_refusal(consent: Callable[[str, str], str | None]) -> CameraRefusal | None:
    """``consent(hive, key)`` reads a switch: "Allow", "Deny", or None where it is not set."""
    off = [name for hive, key, name in _WINDOWS_SWITCHES if consent(hive, key) == "Deny"]
    if not off:
        return None
    switches = " and ".join(f"“{name}”" for name in off)
    return CameraRefusal(
        "Windows privacy settings keep the camera from this app",
        f"Turn on {switches} in Settings ▸ Privacy & security ▸ Camera, then try the camera "
        f"again. {_MEANWHILE}")


def _windows_consent(hive: str, key: str) -> str | None:
    import winreg

    try:
        with winreg.OpenKey(getattr(winreg, hive), key) as opened:
            value, _ = winreg.QueryValueEx(opened, "Value")
    except OSError:  # the key or value does not exist: nobody switched anything
        return None
    return value if isinstance(value, str) else None


# -- Linux ------------------------------------------------------------------------------------
def linux_refusal(devices: Path = Path("/dev"), processes: Path = Path("/proc"),
                  may_open: Callable[[Path], bool] | None = None) -> CameraRefusal | None:
    """From the video device nodes: which other programs hold them open, else whether this
    user may open them at all.  No nodes: no camera, which is no refusal."""
    nodes = sorted(devices.glob("video*"))
    if not nodes:
        return None
    holders = programs_holding(nodes, processes)
    if holders:
        who = f"{holders[0]} has" if len(holders) == 1 else f"{', '.join(holders)} have"
        return CameraRefusal(
            "The camera is in use by another program",
            f"{who} the camera open: close it (or end its call), then try the camera again. "
            f"{_MEANWHILE}")
    may_open = may_open or (lambda node: os.access(node, os.R_OK | os.W_OK))
    if not any(may_open(node) for node in nodes):
        return CameraRefusal(
            "You may not use the camera",
            f"Your user may not open {nodes[0]}: add it to the video group (sudo usermod -aG "
            f"video $USER), then log out and back in. {_MEANWHILE}")
    return None


def programs_holding(nodes: list[Path], processes: Path = Path("/proc")) -> list[str]:
    """Names of the other processes with one of ``nodes`` open (those this user may see)."""
    targets = {str(node) for node in nodes}
    names: list[str] = []
    for process in processes.iterdir():
        if not process.name.isdigit() or int(process.name) == os.getpid():
            continue
        try:
            holds = any(os.readlink(fd) in targets for fd in (process / "fd").iterdir())
            name = (process / "comm").read_text().strip() if holds else ""
        except OSError:  # another user's process, or one that just ended
            continue
        if name and name not in names:
            names.append(name)
    return names
