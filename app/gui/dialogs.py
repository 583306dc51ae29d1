"""The window's file dialogs: which files each offers, and which folder it starts in (the one
the user last used for that kind, from the settings).  Each returns the path chosen, or ""
when the user cancelled; remembering the folder is the caller's, once the path is used."""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from app.engine.image_files import IMAGE_EXTENSIONS
from app.gui.settings import Folder, folder

# Videos are whatever OpenCV's FFmpeg opens; these are the common ones offered by the dialog.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
MEDIA_FILTER = ("Media (" + " ".join(f"*{ext}" for ext in (*VIDEO_EXTENSIONS,
                                                            *sorted(IMAGE_EXTENSIONS)))
                + ");;All files (*)")
CHECKPOINT_FILTER = "Checkpoints (*.safetensors *.pt *.pth *.tar);;All files (*)"


def ask_media(parent: QWidget, settings: QSettings) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open video or image",
                                          folder(settings, Folder.MEDIA), MEDIA_FILTER)
    return path


def ask_checkpoint(parent: QWidget) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open checkpoint", "", CHECKPOINT_FILTER)
    return path


def ask_recording(parent: QWidget, settings: QSettings) -> str:
    """A recording's base path (its .mp4 and .jsonl are named after it), stamped with now."""
    start = folder(settings, Folder.RECORDINGS)
    base, _ = QFileDialog.getSaveFileName(parent, "Record to",
                                          f"{start}/pose-{time.strftime('%Y%m%d-%H%M%S')}",
                                          "Recording (*.mp4)")
    return base


def ask_snapshot(parent: QWidget, settings: QSettings) -> str:
    """A PNG's path, stamped with now."""
    start = folder(settings, Folder.SNAPSHOTS)
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save snapshot", f"{start}/pose-{time.strftime('%Y%m%d-%H%M%S')}.png",
        "PNG (*.png)")
    return path
