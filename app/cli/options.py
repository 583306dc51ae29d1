"""What several commands share: the model options, the path check, the usage error."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.model.checkpoint import LoadedModel
    from app.model.predictors import Predictor


class UsageError(Exception):
    """A problem with what the user asked for; printed without a traceback."""

# The options that name a file or folder, by their argparse dest.  An empty one (an unset shell
# variable) would be taken as the current folder, or for --checkpoint as the built-in model:
# a run on what nobody asked for.
PATH_OPTIONS = {"input": "--input", "checkpoint": "--checkpoint", "json": "--json",
                "out": "--out", "plot": "--plot", "dataset": "--dataset",
                "screenshot": "--screenshot", "images": "--images", "data": "--data",
                "run": "--run", "run_dir": "--run", "init": "--init", "teacher": "--teacher",
                "model": "--model", "draw": "--draw", "csv": "--csv", "inspect": "--inspect"}


def empty_path_option(args: argparse.Namespace) -> str | None:
    """The first option given an empty path, if any."""
    for dest, option in PATH_OPTIONS.items():
        value = getattr(args, dest, None)
        if "" in (value if isinstance(value, list) else [value]):
            return option
    return None


def add_model_choice(parser: argparse.ArgumentParser) -> None:
    """Which model runs where: every command that runs the network takes these."""
    parser.add_argument("--checkpoint", help="default: the embedded model")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--runtime", default="auto", choices=("auto", "openvino", "torch"),
                        help="on the CPU: OpenVINO (auto, where it loads) or PyTorch")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    add_model_choice(parser)
    parser.add_argument("--stacks", type=int, default=None, help="run the first K stacks")
    parser.add_argument("--flip", action="store_true", help="flip test (about 2x the time)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="auto: fp16 on CUDA; on the CPU bf16 where the CPU has native "
                             "bf16 (through PyTorch: and a first race shows it faster), "
                             "else fp32")


def predictor_for(loaded: LoadedModel, args: argparse.Namespace) -> Predictor:
    """The predictor the command's options ask for; what the user should know of how it runs
    here (a fallback, a slow precision) goes to stderr."""
    from app.model.predictors import create_predictor

    predictor = create_predictor(loaded, args.device, getattr(args, "precision", "auto"),
                                 runtime=args.runtime)
    if predictor.note:
        print(f"hourglass-pose: note: {predictor.note}", file=sys.stderr)
    return predictor


def check_stacks(stacks: int | None, available: int) -> None:
    if stacks is not None and not 1 <= stacks <= available:
        raise UsageError(f"--stacks must be between 1 and {available} for this model")
