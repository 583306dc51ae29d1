"""Publishing a run's best weights as the embedded default model, with its model card.

A run's weights replace the shipped model only when they are better where webcam users stand:
by a point or more on the judging slice (LSP's clean labels and upright people) without losing
more than a point on any other slice.  Both models are measured here, on the same images.

The card's numbers are all measured here too, at the moment of publishing, on every dataset's
held-out validation slice: accuracy with and without the flip test, per stack and per joint;
the app's own pipeline with no box given; how the model treats joints its crop or the picture
cuts off; and its latency on this machine.  What the card says of the recipe comes from the
checkpoint's own training record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from app.engine.benchmark import Latency, model_latency
from app.engine.charts import png_bytes
from app.engine.drawing import DEFAULT_THRESHOLD
from app.engine.pipeline import PosePipeline
from app.model.checkpoint import LoadedModel, load_checkpoint
from app.model.complexity import flops_per_stack_count, parameter_count
from app.model.devices import cpu_name
from app.model.predictors import create_predictor
from app.pose.affine import PERSON_BOX_MARGIN
from app.train.data import Augmentation, split_dataset
from app.train.evaluate import (
    Evaluation,
    LiveCheck,
    TruncationCheck,
    ValidationSlice,
    framing_check,
    predict_live,
    score,
    small_person_check,
    truncation_check,
)
from app.train.report import training_curve_chart
from app.train.stages import describe_stages, stages_of

# The training curve's picture, beside the card.
CURVE_FILE = "training-curve.png"

# The publishing rule: points to gain on the judging slice, and at most to lose on the others.
GAIN_NEEDED = 1.0
LOSS_ALLOWED = 1.0


class PublishRefused(Exception):
    """The run's weights are not better than the shipped model's by the rule; nothing written."""


@dataclass
class SliceReport:
    """Everything the card says of one dataset's validation slice."""

    name: str
    plain: Evaluation
    flipped: Evaluation
    live: Evaluation  # the app's pipeline given no box: one "stack" per frame


def publish_verdict(candidate: dict[str, float], shipped: dict[str, float], judge: str
                    ) -> str | None:
    """Why ``candidate`` (PCK per slice) may not replace ``shipped``, or None when it may."""
    gain = candidate[judge] - shipped[judge]
    if gain < GAIN_NEEDED:
        return (f"{judge} slice {candidate[judge]:.1f} against the shipped model's "
                f"{shipped[judge]:.1f}: needs {GAIN_NEEDED:.0f} point or more")
    for name, value in candidate.items():
        if name != judge and name in shipped and shipped[name] - value > LOSS_ALLOWED:
            return (f"{name} slice {value:.1f} against the shipped model's {shipped[name]:.1f}: "
                    f"loses more than {LOSS_ALLOWED:.0f} point")
    return None


def judge_of(training: dict, names: list[str]) -> str:
    judge = training.get("judge", "lsp")
    return judge if judge in names else names[0]


def publish(run_dir: Path, datasets: list[str], target: Path, force: bool = False,
            ablations: dict[str, Ablation] | None = None) -> str:
    """Copy ``run_dir/best.safetensors`` to ``target`` and write the card beside it, unless the
    shipped model at ``target`` is as good by the rule (``force`` publishes anyway)."""
    best = run_dir / "best.safetensors"
    loaded = load_checkpoint(best)
    slices = {split.name: ValidationSlice(split.validation)
              for split in (split_dataset(path) for path in datasets)}
    judge = judge_of(loaded.spec.training, list(slices))
    predictor = create_predictor(loaded, "cpu")  # as the app runs it
    plain = {name: held_out.score(predictor) for name, held_out in slices.items()}
    if target.is_file() and not force:
        shipped = create_predictor(load_checkpoint(target), "cpu")
        verdict = publish_verdict({name: e.mean for name, e in plain.items()},
                                  {name: s.score(shipped).mean for name, s in slices.items()},
                                  judge)
        if verdict:
            raise PublishRefused(f"not published: {verdict} (--force publishes anyway)")
    pipeline = PosePipeline(predictor)  # the app's own, reset for every photo
    reports = [SliceReport(name, plain[name], held_out.score(predictor, flip=True),
                           score(predict_live(pipeline, held_out.annotations, held_out.images)[0],
                                 predictor.spec.skeleton))
               for name, held_out in slices.items()]
    people = [a for held_out in slices.values() for a in held_out.annotations]
    images = [im for held_out in slices.values() for im in held_out.images]
    truncation = truncation_check(predictor, people, images, DEFAULT_THRESHOLD)
    framing = framing_check(pipeline, people, images, DEFAULT_THRESHOLD)
    small = small_person_check(pipeline, people, images)
    latencies = [model_latency(predictor, k) for k in range(1, loaded.spec.config.stacks + 1)]
    card = model_card(loaded, best, target.name, judge, reports, truncation, framing, latencies,
                      predictor.precision, lever_table(ablations or {}, judge), small)
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, best.read_bytes())
    if loaded.spec.training.get("history"):
        replace_file(target.parent / CURVE_FILE,
                     png_bytes(training_curve_chart(loaded.spec.training["history"])))
    replace_file(target.parent / "README.md", card.encode("utf-8"))
    return card


def replace_file(path: Path, content: bytes) -> None:
    """Write beside ``path`` and rename over it: a failed write leaves the old file whole."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    partial.replace(path)


@dataclass(frozen=True)
class Ablation:
    """A run that differs from another by one lever, read from its log; ``up_to_step`` compares
    runs at matched steps (a run stopped early beside one that went on)."""

    run_dir: Path
    up_to_step: int | None = None


def best_record(ablation: Ablation, judge: str) -> dict:
    """The validation record of a run's best weights by the judging slice (its log), among
    those up to ``ablation.up_to_step``."""
    lines = (ablation.run_dir / "log.jsonl").read_text().splitlines()
    records = [r for r in map(json.loads, lines)
               if ablation.up_to_step is None or r["step"] <= ablation.up_to_step]
    if not records:
        raise PublishRefused(f"{ablation.run_dir}: no validation up to step "
                             f"{ablation.up_to_step}")
    return max(records, key=lambda r: r.get("slices", {}).get(judge, {}).get("mean", r["mean"]))


def lever_table(ablations: dict[str, Ablation], judge: str) -> str:
    """What each lever contributed: runs that differ by one lever, by their best validation."""
    if not ablations:
        return ""
    rows = []
    names: list[str] = []
    for label, ablation in ablations.items():
        record = best_record(ablation, judge)
        slices = {name: s["mean"] for name, s in record.get("slices", {}).items()}
        names = names or sorted(slices, key=lambda n: n != judge)
        rows.append(f"| {label} | " + " | ".join(f"{slices.get(n, float('nan')):.1f}"
                                                 for n in names)
                    + f" | {record['step']} | {record['hours']:.2f} |")
    header = " | ".join(f"{name} slice" for name in names)
    return ("| run | " + header + " | step | training hours |\n|---|"
            + "---|" * (len(names) + 2) + "\n" + "\n".join(rows))


def slice_figure(record: dict, name: str) -> str:
    """A training-log record's figure for one slice; a dash where that stage did not measure
    it (stages that trained on one dataset logged only the judged figure)."""
    value = record.get("slices", {}).get(name)
    return "-" if value is None else f"{value:.1f}"


def percent_row(values: list[float]) -> str:
    return " | ".join(f"{v:.1f}" for v in values)


def describe_data(training: dict, reports: list[SliceReport]) -> str:
    recipe = training.get("recipe", {})
    sizes = ", ".join(f"{r.name} {r.plain.images}" for r in reports)
    return (f"Datasets, as the run read them: {training.get('dataset', 'not recorded')}. "
            f"Each dataset holds out a fixed, seeded validation slice that is never trained on "
            f"(measurable people, whose torso can be scored: {sizes}); the "
            f"`{training.get('judge', reports[0].name)}` slice chose the best weights. "
            f"Repeats per epoch in the last stage (the mix, in the order above): "
            f"{describe_repeats(recipe.get('repeats'))}.")


def describe_repeats(repeats: list[int] | None) -> str:
    return " : ".join(map(str, repeats)) if repeats else "each dataset once"


def describe_teacher(training: dict) -> str:
    recipe = training.get("recipe", {})
    if not recipe.get("teacher"):
        return ("No teacher: the labels alone. (The optional EfficientPose teacher, "
                "`hourglass-pose teach`, was not used for these weights.)")
    used = [what for what, on in (
        ("left/right repair of crowd labels it contradicts", recipe.get("teacher_swaps")),
        ("labels for unlabelled joints it is sure of", recipe.get("teacher_fill")),
        (f"its maps as {recipe.get('distil', 0):.0%} of the labelled joints' targets",
         recipe.get("distil", 0) > 0)) if on]
    changes = "; ".join(f"{name}: {c['swapped']} of {c['people']} people's sides exchanged, "
                        f"{c['filled_joints']} joints filled"
                        for name, c in training.get("teacher_changes", {}).items())
    return (f"Teacher: EfficientPose ({recipe.get('teacher_model')}; Groos, Ramampiaro and "
            "Ihlen, Applied Intelligence 2021; Apache-2.0), trained on MPII, run once over the "
            "training people at training time only (flip-averaged, people the labels show "
            "upside down turned upright first); the app never runs it. Used for: "
            + ("; ".join(used) or "nothing") + (f". Changes: {changes}." if changes else "."))


def describe_augmentation(recipe: dict) -> str:
    augmentation = Augmentation(**recipe.get("augmentation", {}))
    scale = augmentation.scale
    parts = [f"scale {scale[0]}-{scale[1]}",
             f"rotation up to {augmentation.rotation:g} degrees "
             f"(p = {augmentation.rotation_probability:g})",
             f"horizontal flip with left/right swap (p = {augmentation.flip_probability:g})",
             f"colour jitter ({augmentation.colour:g})",
             f"half-body crops (p = {augmentation.half_body_probability:g})",
             f"truncation crops (p = {augmentation.truncation_probability:g})",
             f"frame edges (p = {augmentation.frame_edge_probability:g}: the crop black beyond "
             "a line, as past the edge of a webcam frame, with the joints there taught absent)"]
    if augmentation.occluder_probability > 0:
        low, high = augmentation.occluder_size
        parts.append(f"occluders (p = {augmentation.occluder_probability:g}: up to "
                     f"{augmentation.occluders_most:g} patches of other training photos, "
                     f"{low:g}-{high:g} of the crop's side, pasted over the person)")
    return ", ".join(parts)


def model_card(loaded: LoadedModel, path: Path, name: str, judge: str,
               reports: list[SliceReport],
               truncation: TruncationCheck, framing: TruncationCheck, latencies: list[Latency],
               precision: str, levers: str, small: LiveCheck) -> str:
    spec, training = loaded.spec, loaded.spec.training
    config = spec.config
    recipe = training.get("recipe", {})
    flops = flops_per_stack_count(loaded.network, spec.input_size)
    stacks_header = " | ".join(f"stack {k + 1}" for k in range(config.stacks))
    accuracy = "\n".join(
        f"| {r.name} | {how} | {e.mean:.1f} | {percent_row(e.per_stack)} |"
        for r in reports for how, e in (("single pass", r.plain), ("flip test", r.flipped)))
    joint_header = " | ".join(f"{r.name} | {r.name}, flip" for r in reports)
    joints = "\n".join(
        f"| {joint} | " + " | ".join(f"{r.plain.per_joint[joint]:.1f} | "
                                     f"{r.flipped.per_joint[joint]:.1f}" for r in reports) + " |"
        for joint in spec.skeleton.joint_names)
    mirrored = "; ".join(
        f"{r.name} {r.plain.mirrored_people:.1f}% (PCK@0.2 would be "
        f"{r.plain.mean_mirrors_forgiven:.1f} if each were read that way)" for r in reports)
    live = "\n".join(f"| {r.name} | {percent_row(r.live.per_stack)} | {r.plain.mean:.1f} |"
                     for r in reports)
    frame_header = " | ".join(f"frame {k + 1}" for k in range(len(reports[0].live.per_stack)))
    history = "\n".join(
        f"| {h['hours']:.2f} | {h['step']} | "
        + " | ".join(slice_figure(h, r.name) for r in reports)
        + f" | {h['mean']:.1f} |" for h in training.get("history", []))
    history_header = " | ".join(f"{r.name}" for r in reports)
    curve = (f"![Validation PCK of each slice against hours of training steps]({CURVE_FILE})\n\n"
             if history else "")
    speed = "\n".join(f"| {lat.stacks} | {lat.median_ms:.1f} | {lat.p90_ms:.1f} | "
                      f"{flops[lat.stacks - 1] / 1e9:.2f} |" for lat in latencies)
    small_row = (f"| every slice, the person a third of a 640x480 frame high | "
                 f"{percent_row(small.evaluation.per_stack)} | {small.true_box:.1f} |")
    lever_section = (f"\n## What each lever contributed\nBest validation of runs that differ "
                     f"by one lever (each run's own log, the same slices; a step limit in the "
                     f"label compares runs at matched steps):\n\n{levers}\n"
                     if levers else "")
    return f"""# Model card: `{name}`

The embedded default model of Hourglass Pose: a Stacked Hourglass network (Newell et al.,
ECCV 2016) trained by this project's own `hourglass-pose train`. Every number below was
measured by `hourglass-pose publish` on {time.strftime('%Y-%m-%d')}, unless it says otherwise.

## Architecture
- {config.stacks} stacks x {config.channels} channels, hourglass depth {config.depth},
  pre-activation bottleneck residuals, intermediate supervision after every stack
  (each stack's heatmaps are a full prediction: the app's stacks control runs the first k).
- Input {spec.input_size} x {spec.input_size} px (the person box, {PERSON_BOX_MARGIN}x the joints'
  extent), heatmaps {spec.heatmap_size} x {spec.heatmap_size};
  {parameter_count(loaded.network) / 1e6:.2f} M parameters; stored in half precision
  ({path.stat().st_size / 1e6:.1f} MB).
- {spec.skeleton.num_joints} joints: {", ".join(spec.skeleton.joint_names)}.

## Data
LSPet (Johnson and Everingham, CVPR 2011): Flickr photos of parkour, gymnastics and athletics,
crowd-labelled; LSP (Johnson and Everingham, BMVC 2010), its training half: sports photos with
expert labels and more upright people, the closer of the two to a webcam's view.
{describe_data(training, reports)}

{describe_teacher(training)}

## Recipe
Sigma {recipe.get('sigma')} Gaussian targets; masked mean-squared error with foreground
pixels weighted {recipe.get('foreground_weight')}, summed over stacks; joints cut off by the
crop taught as all-zero maps weighted like foreground over the whole map. In the last stage:
AdamW, learning rate {recipe.get('learning_rate')} with a
{recipe.get('warmup_steps')}-step warm-up and a cosine decay over {recipe.get('epochs')} epochs,
batch {recipe.get('batch_size')}, EMA of the weights ({recipe.get('ema_decay')}). Augmentation:
{describe_augmentation(recipe)}.

{describe_stages(stages_of(training))}
{lever_section}
## Accuracy (PCK@0.2 of the torso diameter, given the true person box, {precision})

| slice | | mean | {stacks_header} |
|---|---|---|{"|".join(["---"] * config.stacks)}|
{accuracy}

| joint | {joint_header} |
|---|{"|".join(["---"] * (2 * len(reports)))}|
{joints}

Left and right: the share of people who score more joints with the predicted left and right
exchanged: {mirrored}.

## In the app: no box given
The app must find the person itself: a frame with no track is searched (the whole frame and
zoomed windows over it, the most confident candidate's box refined on that frame until it
settles), and each later frame is tracked from the last pose. Each validation photo shown as
a still, smoothing off, PCK@0.2 after each frame, beside the figure with the true box:

| slice | {frame_header} | true box |
|---|{"|".join(["---"] * (len(reports[0].live.per_stack) + 1))}|
{live}
{small_row}

The last row is a person far from the camera: each photo shrunk so its person is a third of
the frame high, at a random place in it. The app found a person in
{" / ".join(f"{v:.1f}" for v in small.found)}% of those photos in frames
{" / ".join(str(k + 1) for k in range(len(small.found)))}.

## Joints outside the crop
Measured on the people of every slice together. With the person's box shifted by half its
side (left, right, up, down), {truncation.outside} labelled joints fell outside the crop:
{truncation.outside_shown:.1f}% of them still scored at or above the app's default display
threshold ({truncation.threshold}), against {truncation.inside_shown:.1f}% of the
{truncation.inside} joints inside it.

In the app, framed as a webcam frames the upper body: each upright person's photo cut to a
4:3 picture from just above the head to 0.3 of the torso's length below the hips, and shown to
the box-free pipeline as a still for four frames (smoothing off). Of the {framing.outside}
labelled joints outside the picture, {framing.outside_shown:.1f}% were still shown in the last
frame, against {framing.inside_shown:.1f}% of the {framing.inside} joints in the picture.

## Training
Validation PCK during training (EMA weights, single pass, measured by the trainer; a stage
that read a compact copy of the data, `hourglass-pose pack-data`, was validated on that copy's
smaller images):

{curve}| training hours | step (of its stage) | {history_header} | judged |
|---|---|{"|".join(["---"] * len(reports))}|---|
{history}

## Speed
Batch 1, {precision} (as the app runs it here), {cpu_name()}, BatchNorm folded, median and
90th percentile of 30 runs after warm-up (`hourglass-pose bench` measures the whole pipeline):

| stacks | median ms | p90 ms | GFLOPs |
|---|---|---|---|
{speed}

## Limits
- One person per frame: the pose of whoever fills the tracked box; no detector.
- 2D only; the {spec.skeleton.num_joints} joints above (no face, hands or feet keypoints).
- Trained on sports photos (upright to acrobatic whole bodies, about 150 px tall); half-body
  crops and frame edges stand in for webcam framing, which neither dataset shows.
- LSPet's labels are crowd-sourced and noisy (some name the sides as the viewer sees them);
  its images are low resolution. Judge the model by the `{judge}` slice.
"""
