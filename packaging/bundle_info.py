"""What the packaged app says about itself: its names, the macOS Info.plist entries and the
Windows version resource, all from the package version (``__version__`` in app/__init__.py).

build.spec writes both at build time from these functions, so a release never carries a version
written down a second time.  Needs only the standard library.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "Hourglass Pose"
EXECUTABLE = "hourglass-pose"
BUNDLE_IDENTIFIER = "org.hourglasspose.HourglassPose"
# Shown by macOS when the app first opens the camera; without it macOS ends the app instead.
CAMERA_USAGE = ("Hourglass Pose shows the pose of the person in front of the camera. The video "
                "is processed on this Mac and is never sent anywhere.")


def package_version(root: Path = ROOT) -> str:
    """``__version__`` from app/__init__.py, read as text so that the build imports nothing."""
    text = (root / "app" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if found is None:
        raise ValueError(f"no __version__ line in {root / 'app' / '__init__.py'}")
    return found.group(1)


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """The release numbers of a version as four integers, as Windows and macOS want them:
    "0.1.0" -> (0, 1, 0, 0); a pre-release suffix ("1.2rc1") is dropped."""
    found = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?", version)
    if found is None:
        raise ValueError(f"version {version!r} does not start with a number")
    return tuple(int(part or 0) for part in found.groups())  # type: ignore[return-value]


def macos_minimum(build_system: str) -> str:
    """The oldest macOS the bundle runs on: the one it is built on ("15.6.1" -> "15.0").

    pip installs the newest wheels the build machine can run, and their libraries need that
    macOS or an older one, not always the same (PyTorch 2.13's need 14, OpenCV 5.1's 15).  With
    this in the Info.plist, an older Mac says the app needs a newer macOS instead of the app
    crashing as it loads a library.
    """
    return f"{int(build_system.split('.')[0])}.0"


def info_plist(version: str, minimum_system: str) -> dict[str, object]:
    """Info.plist entries of the macOS bundle (PyInstaller fills in the executable and icon)."""
    release = ".".join(str(number) for number in numeric_version(version)[:3])
    return {
        "CFBundleIdentifier": BUNDLE_IDENTIFIER,
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": release,
        "CFBundleVersion": release,
        "NSCameraUsageDescription": CAMERA_USAGE,
        "LSMinimumSystemVersion": minimum_system,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follows the system's dark mode
    }


def windows_version_info(version: str) -> str:
    """The version resource of the Windows executable (what Explorer's Properties ▸ Details
    shows), in the text form PyInstaller's ``EXE(version=FILE)`` reads."""
    numbers = numeric_version(version)
    strings = {
        "CompanyName": APP_NAME,
        "FileDescription": APP_NAME,
        "FileVersion": version,
        "InternalName": EXECUTABLE,
        "LegalCopyright": "MIT License",
        "OriginalFilename": f"{EXECUTABLE}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
    }
    structs = ",\n        ".join(f"StringStruct({key!r}, {value!r})"
                                for key, value in strings.items())
    return (
        "VSVersionInfo(\n"
        f"  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0,\n"
        "                    OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),\n"
        "  kids=[\n"
        "    StringFileInfo([StringTable('040904B0', [\n"
        f"        {structs}])]),\n"
        "    VarFileInfo([VarStruct('Translation', [1033, 1200])]),\n"
        "  ],\n"
        ")\n"
    )
