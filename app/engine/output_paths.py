"""Whether an output may be written, decided before anything is opened or the model loads,
and what is said when writing it fails after all.

Every output of ``infer``, the app's Record and its Snapshot is checked here first
(:func:`check_outputs`): a run that would fail at its first frame, or destroy its own input,
says so at once, in words that name the real cause (a folder missing, a read-only mount, the
kernel's /proc), and touches nothing.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.atomic_write import AtomicFile, final_target, written_as_is
from app.engine.image_files import IMAGE_EXTENSIONS

# Outputs under these are the kernel's views, where no file can be made (checked before the
# model loads); the descriptors of /proc/self/fd are streams, written as they are.
_KERNEL_PLACES = (Path("/proc"), Path("/sys"))


class OutputError(Exception):
    """An output file that cannot be written; the message names it."""


def reserve_temporary(target: Path) -> AtomicFile:
    """The temporary that becomes ``target`` when kept; an OutputError where none can be made."""
    try:
        return AtomicFile(target)
    except OSError as error:
        raise OutputError(f"{target}: cannot write here ({error.strerror})") from error


def replace_target(file_on_disk: AtomicFile) -> None:
    """What was written replaces the target; an OutputError when the rename fails."""
    try:
        file_on_disk.commit()
    except OSError as error:
        raise OutputError(f"{file_on_disk.target}: could not be saved ({error.strerror})"
                          ) from error


@dataclass(frozen=True)
class OutputKind:
    """What an output holds, and the file name endings it may have."""

    name: str
    extensions: tuple[str, ...]


KEYPOINTS = OutputKind("keypoints (JSON lines)", (".jsonl", ".json", ".ndjson"))
VIDEO = OutputKind("annotated video (MP4)", (".mp4",))
SNAPSHOT = OutputKind("snapshot (an image)", tuple(sorted(IMAGE_EXTENSIONS)))


def check_outputs(outputs: Sequence[tuple[str | Path, OutputKind]],
                  inputs: Iterable[str | Path] = ()) -> list[Path]:
    """The outputs as paths, once each is known to be writable without harm: its folder
    exists, its name ends as its kind's files do, it is no folder, and it is neither an input
    nor another output (by resolved path, and by inode for hard links).

    Terminals, pipes and devices (``/dev/stdout``, ``/dev/null``) are written as they are.
    Raises OutputError naming the first output that fails.
    """
    inputs = [Path(p).expanduser() for p in inputs]
    checked: list[Path] = []
    for given, kind in outputs:
        path = Path(given).expanduser()
        _check_output(path, kind)
        for other in inputs:
            if _same_file(path, other):
                raise OutputError(f"{path}: this is the input; writing the {kind.name} there "
                                  "would destroy it (choose another name)")
        for other in checked:
            if _same_file(path, other):
                raise OutputError(f"{path}: named for two outputs; give each its own file")
        checked.append(path)
    return checked


def _check_output(path: Path, kind: OutputKind) -> None:
    if written_as_is(path):
        if kind is VIDEO:  # the encoder writes to a file of that name, and seeks in it
            raise OutputError(f"{path}: an MP4 cannot go to a pipe, terminal, device or a "
                              "file opened for us: its index is written last, by seeking "
                              "back; name a file ending in .mp4")
        return
    if (place := _kernel_place(path)) is not None:
        raise OutputError(f"{path}: is under {place}, the kernel's view of the system, where no "
                          f"file can be made; name a file in a folder for the {kind.name}")
    target = final_target(path)
    if target.is_dir():
        raise OutputError(f"{path}: is a folder; name a file for the {kind.name}")
    folder = target.parent
    if not folder.exists():
        raise OutputError(f"{path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write here ({os.strerror(errno.ENOTDIR)}: "
                          f"{folder} is a file)")
    if target.suffix.lower() not in kind.extensions:
        endings = ", ".join(kind.extensions[:-1]) + " or " + kind.extensions[-1]
        if len(kind.extensions) == 1:
            endings = kind.extensions[0]
        raise OutputError(f"{path}: a file for the {kind.name} must end in {endings}")
    if not os.access(folder, os.W_OK | os.X_OK):
        if _read_only_place(folder):
            raise OutputError(f"{path}: cannot write in the folder {folder} "
                              f"({os.strerror(errno.EROFS)}: it is mounted read-only)")
        raise OutputError(f"{path}: cannot write in the folder {folder} "
                          f"({os.strerror(errno.EACCES)})")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{path}: the file is read-only, so it is left as it is")


def _kernel_place(path: Path) -> Path | None:
    """/proc or /sys, where ``path`` leads (through links too), or None: the kernel's files
    are no place for results, and writing there fails only once the model has loaded."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None
    return next((place for place in _KERNEL_PLACES if real.is_relative_to(place)), None)


def _read_only_place(folder: Path) -> bool:
    """Whether ``folder`` is on a file system mounted read-only (a CD, a snapshot, a locked-down
    container), where os.access says only "Permission denied" and chmod cannot help."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def is_standard_output(path: str | Path) -> bool:
    """Whether ``path`` leads where this process's standard output goes: the run's messages
    then go to stderr, so that the stream holds JSON lines only."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no stdout, or one without a descriptor
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError, ValueError):
        return False
