"""The ``hourglass-pose`` command line: ``main`` parses and dispatches (cli/main.py), the
commands live by what they do (cli/pose_commands.py, cli/training_commands.py), and what they
share is in cli/options.py."""

from app.cli.main import main

__all__ = ["main"]
