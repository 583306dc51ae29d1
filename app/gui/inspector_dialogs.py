"""The inspector's file dialogs: the labelled data to open, and where the table's CSV goes.
Both start in the folder the user last opened labelled data from (``Folder.LABELLED``);
remembering it is the caller's, once the data is used, as for the main window's dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from app.gui.settings import Folder, folder

DATA_FILTER = "Labelled people (joints.mat *.json);;All files (*)"


def data_path(chosen: str | Path) -> Path:
    """An LSP folder is chosen by its joints.mat (a file dialog takes a file or a folder, not
    either); a COCO file is itself."""
    path = Path(chosen).resolve()
    return path.parent if path.name == "joints.mat" else path


def ask_labelled_data(parent: QWidget, settings: QSettings) -> Path | None:
    chosen, _ = QFileDialog.getOpenFileName(
        parent, "Open labelled data: an LSP folder's joints.mat, or a COCO person_keypoints "
        "file", folder(settings, Folder.LABELLED), DATA_FILTER)
    return data_path(chosen) if chosen else None


def ask_table_csv(parent: QWidget, settings: QSettings, data: Path) -> str:
    start = Path(folder(settings, Folder.LABELLED))
    path, _ = QFileDialog.getSaveFileName(parent, "Export the table as CSV",
                                          str(start / f"{data.stem}-people.csv"), "CSV (*.csv)")
    return path
