"""The commands that run the network on pictures: info, infer, eval, bench, make-clip."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING

from app.cli.options import (
    UsageError,
    add_model_choice,
    add_model_options,
    check_stacks,
    predictor_for,
)
from app.stop_signals import StopSignals

if TYPE_CHECKING:
    from app.engine.inspection import InspectionReport, PersonScore, Prepare
    from app.engine.labelled_data import Annotation
    from app.engine.pipeline import PipelineOptions, PosePipeline
    from app.engine.sources import SkippedFile


# eval --as-webcam's seed when none is given: the one issue 23's A/B was first measured with.
WEBCAM_SEED = 2026


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


def run_infer(args: argparse.Namespace) -> int:
    from app.engine.open_media import check_media, is_camera_index
    from app.engine.output import PoseRecorder
    from app.engine.output_paths import is_standard_output

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


def add_eval_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("eval", help="PCK@0.2 on an LSP-layout folder or a COCO "
                                 "person-keypoints file, and the people it got most wrong")
    parser.add_argument("--dataset", required=True, help="folder with images/ and joints.mat, "
                        "or a COCO person_keypoints_*.json")
    parser.add_argument("--json", help="write the scores here")
    parser.add_argument("--plot", help="write the PCK-versus-threshold curves here (PNG)")
    parser.add_argument("--split", choices=("all", "validation"), default="all",
                        help="validation: only the slice that training holds out (LSPet 500, "
                             "LSP 200 images, by the folder's name)")
    parser.add_argument("--box-free", action="store_true",
                        help="give the model no box: the app's own pipeline finds the person in "
                             "the photo, as from the camera")
    parser.add_argument("--worst", type=int, metavar="N",
                        help="list the N people scored worst, and the joints missed")
    parser.add_argument("--draw", metavar="DIR",
                        help="with --worst: draw each of them into DIR (made if missing) as "
                             "001-IMAGE.png: truth hollow, prediction filled, a line from each "
                             "missed joint to where it belongs")
    parser.add_argument("--csv", metavar="FILE",
                        help="write the table of people here: PCK, joints missed, left and "
                             "right exchanged, the smallest confidence, each joint hit or not")
    parser.add_argument("--as-webcam", type=int, nargs="?", const=WEBCAM_SEED, metavar="SEED",
                        help="score each photo as a webcam would show it (noise, blur, low "
                             "light, a codec's blocks), its effects drawn from SEED and the "
                             f"photo's name alone (default {WEBCAM_SEED})")
    add_model_options(parser)


def run_eval(args: argparse.Namespace) -> int:
    import json

    from app.engine.inspection import write_table_csv, write_worst_drawings
    from app.engine.labelled_data import load_annotations
    from app.engine.pipeline import PosePipeline
    from app.model.checkpoint import load_model
    from app.pose.skeleton import LSP14
    from app.train.datasets import held_out_count, split_validation
    from app.train.report import by_facing, format_facing, format_table, plot_pck_curves

    check_eval_outputs(args)
    loaded = load_model(args.checkpoint)
    check_stacks(args.stacks, loaded.spec.config.stacks)
    annotations = load_annotations(args.dataset)
    if args.split == "validation":
        annotations = split_validation(annotations, held_out_count(args.dataset))[1]
    predictor = predictor_for(loaded, args)
    report = inspect_with_bar(PosePipeline(predictor), annotations, args)
    evaluation = report.evaluation
    if args.as_webcam is not None:
        print(f"The photos shown as a webcam would show them (effects seeded {args.as_webcam})")
    print(format_table(evaluation))
    facings = by_facing(report.people) if loaded.spec.skeleton == LSP14 else {}
    if facings:
        print("\n" + format_facing(facings))
    for skip in report.skipped:
        print(f"hourglass-pose: skipped {skip.name}: {skip.reason}", file=sys.stderr)
    if report.skipped:
        print(f"{len(report.skipped)} of {len(annotations)} people skipped: their photos "
              "cannot be read", file=sys.stderr)
    if args.worst:
        print("\n" + format_worst(report.worst(args.worst), evaluation.threshold))
    if args.draw:
        drawn = write_worst_drawings(report, args.worst, args.draw, loaded.spec.skeleton)
        print(f"{len(drawn)} drawing{'s' * (len(drawn) != 1)} -> {args.draw}")
    if args.csv:
        write_table_csv(report, args.csv)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({**evaluation.to_dict(), "checkpoint": str(loaded.source),
                       "flip": args.flip, "precision": predictor.precision,
                       "box_free": args.box_free, "as_webcam": args.as_webcam,
                       "by_facing": facings,
                       "skipped": [{"image": s.name, "reason": s.reason}
                                   for s in report.skipped]}, file, indent=2)
    if args.plot:
        plot_pck_curves(report.predictions, loaded.spec.skeleton, args.plot)
    return 0


def check_eval_outputs(args: argparse.Namespace) -> None:
    """``eval``'s new outputs refused before the model loads, not after the scoring."""
    from pathlib import Path

    from app.engine.inspection import TABLE
    from app.engine.output_paths import check_outputs

    if args.worst is not None and args.worst < 1:
        raise UsageError("--worst must be 1 or more")
    if args.as_webcam is not None and args.as_webcam < 0:
        raise UsageError("--as-webcam's SEED must be 0 or more")
    if args.draw is not None:
        if args.worst is None:
            raise UsageError("--draw needs --worst N: how many of the worst people to draw")
        if Path(args.draw).exists() and not Path(args.draw).is_dir():
            raise UsageError(f"--draw {args.draw}: is a file; name a folder for the drawings")
    if args.csv is not None:
        check_outputs([(args.csv, TABLE)], inputs=[args.dataset])


def inspect_with_bar(pipeline: PosePipeline, annotations: list[Annotation],
                     args: argparse.Namespace) -> InspectionReport:
    """Every person scored (app.engine.inspection, as the app's inspector scores them), with
    a progress bar: with no box, a thousand people take minutes."""
    from tqdm import tqdm

    from app.engine.inspection import inspect

    with tqdm(unit="person", desc="scoring", dynamic_ncols=True, leave=False) as bar:
        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = inspect(pipeline, annotations, box_free=args.box_free, stacks=args.stacks,
                         flip=args.flip, progress=advance, prepare=webcam_view(args.as_webcam))
    assert report is not None  # nothing cancels it: Ctrl-C ends the command
    return report


def webcam_view(seed: int | None) -> Prepare | None:
    """``--as-webcam``'s preparation: each photo's effects seeded by its name (its stem, the
    same in pack-data's WebP copy), never by its place in the set."""
    if seed is None:
        return None
    from app.train.camera_effects import photo_as_webcam

    return lambda image, person: photo_as_webcam(image, person.image_path.stem, seed)


def format_worst(people: list[PersonScore], threshold: float) -> str:
    """The worst people as lines: rank, image, PCK, joints missed."""
    lines = [f"{len(people)} people scored worst (PCK@{threshold}, joints missed):"]
    width = max((len(p.name) for p in people), default=0)
    lines += [f"{rank:>4}  {p.name:<{width}}  {p.pck:5.1f}%  {', '.join(p.missed) or '-'}"
              + ("  (left and right exchanged)" if p.mirrored else "")
              for rank, p in enumerate(people, 1)]
    return "\n".join(lines)


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
