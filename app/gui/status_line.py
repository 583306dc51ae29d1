"""What the window says without stopping the video: the live figures on the right of its
status bar, and warnings that do not block (the transient messages on the left of the bar
are Qt's own ``showMessage``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox

from app.engine.frame_run import SourceInfo
from app.engine.models import ModelInfo
from app.gui.worker import FrameReport


def figures(report: FrameReport | None, model: ModelInfo | None, flip: bool,
            source: SourceInfo | None, recording: bool) -> str:
    """The status bar's live line: frame rate, model time and stacks (with a ``report``), where
    and how the model runs, the media, and whether it is being recorded."""
    parts = []
    if report is not None:
        timings = report.result.timings_ms
        parts += [f"{report.fps:5.1f} frames/s", f"model {timings['model']:5.1f} ms",
                  f"{report.result.stacks} stack{'s' * (report.result.stacks > 1)}"]
        if report.dropped:
            parts.append(f"{report.dropped} frames dropped")
    if model is not None:
        parts += [model.where, model.precision]
        if flip:
            parts.append("flip test")
    if source is not None:
        parts.append(source.description)
    if recording:
        parts.append("● REC")
    if parts:
        return "   ·   ".join(parts)
    return "Ready" if model is not None else "No model loaded"


def notify(window: QMainWindow, message: str) -> None:
    """A warning that does not block: the video keeps running behind it, and the status bar
    repeats it for a while after it is closed."""
    box = QMessageBox(QMessageBox.Warning, "Hourglass Pose", message, QMessageBox.Ok, window)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.open()
    window.statusBar().showMessage(message, 8000)
