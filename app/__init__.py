"""Hourglass Pose: see what a Stacked Hourglass network sees."""

# The one place the version is written: pyproject.toml reads it from here (setuptools'
# dynamic version), and so does the packaging (packaging/bundle_info.py).
__version__ = "0.1.0"
