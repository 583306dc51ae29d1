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


def make_window(qtbot, checkpoint: Path | None, settings_path: Path, device: str = "cpu",
                wait_for_model: bool = True) -> MainWindow:
    """A shown window on ``checkpoint`` (None: the shipped model) whose settings live in
    ``settings_path``.

    Its close waits as long as the tests wait for anything, so a machine busy with a training
    run cannot turn "closing stops the worker" into a failure.  After the test pytest-qt
    closes and deletes the window; deleting a thread that is still running aborts the whole
    test process, so that teardown first waits for the window's threads.
    """
    settings_store = QSettings(str(settings_path), QSettings.IniFormat)
    win = MainWindow(None if checkpoint is None else str(checkpoint), device,
                     settings=settings_store)
    win.close_wait_ms = WAIT_MS
    qtbot.addWidget(win, before_close_func=lambda window: window.stop_worker(WAIT_MS))
    win.show()
    if wait_for_model:
        qtbot.waitUntil(lambda: win.model is not None, timeout=WAIT_MS)
    return win
