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
from app.cli.options import UsageError, empty_path_option
from app.cli.pose_commands import (
    add_bench_parser,
    add_eval_parser,
    add_infer_parser,
    add_info_parser,
    add_make_clip_parser,
    run_bench,
    run_eval,
    run_infer,
    run_info,
    run_make_clip,
)
from app.cli.training_commands import (
    add_pack_data_parser,
    add_publish_parser,
    add_teach_parser,
    add_train_parser,
    run_pack_data,
    run_publish,
    run_teach,
    run_train,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hourglass-pose",
        description="Live human pose from a Stacked Hourglass network: the skeleton, each "
                    "stack's refinement and every joint's heatmap. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"hourglass-pose {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window, run the pipeline on --input (or the camera, or "
                             "frames the app draws), check it, print a summary, exit 0 or 1")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="with --self-test: save the window as it looks at the end")
    parser.add_argument("--input", help="the app: open this video, image or folder at start")
    parser.add_argument("--inspect", metavar="PATH",
                        help="the app: open the labelled-data inspector on this LSP folder or "
                             "COCO keypoints file at start (with --self-test: score it, show "
                             "the worst person, check, exit 0 or 1)")
    parser.add_argument("--checkpoint", help="the app: the model to load (default: embedded)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="the app: where the network runs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_info_parser(commands)
    add_infer_parser(commands)
    add_eval_parser(commands)
    add_train_parser(commands)
    add_publish_parser(commands)
    add_bench_parser(commands)
    add_make_clip_parser(commands)
    add_pack_data_parser(commands)
    add_teach_parser(commands)
    return parser


RUNNERS = {"info": run_info, "infer": run_infer, "eval": run_eval, "train": run_train,
           "publish": run_publish, "bench": run_bench, "make-clip": run_make_clip,
           "pack-data": run_pack_data, "teach": run_teach}


def user_errors() -> tuple[type[Exception], ...]:
    """The project's own error types: what they say is meant for the user."""
    from app.engine.labelled_data import DatasetError
    from app.engine.output import OutputError
    from app.engine.sources import SourceError
    from app.model.checkpoint import CheckpointError
    from app.model.devices import DeviceError
    from app.train.publish import PublishRefused
    from app.train.teacher import TeacherError

    return (UsageError, CheckpointError, SourceError, OutputError, DeviceError, DatasetError,
            TeacherError, PublishRefused)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    empty = empty_path_option(args)
    if empty is not None:
        print(f"hourglass-pose: {empty} is empty (an unset shell variable?): it needs the "
              "name of a file or folder", file=sys.stderr)
        return 2
    if args.command is None:
        from app.gui.main import run_app, run_inspector_self_test, run_self_test

        if args.self_test and args.inspect is not None:
            return run_inspector_self_test(args.inspect, args.checkpoint, args.device,
                                           screenshot=args.screenshot)
        if args.self_test:
            return run_self_test(args.input, args.checkpoint, args.device,
                                 screenshot=args.screenshot)
        return run_app(args.checkpoint, args.device, args.input, args.inspect)
    try:
        return RUNNERS[args.command](args)
    except user_errors() as error:
        print(f"hourglass-pose: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling (say, while loading)
        print("\nhourglass-pose: interrupted", file=sys.stderr)
        return 130
