"""Replacing a file whole or not at all: written beside its target, renamed over it.

Every file the app and its training replace (results, snapshots, checkpoints, the published
model and its card, the remembered precision, a teacher's cache) goes through here, so that a
crash, a full disk or a killed process leaves the old file as it was and never half a new one.

A temporary is named ``.NAME.tmp-PID-TAG.EXT``: hidden, its ending kept (video encoders and
``numpy.savez`` choose by it), and the writer's process id in it, so that a later writer to the
same target can tell a killed writer's litter (its process gone) from a live writer's file.
It is made with exclusive create, flushed to disk before the rename, and given the target's
permissions.  A terminal, pipe or device (``/dev/null``, ``/dev/stdout``) is written directly:
there is nothing to keep and nothing to rename over.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from types import TracebackType

NAME_MAX = 255  # bytes in a file name, on the file systems of Linux, macOS and Windows
_TEMPORARY = re.compile(r"\..*\.tmp-(?P<pid>\d+)-(?P<tag>[0-9a-f]{8})(?P<suffix>(\.[^.]*)?)")
# Names of a file this process was handed open (the shell's ``> file`` or ``| program``):
# written where they lead, never replaced by a rename.
_DESCRIPTOR_NAME = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/(self|\d+)/fd/\d+")


class AtomicFile:
    """A temporary beside ``target`` to write into (at :attr:`path`), which becomes the target
    on :meth:`commit` or is deleted on :meth:`discard`; as a context manager, committed when
    the block ends normally and discarded when it raises.

    Reserving the temporary deletes those a killed writer left for the same target.  Failures
    are OSErrors, for the caller to say in its own words.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self._final = final_target(self.target)
        self.direct = written_as_is(self.target)
        self.path = self._final if self.direct else self._reserve_temporary()
        self._done = self.direct

    def _reserve_temporary(self) -> Path:
        folder = self._final.parent
        remove_dead_temporaries(self._final)
        while True:
            candidate = folder / temporary_name(self._final.name, os.getpid(),
                                                secrets.token_hex(4), _name_max(folder))
            try:
                # 0o666 less the umask, as for any new file; O_EXCL: never someone else's.
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                return candidate
            except FileExistsError:
                continue

    def commit(self) -> None:
        """The written file becomes the target, with the permissions the target had."""
        if self._done:
            return
        self._done = True
        try:
            _flush_to_disk(self.path)
            if self._final.exists():
                os.chmod(self.path, stat.S_IMODE(self._final.stat().st_mode))
            os.replace(self.path, self._final)
        except OSError:
            self.path.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        """Forget what was written: the target stays as it was."""
        if not self._done:
            self._done = True
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, _error: BaseException | None,
                 _traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_atomically(target: str | Path, content: bytes) -> None:
    """``target`` holds ``content`` afterwards, or (on an OSError) what it held before."""
    with AtomicFile(target) as file, open(file.path, "wb") as out:
        out.write(content)


def final_target(path: Path) -> Path:
    """Where the bytes go: through a symbolic link to its target, so the link is kept.  Not
    for what is written as it is: ``/dev/stdout`` resolves to ``/proc/PID/fd/pipe:[N]``, a
    name nothing can open."""
    try:
        return path.resolve() if path.is_symlink() and not written_as_is(path) else path
    except (OSError, RuntimeError):  # a loop of links
        return path


def written_as_is(path: Path) -> bool:
    """Written directly, not through a temporary renamed over it: a terminal, pipe, socket or
    device (``/dev/null``, also behind a link), or a file this process was handed open
    (``/dev/stdout`` into a file), which only the caller may replace."""
    return _is_special(path) or bool(_DESCRIPTOR_NAME.fullmatch(os.path.abspath(path)))


def _is_special(path: Path) -> bool:
    """A terminal, pipe, socket or device: nothing to keep, and nothing to rename over."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def temporary_name(name: str, pid: int, tag: str, name_max: int = NAME_MAX) -> str:
    """``.NAME.tmp-PID-TAG.EXT``, NAME shortened (never its ending, never a character cut in
    two) so the whole fits in ``name_max`` bytes: a target of a legal name has a legal
    temporary."""
    suffix = Path(name).suffix
    around = f".{{}}.tmp-{pid}-{tag}{suffix}"
    room = name_max - len(around.format("").encode())
    return around.format(name.encode()[:room].decode(errors="ignore"))


def _name_max(folder: Path) -> int:
    """The longest file name in bytes ``folder``'s file system takes (255 where it won't say)."""
    try:
        return min(os.pathconf(folder, "PC_NAME_MAX"), NAME_MAX)
    except (OSError, ValueError, AttributeError):  # no pathconf on Windows
        return NAME_MAX


def remove_dead_temporaries(target: Path) -> list[Path]:
    """Delete the temporaries beside ``target`` that were written for it by a process now
    gone (killed before it could delete them); a live writer's, even another user's, stay.
    The ones deleted."""
    folder, removed = target.parent, []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is None or _process_alive(pid := int(match["pid"])):
            continue
        if name != temporary_name(target.name, pid, match["tag"], _name_max(folder)):
            continue  # another target's
        with contextlib.suppress(OSError):  # gone already, or not ours to delete
            (folder / name).unlink()
            removed.append(folder / name)
    return removed


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine).  On Windows, where signal 0 would be a
    Ctrl-C to it, every writer counts as alive."""
    if sys.platform == "win32" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True


def _flush_to_disk(path: Path) -> None:
    """So a power cut after the rename cannot leave an empty file where the old one was."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
