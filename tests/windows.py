"""Helpers for tests that drive the real main window (pytest puts tests/ on the path); the
fixtures built on them are window_fixtures.py's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from app.gui.window import MainWindow

WAIT_MS = 30_000  # generous: a background training run may hold both cores


def next_reports(qtbot, window, count: int = 1) -> list:
    """The next ``count`` frame reports the window draws."""
    reports = []
    window.frame_displayed.connect(reports.append)
    try:
        qtbot.waitUntil(lambda: len(reports) >= count, timeout=WAIT_MS)
    finally:
        window.frame_displayed.disconnect(reports.append)
    return reports


def make_window(qtbot, checkpoint, settings_path: Path, device: str = "cpu",
                wait_for_model: bool = True) -> MainWindow:
    """A shown window whose settings live in ``settings_path``; closed by the caller."""
    settings_store = QSettings(str(settings_path), QSettings.IniFormat)
    win = MainWindow(str(checkpoint), device, settings=settings_store)
    qtbot.addWidget(win)
    win.show()
    if wait_for_model:
        qtbot.waitUntil(lambda: win.model is not None, timeout=WAIT_MS)
    return win

