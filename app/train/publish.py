"""Publishing a run's best weights as the embedded default model, with its model card.

The card's numbers are all measured here, on the held-out validation slice, at the moment of
publishing: accuracy with and without the flip test, per stack and per joint; how the model
treats joints its crop cuts off; and its latency on this machine.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from app.engine.benchmark import Latency, model_latency
from app.engine.drawing import DEFAULT_THRESHOLD
from app.engine.pipeline import PosePipeline, create_predictor
from app.model.checkpoint import load_checkpoint
from app.model.complexity import flops_per_stack_count, parameter_count
from app.model.runner import cpu_name
from app.train.data import load_annotations, read_image, split_validation
from app.train.evaluate import (
    Evaluation,
    TruncationCheck,
    framing_check,
    predict_annotations,
    predict_live,
    score,
    truncation_check,
)
from app.train.stages import describe_stages, stages_of


def publish(run_dir: Path, dataset: str, target: Path) -> str:
    """Copy ``run_dir/best.safetensors`` to ``target`` and write the card beside it."""
    best = run_dir / "best.safetensors"
    loaded = load_checkpoint(best)
    spec = loaded.spec
    validation = split_validation(load_annotations(dataset))[1]
    images = [read_image(a.image_path) for a in validation]
    predictor = create_predictor(loaded, "cpu")  # as the app runs it
    skeleton = spec.skeleton
    plain = score(predict_annotations(predictor, validation, images), skeleton)
    flipped = score(predict_annotations(predictor, validation, images, flip=True), skeleton)
    pipeline = PosePipeline(predictor)  # the app's own, reset for every photo
    live = score(predict_live(pipeline, validation, images), skeleton)
    truncation = truncation_check(predictor, validation, images, DEFAULT_THRESHOLD)
    framing = framing_check(pipeline, validation, images, DEFAULT_THRESHOLD)
    latencies = [model_latency(predictor, k) for k in range(1, spec.config.stacks + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, target)
    card = model_card(target, plain, flipped, live, truncation, framing, latencies,
                      predictor.precision)
    (target.parent / "README.md").write_text(card, encoding="utf-8")
    return card


def percent_row(values: list[float]) -> str:
    return " | ".join(f"{v:.1f}" for v in values)


def model_card(path: Path, plain: Evaluation, flipped: Evaluation, live: Evaluation,
               truncation: TruncationCheck, framing: TruncationCheck, latencies: list[Latency],
               precision: str) -> str:
    loaded = load_checkpoint(path)
    spec, training = loaded.spec, loaded.spec.training
    config = spec.config
    recipe = training.get("recipe", {})
    flops = flops_per_stack_count(loaded.network, spec.input_size)
    stacks_header = " | ".join(f"stack {k + 1}" for k in range(config.stacks))
    rule = "|".join(["---"] * (config.stacks + 1))
    joints = "\n".join(
        f"| {name} | {plain.per_joint[name]:.1f} | {flipped.per_joint[name]:.1f} |"
        for name in spec.skeleton.joint_names)
    history = "\n".join(f"| {h['hours']:.2f} | {h['step']} | {h['mean']:.1f} |"
                        for h in training.get("history", []))
    speed = "\n".join(f"| {lat.stacks} | {lat.median_ms:.1f} | {lat.p90_ms:.1f} | "
                      f"{flops[lat.stacks - 1] / 1e9:.2f} |" for lat in latencies)
    live_pck = " / ".join(f"{v:.1f}" for v in live.per_stack)  # one value per frame
    live_frames = " / ".join(str(k + 1) for k in range(len(live.per_stack)))
    return f"""# Model card: `{path.name}`

The embedded default model of Hourglass Pose: a Stacked Hourglass network (Newell et al.,
ECCV 2016) trained from scratch by this project's `hourglass-pose train` on LSPet. Every number
below was measured by `hourglass-pose publish` on {time.strftime('%Y-%m-%d')}.

## Architecture
- {config.stacks} stacks x {config.channels} channels, hourglass depth {config.depth},
  pre-activation bottleneck residuals, intermediate supervision after every stack
  (each stack's heatmaps are a full prediction: the app's stacks control runs the first k).
- Input {spec.input_size} x {spec.input_size} px (the person box, 1.3x the joints' extent),
  heatmaps {spec.heatmap_size} x {spec.heatmap_size}; {parameter_count(loaded.network) / 1e6:.2f} M
  parameters; stored in half precision ({path.stat().st_size / 1e6:.1f} MB).
- 14 LSP joints: {", ".join(spec.skeleton.joint_names)}.

## Data
LSPet (Johnson and Everingham, CVPR 2011) as in `../shared/datasets/lspet`: 9,000 Flickr images
of parkour, gymnastics and athletics, one annotated person each. A fixed, seeded slice of
{plain.images} measurable images (of 500 held out; images whose torso cannot be measured are
skipped) is never trained on; everything else is.

## Recipe
Sigma {recipe.get('sigma')} Gaussian targets; masked mean-squared error with foreground
pixels weighted {recipe.get('foreground_weight')}, summed over stacks; joints cut off by the
crop taught as all-zero maps weighted like foreground over the whole map. In the last stage:
AdamW, learning rate {recipe.get('learning_rate')} with a
{recipe.get('warmup_steps')}-step warm-up and a cosine decay over {recipe.get('epochs')} epochs,
batch {recipe.get('batch_size')}, EMA of the weights ({recipe.get('ema_decay')}). Augmentation:
scale 0.75-1.25, rotation up to 30 degrees, horizontal flip with left/right swap, colour jitter,
half-body crops, truncation crops and frame edges (the crop black beyond a line, as past the
edge of a webcam frame, with the joints there taught as absent).

{describe_stages(stages_of(training))}

## Accuracy (PCK@0.2 of the torso diameter, validation slice, {plain.images} images, {precision})

| | mean | {stacks_header} |
|---|{rule}|
| single pass | {plain.mean:.1f} | {percent_row(plain.per_stack)} |
| flip test | {flipped.mean:.1f} | {percent_row(flipped.per_stack)} |

| joint | PCK | PCK, flip test |
|---|---|---|
{joints}

In the app there is no ground-truth box: the first frame is searched whole (letterboxed), and
each later frame in the box tracked from the last pose. Each validation photo shown as a still,
smoothing off: PCK@0.2 {live_pck} after frame {live_frames}.

Validation PCK during training (EMA weights, single pass):

| training hours | step (of its stage) | PCK@0.2 |
|---|---|---|
{history}

A stage that read a compact copy of the data (`hourglass-pose pack-data`) was validated on
that copy's smaller images; every other table here is measured on the original images.

## Joints outside the crop
With the person's box shifted by half its side (left, right, up, down), {truncation.outside}
labelled joints fell outside the crop: {truncation.outside_shown:.1f}% of them still scored at or
above the app's default display threshold ({truncation.threshold}), against
{truncation.inside_shown:.1f}% of the {truncation.inside} joints inside it.

In the app, framed as a webcam frames the upper body: each upright validation person's photo
cut to a 4:3 picture from just above the head to 0.3 of the torso's length below the hips, and
shown to the box-free pipeline as a still for four frames (smoothing off). Of the
{framing.outside} labelled joints outside the picture,
{framing.outside_shown:.1f}% were still shown in the last frame, against
{framing.inside_shown:.1f}% of the {framing.inside} joints in the picture.

## Speed
Batch 1, {precision} (as the app runs it here), {cpu_name()}, BatchNorm folded, median and
90th percentile of 30 runs after warm-up (`hourglass-pose bench` measures the whole pipeline):

| stacks | median ms | p90 ms | GFLOPs |
|---|---|---|---|
{speed}

## Limits
- One person per frame: the pose of whoever fills the tracked box; no detector.
- 2D only; 14 LSP joints (no face, hands or feet keypoints).
- Trained on sports photos (upright to acrobatic whole bodies, about 150 px tall); half-body
  crops were added for webcam framing, but webcam upper bodies are still less familiar to it.
- LSPet's labels are crowd-sourced and noisy; its images are low resolution.
- Left and right: {plain.mirrored_people:.1f}% of the validation people score more joints with
  the predicted left and right exchanged (PCK@0.2 would be {plain.mean_mirrors_forgiven:.1f} if
  each were read that way): the model's mix-ups (people facing away, tumbling) or labels that
  name the sides as the viewer sees them.
"""
