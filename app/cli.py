"""The ``hourglass-pose`` command: the desktop app by default, tools as subcommands.

Heavy imports (torch, Qt) happen inside the subcommands so ``--help`` and ``--version`` are
instant.  User errors (bad media, bad checkpoints, missing devices) end as one clear line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import __version__


class UsageError(Exception):
    """A problem with what the user asked for; printed without a traceback."""


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    from app.train.trainer import TrainConfig

    defaults = TrainConfig()
    parser = commands.add_parser("train", help="train a model on an LSP-layout dataset")
    parser.add_argument("--data", default=defaults.data, help="LSPet or LSP layout folder")
    parser.add_argument("--run", dest="run_dir", default=defaults.run_dir,
                        help="run folder: resumes from its last.pt when present")
    parser.add_argument("--init", default=None,
                        help="weights to start from when the run folder is new "
                             "(default: the shipped model, if it has the same architecture)")
    for name in ("stacks", "channels", "depth", "input_size", "batch_size", "epochs",
                 "warmup_steps", "eval_every", "save_every", "validation_images", "seed"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int,
                            default=getattr(defaults, name))
    parser.add_argument("--lr", dest="learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--sigma", type=float, default=defaults.sigma)
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop after this many steps (the schedule still spans --epochs)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def run_train(args: argparse.Namespace) -> int:
    from app.paths import default_checkpoint
    from app.train.trainer import TrainConfig, train

    options = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    if options.get("init") is None:
        shipped = default_checkpoint()
        options["init"] = str(shipped) if shipped else None
    train(TrainConfig(**options))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hourglass-pose",
        description="Live human pose from a Stacked Hourglass network: the skeleton, each "
                    "stack's refinement and every joint's heatmap. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"hourglass-pose {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_train_parser(commands)
    return parser


RUNNERS = {"train": run_train}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return RUNNERS[args.command](args)
    except UsageError as error:
        print(f"hourglass-pose: {error}", file=sys.stderr)
        return 2
