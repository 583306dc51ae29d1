"""Builds what users download, the same way on Linux, Windows and macOS: PyInstaller with
build.spec, the archive, then the size report.

    python packaging/build.py [--limit-mib 800]

``make package``, CI (.ci/run) and the release workflow (.github/workflows/release.yml) all
run this, so that one set of steps is checked here and on the hosted runners (Windows has no
make).  What comes out, in dist/:

    Linux    hourglass-pose/                 hourglass-pose-VERSION-linux-x86_64.tar.gz
    Windows  hourglass-pose/                 hourglass-pose-VERSION-windows-x86_64.zip
    macOS    Hourglass Pose.app (and the     hourglass-pose-VERSION-macos-arm64.zip
             one-folder build it is made of)

The archive is written under a temporary name and renamed when complete, so a failed build
never leaves a partial archive under the real name.  The size report fails the build when the
folder passes ``--limit-mib``, so that a new dependency cannot quietly bloat the download.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_info import APP_NAME, EXECUTABLE, ROOT, package_version
from size_report import main as size_report

DIST = ROOT / "dist"
# For the CPU build of PyTorch; a CUDA build is several GiB (README: "With an NVIDIA GPU").
DEFAULT_LIMIT_MIB = 800.0
# gzip's and zip's own default level: level 9 takes twice as long for 1% less.
COMPRESS_LEVEL = 6


def system_name(system: str = sys.platform) -> str:
    if system.startswith("linux"):
        return "linux"
    if system == "win32":
        return "windows"
    if system == "darwin":
        return "macos"
    raise ValueError(f"no package is made for {system}")


def machine_name(machine: str | None = None) -> str:
    """The processor as users know it: Windows says AMD64 and ARM64 for x86_64 and arm64."""
    machine = machine or platform.machine()
    return {"amd64": "x86_64", "arm64": "arm64"}.get(machine.lower(), machine)


def archive_path(version: str | None = None, system: str = sys.platform,
                 machine: str | None = None, dist: Path = DIST) -> Path:
    name = system_name(system)
    extension = "tar.gz" if name == "linux" else "zip"
    version = version or package_version()
    return dist / f"{EXECUTABLE}-{version}-{name}-{machine_name(machine)}.{extension}"


def shipped_path(system: str = sys.platform, dist: Path = DIST) -> Path:
    """What the archive holds: the one-folder build, or on macOS the bundle made from it."""
    return dist / (f"{APP_NAME}.app" if system_name(system) == "macos" else EXECUTABLE)


def frozen_executable(folder: Path, system: str = sys.platform) -> Path:
    """The app inside ``folder`` (dist/, or wherever the archive was unpacked)."""
    name = system_name(system)
    if name == "macos":
        return folder / f"{APP_NAME}.app" / "Contents" / "MacOS" / EXECUTABLE
    return folder / EXECUTABLE / (f"{EXECUTABLE}.exe" if name == "windows" else EXECUTABLE)


def run_pyinstaller() -> None:
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                    str(ROOT / "build.spec")], cwd=ROOT, check=True)


def write_archive(shipped: Path, archive: Path, system: str = sys.platform) -> None:
    """Packs ``shipped`` as one top-level entry.  macOS uses ditto, as Finder's Compress does:
    a bundle holds symbolic links, permissions and code signatures that zipfile would lose."""
    if not shipped.is_dir():
        raise FileNotFoundError(f"{shipped} not found: PyInstaller did not make it")
    partial = archive.with_name(archive.name + ".partial")
    name = system_name(system)
    try:
        if name == "linux":
            with tarfile.open(partial, "w:gz", compresslevel=COMPRESS_LEVEL) as tar:
                tar.add(shipped, arcname=shipped.name)
        elif name == "macos":
            subprocess.run(["ditto", "-c", "-k", "--sequesterRsrc", "--keepParent",
                            str(shipped), str(partial)], check=True)
        else:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED,
                                 compresslevel=COMPRESS_LEVEL) as archive_file:
                for path in sorted(shipped.rglob("*")):
                    archive_file.write(path, path.relative_to(shipped.parent))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=float, default=DEFAULT_LIMIT_MIB,
                        help="fail if the built folder is larger (default %(default).0f)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    run_pyinstaller()
    built = time.monotonic()
    shipped, archive = shipped_path(), archive_path()
    write_archive(shipped, archive)
    print(f"\nPyInstaller {built - started:.0f} s, archive {time.monotonic() - built:.0f} s\n")
    status = size_report([str(shipped), "--archive", str(archive),
                          "--limit-mib", str(args.limit_mib)])
    print(f"\n{archive}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
