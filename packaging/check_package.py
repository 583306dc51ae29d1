"""Tries the archive packaging/build.py made as a user would: unpacks it into a new folder and
runs the app from there, with that folder as the working directory.

    python packaging/check_package.py [ARCHIVE] [--images ../shared/datasets/lspet]

It runs ``--version``, ``info`` (the embedded model loads, and runs through OpenVINO), and
``--self-test`` (on OpenVINO too), which drives the real window through the whole pipeline: on
the camera if one opens, else on frames the app draws itself (CI machines have no camera).
With ``--images`` it also makes a clip from those photos with the frozen ``make-clip`` and
self-tests on it; where that folder is a labelled dataset (LSP layout), the inspector's
self-test scores a few of its people too, which reads ``joints.mat`` without SciPy, as users'
copies of the app must.  Exits 1 at the first failure.  CI (.ci/run) and the release workflow
run it; ARCHIVE defaults to the one build.py names for this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import archive_path, frozen_executable, system_name
from bundle_info import package_version

# The self-test gives up by itself after 120 s; the first start of a fresh unpacked copy is
# slow on some systems (macOS verifies every signed library once).
TIMEOUT_S = 600


def unpack(archive: Path, folder: Path) -> None:
    """As users unpack it: tar on Linux, Finder's (ditto's) way on macOS, a plain zip else."""
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="tar")
    elif system_name() == "macos":
        subprocess.run(["ditto", "-x", "-k", str(archive), str(folder)], check=True)
    else:
        with zipfile.ZipFile(archive) as zip_file:
            zip_file.extractall(folder)


def run(executable: Path, *args: str, expect: str, cwd: Path) -> None:
    """Runs the frozen app, prints what it said, and fails unless it exits 0 saying ``expect``."""
    command = [str(executable), *args]
    print(f"$ {' '.join(['hourglass-pose', *args])}", flush=True)
    # A cache of its own, empty at first, as on a new user's machine: the first run converts
    # the network for OpenVINO inside the frozen app, the later ones read it back.
    environment = {**os.environ, "HOURGLASS_POSE_CACHE": str(cwd / "cache")}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S,
                          env=environment)
    print(done.stdout + done.stderr, end="", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"check_package: exit code {done.returncode} from {' '.join(args)}")
    if expect not in done.stdout:
        raise SystemExit(f"check_package: {' '.join(args)} did not print {expect!r}")


def labelled_sample(dataset: Path, folder: Path, people: int = 24) -> Path:
    """A copy of an LSP-layout dataset holding its first ``people`` photos: the loader skips
    the entries of joints.mat whose photo is absent, so the whole file comes along as it is."""
    sample = folder / "labelled"
    (sample / "images").mkdir(parents=True)
    shutil.copy(dataset / "joints.mat", sample / "joints.mat")
    for photo in sorted((dataset / "images").iterdir())[:people]:
        shutil.copy(photo, sample / "images" / photo.name)
    return sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, nargs="?", default=archive_path())
    parser.add_argument("--images", type=Path,
                        help="a folder of photos: also self-test on a clip made from them")
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        parser.error(f"{args.archive} not found: run packaging/build.py first")

    with tempfile.TemporaryDirectory(prefix="hourglass-pose-check-") as temporary:
        folder = Path(temporary)
        unpack(args.archive, folder)
        app = frozen_executable(folder)
        print(f"unpacked {args.archive.name}: {app.relative_to(folder)}")
        run(app, "--version", expect=package_version(), cwd=folder)
        # The network runs through OpenVINO in the frozen app too (build.spec collects it).
        run(app, "info", expect="CPU through OpenVINO", cwd=folder)
        run(app, "--self-test", expect="CPU · OpenVINO", cwd=folder)
        if args.images:
            run(app, "make-clip", "--images", str(args.images.resolve()), "--out", "clip.mp4",
                "--count", "10", expect="clip.mp4", cwd=folder)
            run(app, "--self-test", "--input", "clip.mp4", expect="CPU · OpenVINO", cwd=folder)
            if (args.images / "joints.mat").is_file():
                sample = labelled_sample(args.images.resolve(), folder)
                run(app, "--self-test", "--inspect", str(sample),
                    expect="the inspector scored", cwd=folder)
    print("check_package: the unpacked app passed every check")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
