"""The commands that make and ship a model: train, publish, pack-data, teach."""

from __future__ import annotations

import argparse

from app.cli.options import UsageError


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    from app.train.config import TrainConfig

    defaults = TrainConfig()
    parser = commands.add_parser("train", help="train a model on LSP-layout or COCO datasets")
    parser.add_argument("--data", nargs="+", default=defaults.data,
                        help="LSPet or LSP layout folders or COCO person_keypoints_*.json "
                             "files, trained on together")
    parser.add_argument("--repeats", nargs="+", type=int, default=None,
                        help="for each --data folder, how many times its people come round in "
                             "an epoch (the mix; default: "
                             + " ".join(map(str, defaults.repeats)) + " for the default "
                             "folders, else 1 each)")
    parser.add_argument("--held-out", nargs="+", type=int, default=None,
                        help="for each --data folder, its validation slice's size in images "
                             "(default: LSPet 500, LSP 200, others 500)")
    parser.add_argument("--judge", default=defaults.judge,
                        help="the dataset (folder name, or a COCO file's name without .json) "
                             "whose validation slice picks the best weights (default: lsp, "
                             "else the first --data)")
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
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="autocast: auto is bf16 where the device has it natively "
                             "(fp16 on older GPUs), else fp32")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the network for the training step")
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
        if isinstance(getattr(Augmentation(), name), int):  # a count
            if len(numbers) > 1 or not numbers[0].is_integer():
                raise UsageError(f"--augment {setting}: {name} is a whole number")
            changes[name] = int(numbers[0])
        else:
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
