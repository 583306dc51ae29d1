"""The real main window as fixtures, for test modules that name this file in
``pytest_plugins = ["window_fixtures"]`` (a plugin, not an import: pytest then finds the
fixtures by name, and no conftest is needed).

``window`` is the window on the tiny checkpoint, its model loaded and its settings in the
test's own folder; ``failures`` collects what it reports as failed, as (kind, message).
"""

from __future__ import annotations

import pytest
from windows import make_window


@pytest.fixture
def window(qtbot, tiny_checkpoint, tmp_path):
    return make_window(qtbot, tiny_checkpoint, tmp_path / "settings.ini")


@pytest.fixture
def failures(window) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    window.worker_failed.connect(lambda kind, message: seen.append((kind, message)))
    return seen
