"""What a path the user named is, when it is no regular file: a folder, a named pipe, a device,
a broken link.

Opening a FIFO or a terminal for reading waits for a writer that may never come, with no word
to the user, so media and checkpoints are told apart by this before anything opens them, and
photos are read through :func:`read_regular_file`, which cannot block.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MISSING = "no such file"  # nothing there (or no name that can be): callers say it their own way
FOLDER = "a folder"

_KINDS = ((stat.S_ISDIR, FOLDER), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device (character special file)"),
          (stat.S_ISBLK, "a device (block special file)"))


class NotARegularFile(OSError):
    """A path that names something other than a regular file; ``strerror`` says what."""


def not_a_file(path: str | Path) -> str | None:
    """None for a regular file (through any links), else what ``path`` is instead, in words
    for the user: :data:`MISSING` when nothing is there."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return _why_absent(Path(path), error)
    except ValueError:  # a NUL byte in the name
        return MISSING
    return None if stat.S_ISREG(mode) else _kind(mode)


def read_regular_file(path: str | Path) -> bytes:
    """The bytes of a regular file; NotARegularFile (an OSError) for anything else, found
    without waiting: the file is opened non-blocking, then asked what it is."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ELOOP):
            raise NotARegularFile(error.errno, _why_absent(Path(path), error)) from error
        raise
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, _kind(mode))
        return file.read()


def _kind(mode: int) -> str:
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def _why_absent(path: Path, error: OSError) -> str:
    """Why ``os.stat`` found nothing, for a link in the user's words (an OS error's are "No
    such file or directory" for a link whose target is gone, which blames the link)."""
    if error.errno == errno.ELOOP:
        return "a loop of symbolic links (they lead back to themselves)"
    if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
        try:
            return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        except (OSError, ValueError):  # no link: nothing is there
            return MISSING
    return error.strerror or str(error)
