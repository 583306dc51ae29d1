"""Helpers for tests that drive the real main window (pytest puts tests/ on the path)."""

from __future__ import annotations

WAIT_MS = 30_000  # generous: a background training run may hold both cores


def next_reports(qtbot, window, count: int = 1) -> list:
    """The next ``count`` frame reports the window draws."""
    reports = []
    window.frame_shown.connect(reports.append)
    try:
        qtbot.waitUntil(lambda: len(reports) >= count, timeout=WAIT_MS)
    finally:
        window.frame_shown.disconnect(reports.append)
    return reports
