"""The ``hourglass-pose`` command: the desktop app by default, tools as subcommands.

Heavy imports (torch, Qt) happen inside the subcommands so ``--help`` and ``--version`` are
instant.  User errors (bad media, bad checkpoints, missing devices) end as one clear line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import __version__

if TYPE_CHECKING:
    from app.engine.pipeline import PipelineOptions, PosePipeline
    from app.engine.sources import SkippedFile
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
                "model": "--model"}


def empty_path_option(args: argparse.Namespace) -> str | None:
    """The first option given an empty path, if any."""
    for dest, option in PATH_OPTIONS.items():
        value = getattr(args, dest, None)
        if "" in (value if isinstance(value, list) else [value]):
            return option
    return None


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    from app.train.config import TrainConfig

    defaults = TrainConfig()
    parser = commands.add_parser("train", help="train a model on an LSP-layout dataset")
    parser.add_argument("--data", nargs="+", default=defaults.data,
                        help="LSPet or LSP layout folders, trained on together")
    parser.add_argument("--repeats", nargs="+", type=int, default=None,
                        help="for each --data folder, how many times its people come round in "
                             "an epoch (the mix; default: "
                             + " ".join(map(str, defaults.repeats)) + " for the default "
                             "folders, else 1 each)")
    parser.add_argument("--held-out", nargs="+", type=int, default=None,
                        help="for each --data folder, its validation slice's size (default: "
                             "LSPet 500, LSP 200, others 500)")
    parser.add_argument("--judge", default=defaults.judge,
                        help="the dataset (folder name) whose validation slice picks the best "
                             "weights")
    parser.add_argument("--run", dest="run_dir", default=defaults.run_dir,
                        help="run folder: resumes from its last.pt when present")
    parser.add_argument("--init", default=None,
                        help="weights to start from when the run folder is new "
                             "(default: the shipped model, if it has the same architecture)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="start from random weights, not the shipped model")
    parser.add_argument("--new-schedule", action="store_true",
                        help="from --init weights: start the learning-rate schedule afresh "
                             "instead of continuing theirs (another batch size or machine)")
    for name in ("stacks", "channels", "depth", "input_size", "batch_size", "epochs",
                 "warmup_steps", "eval_every", "save_every", "seed",
                 "workers"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int,
                            default=getattr(defaults, name))
    parser.add_argument("--lr", dest="learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--sigma", type=float, default=defaults.sigma)
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop after this many steps (the schedule still spans --epochs)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--augment", nargs="+", default=[], metavar="NAME=VALUE",
                        help="change augmentation settings, e.g. occluder_probability=0.5 "
                             "scale=0.65,1.35 (see app/train/data.py Augmentation)")
    teacher = parser.add_argument_group("teacher (targets made by `hourglass-pose teach`)")
    teacher.add_argument("--teacher", metavar="FOLDER", help="the teacher targets' folder")
    teacher.add_argument("--teacher-model", default=defaults.teacher_model)
    teacher.add_argument("--teacher-swaps", action="store_true",
                         help="exchange left and right of crowd labels the teacher contradicts")
    teacher.add_argument("--teacher-fill", action="store_true",
                         help="label unlabelled joints the teacher is confident of")
    teacher.add_argument("--distil", type=float, default=defaults.distil,
                         help="the teacher maps' share of the labelled joints' targets (0-1)")


def augmentation_changes(settings: list[str]) -> dict:
    """``NAME=VALUE`` pairs as Augmentation fields (a comma makes a range)."""
    from app.train.data import Augmentation

    changes: dict = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in Augmentation.__dataclass_fields__ or not value:
            raise UsageError(f"--augment {setting}: expected NAME=VALUE with NAME one of "
                             + ", ".join(Augmentation.__dataclass_fields__))
        try:
            numbers = [float(v) for v in value.split(",")]
        except ValueError as error:
            raise UsageError(f"--augment {setting}: {value} is not a number") from error
        changes[name] = tuple(numbers) if len(numbers) > 1 else numbers[0]
    return changes


def run_train(args: argparse.Namespace) -> int:
    from app.paths import default_checkpoint
    from app.train.config import TrainConfig
    from app.train.trainer import train

    defaults = TrainConfig()
    if args.repeats is None:
        args.repeats = defaults.repeats if args.data == defaults.data else [1] * len(args.data)
    options = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    for name in ("repeats", "held_out"):
        counts = getattr(args, name)
        if counts is not None and len(counts) != len(args.data):
            raise UsageError(f"--{name.replace('_', '-')} needs one count per --data folder")
    options["augmentation"] = defaults.augmentation | augmentation_changes(args.augment)
    if options.get("init") is None and not args.from_scratch:
        shipped = default_checkpoint()
        options["init"] = str(shipped) if shipped else None
    trainer = train(TrainConfig(**options))
    return 130 if trainer.interrupted else 0


def add_info_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("info", help="describe a checkpoint, and how it runs here")
    add_model_choice(parser)


def run_info(args: argparse.Namespace) -> int:
    from app.model.checkpoint import load_model
    from app.model.complexity import flops_per_stack_count, parameter_count
    from app.model.predictors import describe_runtime

    loaded = load_model(args.checkpoint)
    spec = loaded.spec
    config = spec.config
    print(f"checkpoint   {loaded.source}")
    print(f"layout       {spec.layout}")
    print(f"architecture {config.stacks} stacks x {config.channels} channels, hourglass depth "
          f"{config.depth}, {config.blocks} residual(s) per slot")
    print(f"input        {spec.input_size} x {spec.input_size} px, heatmaps "
          f"{spec.heatmap_size} x {spec.heatmap_size}")
    print(f"parameters   {parameter_count(loaded.network) / 1e6:.2f} M")
    flops = flops_per_stack_count(loaded.network, spec.input_size)
    print("GFLOPs       " + ", ".join(f"{k + 1} stack{'s' * (k > 0)}: {f / 1e9:.2f}"
                                      for k, f in enumerate(flops)))
    print(f"joints       {spec.skeleton.num_joints}: {', '.join(spec.skeleton.joint_names)}")
    summary = [f"{key} {spec.training[key]}" for key in (
        "dataset", "steps", "epochs", "hours", "device", "judge", "validation_pck",
        "validation_per_stack", "validation_slices")
        if key in spec.training]
    print("training     " + (", ".join(summary) or "(no summary in this checkpoint)"))
    print(f"runs here    {describe_runtime(predictor_for(loaded, args))}")
    return 0


def add_infer_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("infer", help="poses of every frame of a video, image, "
                                 "folder or camera, as JSON lines")
    parser.add_argument("--input", required=True, help="video, image, folder, or camera index")
    parser.add_argument("--json", required=True, help="output: one JSON object per frame")
    parser.add_argument("--out", help="also write the annotated frames as an MP4")
    add_model_options(parser)
    parser.add_argument("--max-frames", type=int, default=None,
                        help="stop after this many frames (cameras run until Ctrl-C)")


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


def run_infer(args: argparse.Namespace) -> int:
    from app.engine.open_media import check_media, is_camera_index
    from app.engine.output import PoseRecorder, is_standard_output

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError("--max-frames must be 1 or more")
    check_media(args.input)
    media = [] if is_camera_index(args.input) else [args.input]
    PoseRecorder.check(args.json, args.out, inputs=media)  # before a thing is loaded or opened

    from app.engine.pipeline import PipelineOptions, PosePipeline
    from app.model.checkpoint import load_model

    loaded = load_model(args.checkpoint)
    check_stacks(args.stacks, loaded.spec.config.stacks)
    predictor = predictor_for(loaded, args)
    pipeline = PosePipeline(predictor)
    with StopSignals() as stop:
        frames, skipped = infer_frames(args, pipeline, PipelineOptions(stacks=args.stacks,
                                                                       flip=args.flip), stop)
    written = f"{args.json}" + (f" and {args.out}" if args.out else "")
    if stop.received is None:
        skips = f" ({skipped} unreadable file{'s' * (skipped > 1)} skipped)" if skipped else ""
        print(f"{frames} frames -> {written}{skips} ({predictor.device.type}, "
              f"{predictor.runtime}, {predictor.precision})",
              file=sys.stderr if is_standard_output(args.json) else sys.stdout)
        return 0
    how = "interrupted" if stop.received == signal.SIGINT else "terminated"
    if frames:
        print(f"hourglass-pose: {how}: keeping the frames done so far, {frames} -> {written}",
              file=sys.stderr)
    else:
        print(f"hourglass-pose: {how} before the first frame: nothing was written",
              file=sys.stderr)
    return 128 + stop.received  # the shell's code for "ended by this signal": 130, 143


def infer_frames(args: argparse.Namespace, pipeline: PosePipeline, options: PipelineOptions,
                 stop: StopSignals) -> tuple[int, int]:
    """Runs ``infer``'s frames into its outputs: how many frames, and files skipped.

    The outputs replace their targets when frames were done (also when a signal stopped the
    run, after the frame in hand); when the run fails, the targets are left as they were.
    """
    from tqdm import tqdm

    from app.engine.frame_run import FrameRun
    from app.engine.open_media import open_source
    from app.engine.output import PoseRecorder

    with FrameRun(open_source(args.input), pipeline, options) as run:
        recorder = run.recorder = PoseRecorder(args.json, args.out, run.info.fps)
        total = run.info.frame_count
        if args.max_frames is not None:
            total = min(total or args.max_frames, args.max_frames)
        bar = tqdm(total=total, unit="frame", desc=run.info.description, dynamic_ncols=True)

        def say_skipped(files: tuple[SkippedFile, ...]) -> int:
            for skip in files:
                bar.write(f"hourglass-pose: skipped {skip.name}: {skip.reason}", file=sys.stderr)
            return len(files)

        skipped = 0
        keep = False
        try:
            try:
                for step in run:
                    skipped += say_skipped(step.skipped)
                    bar.update(1)
                    if stop.received is not None or recorder.frames == args.max_frames:
                        break
                else:
                    skipped += say_skipped(run.take_skipped_at_end())
            except KeyboardInterrupt:  # a second Ctrl-C, or one before the handlers were set
                stop.received = stop.received or signal.SIGINT
            keep = recorder.frames > 0
        finally:
            bar.close()
            recorder.close(keep)
    return recorder.frames, skipped


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM (``kill``, ``timeout``, a logout) ask a run to stop after
    the frame in hand, so its outputs are finished as at the end of the media.  A second
    signal stops at once, with a KeyboardInterrupt."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        import threading

        if threading.current_thread() is threading.main_thread():  # where Python allows them
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._received)
        return self

    def _received(self, number: int, _frame: object) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = number

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def check_stacks(stacks: int | None, available: int) -> None:
    if stacks is not None and not 1 <= stacks <= available:
        raise UsageError(f"--stacks must be between 1 and {available} for this model")


def add_eval_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("eval", help="PCK@0.2 on an LSP or LSPet layout folder")
    parser.add_argument("--dataset", required=True, help="folder with images/ and joints.mat")
    parser.add_argument("--json", help="write the scores here")
    parser.add_argument("--plot", help="write the PCK-versus-threshold curves here (PNG)")
    parser.add_argument("--split", choices=("all", "validation"), default="all",
                        help="validation: only the slice that training holds out (LSPet 500, "
                             "LSP 200 images, by the folder's name)")
    add_model_options(parser)


def run_eval(args: argparse.Namespace) -> int:
    import json

    from app.engine.image_files import read_image
    from app.model.checkpoint import load_model
    from app.train.data import held_out_count, load_annotations, split_validation
    from app.train.evaluate import predict_annotations, score
    from app.train.report import format_table, plot_pck_curves

    loaded = load_model(args.checkpoint)
    check_stacks(args.stacks, loaded.spec.config.stacks)
    annotations = load_annotations(args.dataset)
    if args.split == "validation":
        annotations = split_validation(annotations, held_out_count(args.dataset))[1]
    images = [read_image(a.image_path) for a in annotations]
    predictor = predictor_for(loaded, args)
    predictions = predict_annotations(predictor, annotations, images, args.stacks, args.flip)
    evaluation = score(predictions, loaded.spec.skeleton)
    print(format_table(evaluation))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({**evaluation.to_dict(), "checkpoint": str(loaded.source),
                       "flip": args.flip, "precision": predictor.precision}, file, indent=2)
    if args.plot:
        plot_pck_curves(predictions, loaded.spec.skeleton, args.plot)
    return 0


def add_bench_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("bench", help="speed of the model and of the live pipeline, "
                                 "per stack count")
    add_model_choice(parser)
    parser.add_argument("--input", help="media to run (default: 640x480 frames the app draws)")
    parser.add_argument("--frames", type=int, default=200,
                        help="frames timed through the pipeline per stack count")
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--plot", help="also draw frames/s against stacks (PNG)")
    parser.add_argument("--no-variants", action="store_true",
                        help="skip the comparison of precisions and BatchNorm folding")
    parser.add_argument("--soak", type=int, metavar="FRAMES",
                        help="instead: run this many frames and report memory, threads, files")
    parser.add_argument("--load", type=int, metavar="CORES",
                        help="instead: frames/s idle and beside this many busy cores")


def run_bench(args: argparse.Namespace) -> int:
    import json

    from app.engine.benchmark import format_report, plot_report, run_bench
    from app.engine.open_media import check_media
    from app.engine.pipeline import PosePipeline
    from app.engine.soak import soak
    from app.model.checkpoint import load_model

    if args.input is not None:
        check_media(args.input)
    loaded = load_model(args.checkpoint)
    predictor = predictor_for(loaded, args)
    try:
        if args.soak:
            result = soak(PosePipeline(predictor), args.input, args.soak,
                          progress=lambda i: print(f"\rframe {i}", end="", flush=True))
            print(f"\n{result.frames} frames: resident memory {result.rss_after_warmup_mb:.0f}"
                  f" -> {result.rss_end_mb:.0f} MB ({result.rss_growth_mb:+.1f} MB), threads "
                  f"{result.threads_after_warmup} -> {result.threads_end}, open files "
                  f"{result.open_files_after_warmup} -> {result.open_files_end}")
            return 0
        if args.load:
            from app.engine.neighbours import load_report

            print(load_report(loaded, predictor, args.input, args.frames, args.load))
            return 0
        report = run_bench(loaded, predictor, args.input, args.frames,
                           variants=not args.no_variants)
    except KeyboardInterrupt:
        print("\ninterrupted: no report")
        return 130
    print(format_report(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(report.to_dict(), file, indent=2)
    if args.plot:
        plot_report(report, args.plot)
    return 0


def add_make_clip_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("make-clip", help="a demo video from a folder of photos "
                                 "(e.g. ../shared/datasets/lspet), for trying the app without "
                                 "a camera")
    parser.add_argument("--images", required=True, help="folder of photos (or with images/)")
    parser.add_argument("--out", required=True, help="the MP4 to write")
    parser.add_argument("--count", type=int, default=30, help="how many photos")
    parser.add_argument("--hold", type=int, default=8, help="frames per photo")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")


def run_make_clip(args: argparse.Namespace) -> int:
    from app.engine.clips import photo_clip_frames, photos_in, write_clip

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as error:
        raise UsageError(f"--size must look like 640x480, not {args.size!r}") from error
    photos = photos_in(args.images, args.count)
    try:
        frames = write_clip(photo_clip_frames(photos, (width, height), args.hold), args.out,
                            args.fps, (width, height))
    except OSError as error:
        raise UsageError(str(error)) from error
    print(f"{frames} frames ({len(photos)} photos) -> {args.out}")
    return 0


def add_publish_parser(commands: argparse._SubParsersAction) -> None:
    from app.train.config import DEFAULT_DATA

    parser = commands.add_parser("publish", help="make a run's best weights the embedded model "
                                 "and measure its model card")
    parser.add_argument("--run", default="runs/default", help="run folder with best.safetensors")
    parser.add_argument("--data", nargs="+", default=list(DEFAULT_DATA),
                        help="datasets whose validation slices the card measures")
    parser.add_argument("--out", help="default: models/hourglass-lsp.safetensors")
    parser.add_argument("--force", action="store_true",
                        help="publish even when the shipped model is as good (the rule: a "
                             "point better on the judging slice, no more than a point worse on "
                             "any other)")
    parser.add_argument("--ablation", nargs="+", default=[], metavar="LABEL=RUN[@STEP]",
                        help="runs that differ by one lever, for the card's table of what "
                             "each lever contributed; @STEP: the best up to that step, to "
                             "compare runs at matched steps")


def run_publish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.paths import DEFAULT_MODEL_NAME, models_dir
    from app.train.publish import Ablation, publish

    target = Path(args.out) if args.out else models_dir() / DEFAULT_MODEL_NAME
    ablations = {}
    for entry in args.ablation:
        label, _, run = entry.partition("=")
        run, _, step = run.rpartition("@") if "@" in run else (run, "", "")
        if not run or not (Path(run) / "log.jsonl").is_file() or (step and not step.isdigit()):
            raise UsageError(f"--ablation {entry}: expected LABEL=RUN[@STEP] with "
                             "RUN/log.jsonl")
        ablations[label] = Ablation(Path(run), int(step) if step else None)
    print(publish(Path(args.run), args.data, target, args.force, ablations))
    return 0


def add_pack_data_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pack-data", help="write a compact copy of an LSP-layout dataset (to train elsewhere)")
    parser.add_argument("--data", required=True, help="LSPet or LSP layout folder")
    parser.add_argument("--out", required=True, help="folder for the copy (same layout)")
    parser.add_argument("--box-pixels", type=int, default=128,
                        help="shrink so the person box is at most this wide")
    parser.add_argument("--quality", type=int, default=72, help="WebP quality, 1-100")
    parser.add_argument("--teacher", nargs=2, metavar=("FROM", "TO"),
                        help="also move the teacher's targets for this dataset from the folder "
                             "FROM (made by `teach`) into the copy's pixels, in the folder TO")
    parser.add_argument("--teacher-model", default="EfficientPoseII")


def run_pack_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.train.pack import pack_dataset

    teacher = None
    if args.teacher:
        teacher = Path(args.teacher[0]), Path(args.teacher[1]), args.teacher_model
    images, written = pack_dataset(args.data, args.out, args.box_pixels, quality=args.quality,
                                   teacher=teacher)
    print(f"{images} images, {written / 2**20:.1f} MiB, in {args.out}")
    return 0


def add_teach_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "teach", help="run an EfficientPose teacher once over a dataset's people and cache its "
                      "view for training (needs pip install -e .[teacher])")
    parser.add_argument("--data", nargs="+", required=True, help="LSPet or LSP layout folders")
    parser.add_argument("--model",
                        default="../shared/teachers/efficientpose/EfficientPoseII.tflite",
                        help="the teacher's TFLite file")
    parser.add_argument("--out", default=".cache/teacher", help="the targets' folder")
    parser.add_argument("--threads", type=int, default=1)


def run_teach(args: argparse.Namespace) -> int:
    from app.train.teacher import compute_teacher_targets

    for dataset in args.data:
        print(compute_teacher_targets(dataset, args.model, args.out, threads=args.threads))
    return 0


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
    from app.engine.output import OutputError
    from app.engine.sources import SourceError
    from app.model.checkpoint import CheckpointError
    from app.model.devices import DeviceError
    from app.train.data import DatasetError
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
        from app.gui.main import run_app, run_self_test

        if args.self_test:
            return run_self_test(args.input, args.checkpoint, args.device,
                                 screenshot=args.screenshot)
        return run_app(args.checkpoint, args.device, args.input)
    try:
        return RUNNERS[args.command](args)
    except user_errors() as error:
        print(f"hourglass-pose: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling (say, while loading)
        print("\nhourglass-pose: interrupted", file=sys.stderr)
        return 130
