"""Where the app's own files are: the shipped models and assets, and what it remembers.

They are found through the package (next to ``app/`` in a checkout or an editable install,
or inside a PyInstaller bundle), never through the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "hourglass-lsp.safetensors"


def project_root() -> Path:
    """The folder holding ``models/`` and ``assets/``."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    return project_root() / "models"


def assets_dir() -> Path:
    return project_root() / "assets"


def default_checkpoint() -> Path | None:
    """The embedded default model, or None if this copy has none yet."""
    path = models_dir() / DEFAULT_MODEL_NAME
    return path if path.is_file() else None


def cache_dir() -> Path:
    """Where the app keeps what it measured about this machine; ``HOURGLASS_POSE_CACHE``
    moves it (tests, or a machine whose home is read-only)."""
    override = os.environ.get("HOURGLASS_POSE_CACHE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hourglass-pose"
