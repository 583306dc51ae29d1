"""What the app remembers between runs, and under which keys: the user's choices, the window's
layout, the folders last used and the last source.

Everything lives in one QSettings (the system's usual place: the registry, a plist, an .ini
file), which the window is given; the choices are read once at start and written on close, the
folders and the last source as they change.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from app.engine.drawing import DEFAULT_THRESHOLD

LAST_SOURCE = "last_source"  # a file or folder path, or a camera index


@dataclass(frozen=True)
class Choices:
    """The controls as the user left them; each field is stored under its own name."""

    loop: bool = True
    flip: bool = False
    smoothing: bool = True
    threshold: int = round(100 * DEFAULT_THRESHOLD)  # percent
    stacks: int = 0  # 0: every stack the model has
    mirror_camera: bool = True  # cameras only: files are shown as they are
    device: str = "auto"  # the user's choice, kept while a fault has the model elsewhere


def load_choices(settings: QSettings) -> Choices:
    """The stored choices, the defaults where none is stored."""
    defaults = Choices()
    return Choices(**{
        field.name: settings.value(field.name, getattr(defaults, field.name),
                                   type=type(getattr(defaults, field.name)))
        for field in fields(Choices)})


def save_choices(settings: QSettings, choices: Choices) -> None:
    for field in fields(Choices):
        settings.setValue(field.name, getattr(choices, field.name))


def restore_layout(settings: QSettings, window: QMainWindow, side_dock: QDockWidget,
                   bottom_dock: QDockWidget) -> None:
    """The window's size, place and docks as they were; the first time, a size that shows
    the video large with both docks beside and below it."""
    if settings.value("geometry") is not None:
        window.restoreGeometry(settings.value("geometry"))
        window.restoreState(settings.value("state"))
        return
    window.resize(1280, 800)
    window.resizeDocks([side_dock], [380], Qt.Horizontal)
    window.resizeDocks([bottom_dock], [190], Qt.Vertical)


def save_layout(settings: QSettings, window: QMainWindow) -> None:
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("state", window.saveState())


class Folder(StrEnum):
    """The folders a file dialog starts in: where the user last opened or saved that kind."""

    MEDIA = "last_folder"
    RECORDINGS = "record_folder"
    SNAPSHOTS = "snapshot_folder"
    LABELLED = "labelled_folder"  # the inspector's labelled data


def folder(settings: QSettings, kind: Folder) -> str:
    return settings.value(kind, str(Path.home()))


def remember_folder(settings: QSettings, kind: Folder, path: str) -> None:
    """The folder of ``path``, for the next dialog of this kind."""
    settings.setValue(kind, str(Path(path).parent))
