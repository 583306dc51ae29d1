"""What the user names as media (a camera index, a file, a folder, or ``synthetic`` for the
app's drawn frames) and the source that opens it.

The name is checked before anything heavy happens: ``infer`` and ``bench`` say "no such file"
before the model loads, not after, and nothing named opens a pipe that would be waited on.
"""

from __future__ import annotations

from pathlib import Path

from app.engine.drawn_figure import SYNTHETIC_SOURCE, SyntheticSource
from app.engine.image_files import IMAGE_EXTENSIONS
from app.engine.sources import (
    CameraSource,
    FrameSource,
    ImageFolderSource,
    ImageSource,
    SourceError,
    VideoSource,
)
from app.filekinds import FOLDER, MISSING, not_a_file


def open_source(
    source: str | int | Path,
    *,
    loop: bool = False,
    camera_size: tuple[int, int] | None = None,
) -> FrameSource:
    """Opens what the user named: a camera index, a folder, an image or a video file (or the
    app's own drawn frames, ``SYNTHETIC_SOURCE``).

    Files are told apart by extension, so anything that is not a known image format is offered
    to the video decoders, which read far more formats than we could list.
    """
    if source == SYNTHETIC_SOURCE:
        return SyntheticSource()
    if is_camera_index(source):
        return CameraSource(int(source), camera_size)
    path = media_path(source)
    if path.is_dir():
        return ImageFolderSource(path, loop)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageSource(path, loop)
    return VideoSource(path, loop)


def is_camera_index(source: str | int | Path) -> bool:
    """A camera named by its number: 0, or "0" as the command line gives it."""
    return isinstance(source, int) or (
        isinstance(source, str) and source.isascii() and source.isdigit())


def check_media(source: str) -> None:
    """Before the model loads (seconds): a SourceError unless the media named is something to
    read (a camera index and the app's drawn frames are opened as they are): nothing there, or
    a pipe that would be waited on forever, is said at once."""
    if source != SYNTHETIC_SOURCE and not is_camera_index(source):
        media_path(source)


def media_path(source: str | Path) -> Path:
    """The path of the file or folder the user named, once it is one: a SourceError for an
    empty name, nothing there, or what reading would wait on (a pipe, a device), said before
    anything opens it."""
    if str(source) == "":  # Path("") is the current folder: an unset shell variable
        raise SourceError("no input given: the media's name is empty")
    path = Path(source).expanduser()
    what = not_a_file(path)
    if what == MISSING:
        raise SourceError(f"{source}: no such file or folder")
    if what not in (None, FOLDER):  # reading a pipe or a device would wait, perhaps forever
        raise SourceError(f"{source}: {what}, not a video, an image, a folder of photos or "
                          "a camera index")
    return path


def list_cameras(max_index: int = 4) -> list[int]:
    """Camera indices from 0 to ``max_index`` that open and deliver a frame, for a camera menu.

    Drivers list devices that are busy or are not cameras at all, so only a frame counts.
    """
    found = []
    for index in range(max_index + 1):
        try:
            with CameraSource(index):
                found.append(index)
        except SourceError:
            continue
    return found
