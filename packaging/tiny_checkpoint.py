"""Writes a tiny random model, for checking a build where models/ has no default model yet.

    .venv/bin/python packaging/tiny_checkpoint.py OUT.safetensors

Random weights draw nonsense poses, but they load, run and draw through the whole pipeline,
which is what a packaging check needs.  (The same recipe as tests/conftest.py's fixture.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from app.model.checkpoint import ModelSpec, save_checkpoint
from app.model.hourglass import HourglassConfig, StackedHourglass
from app.pose.skeleton import LSP14


def main(out: str) -> None:
    torch.manual_seed(0)
    network = StackedHourglass(HourglassConfig(stacks=2, channels=16, depth=2, stem_channels=8))
    save_checkpoint(Path(out), network, ModelSpec(network.config, LSP14, input_size=64,
                                                  training={"note": "random weights"}))
    print(f"tiny random model -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
