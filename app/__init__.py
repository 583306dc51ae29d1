"""Hourglass Pose: see what a Stacked Hourglass network sees."""

__version__ = "0.1.0"
