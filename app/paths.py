"""Where the app's own files are: the shipped models and assets.

They are found through the package (next to ``app/`` in a checkout or an editable install,
or inside a PyInstaller bundle), never through the working directory.
"""

from __future__ import annotations

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
