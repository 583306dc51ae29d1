"""The model card's text, one function per section.

``publish`` measures; this module only says what was measured and what the weights' own
training record holds, so a section can change without touching the others or the measuring.
Every number in the card comes from one of the two.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.engine.benchmark import Latency
from app.engine.scoring import Evaluation
from app.model.checkpoint import LoadedModel
from app.model.complexity import flops_per_stack_count, parameter_count
from app.model.devices import cpu_name
from app.model.spec import ModelSpec
from app.pose.affine import PERSON_BOX_MARGIN
from app.train.data import Augmentation
from app.train.evaluate import LiveCheck, TruncationCheck
from app.train.stages import describe_stages, stages_of

# The training curve's picture, beside the card.
CURVE_FILE = "training-curve.png"


@dataclass
class SliceReport:
    """Everything the card says of one dataset's validation slice."""

    name: str
    plain: Evaluation
    flipped: Evaluation
    live: Evaluation  # the app's pipeline given no box: one "stack" per frame


@dataclass
class Measurements:
    """What ``publish`` measured of the weights, on this machine, for the card."""

    reports: list[SliceReport]
    truncation: TruncationCheck  # the crop shifted off the person
    framing: TruncationCheck  # the picture cut as a webcam frames the upper body
    small: LiveCheck  # a person far from the camera
    latencies: list[Latency]  # one per number of stacks run
    runtime: str  # the device, runtime and precision the app runs the model with here
    levers: dict[str, dict]  # each ablation's label: its best validation record


def model_card(loaded: LoadedModel, path: Path, name: str, judge: str,
               measured: Measurements) -> str:
    """The card of the weights ``loaded`` from ``path``, published as ``name``."""
    training, reports = loaded.spec.training, measured.reports
    sections = [
        title(name),
        architecture(loaded, path),
        data(training, reports),
        describe_teacher(training),
        recipe(training.get("recipe", {})),
        describe_stages(stages_of(training)),
        lever_section(measured.levers, judge),
        accuracy(loaded.spec, reports, measured.runtime),
        without_a_box(reports, measured.small),
        outside_the_view(measured.truncation, measured.framing),
        training_history(training.get("history", []), reports),
        speed(loaded, measured.latencies, measured.runtime),
        limits(loaded.spec, judge),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table (an empty cell as one space)."""
    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def figures(values: Iterable[float]) -> list[str]:
    return [f"{v:.1f}" for v in values]


def title(name: str) -> str:
    return f"""# Model card: `{name}`

The embedded default model of Hourglass Pose: a Stacked Hourglass network (Newell et al.,
ECCV 2016) trained by this project's own `hourglass-pose train`. Every number below was
measured by `hourglass-pose publish` on {time.strftime('%Y-%m-%d')}, unless it says otherwise."""


def architecture(loaded: LoadedModel, path: Path) -> str:
    spec, config = loaded.spec, loaded.spec.config
    return f"""## Architecture
- {config.stacks} stacks x {config.channels} channels, hourglass depth {config.depth},
  pre-activation bottleneck residuals, intermediate supervision after every stack
  (each stack's heatmaps are a full prediction: the app's stacks control runs the first k).
- Input {spec.input_size} x {spec.input_size} px (the person box, {PERSON_BOX_MARGIN}x the joints'
  extent), heatmaps {spec.heatmap_size} x {spec.heatmap_size};
  {parameter_count(loaded.network) / 1e6:.2f} M parameters; stored in half precision
  ({path.stat().st_size / 1e6:.1f} MB).
- {spec.skeleton.num_joints} joints: {", ".join(spec.skeleton.joint_names)}."""


def data(training: dict, reports: list[SliceReport]) -> str:
    recipe = training.get("recipe", {})
    sizes = ", ".join(f"{r.name} {r.plain.images}" for r in reports)
    return """## Data
LSPet (Johnson and Everingham, CVPR 2011): Flickr photos of parkour, gymnastics and athletics,
crowd-labelled; LSP (Johnson and Everingham, BMVC 2010), its training half: sports photos with
expert labels and more upright people, the closer of the two to a webcam's view.
""" + (f"Datasets, as the run read them: {training.get('dataset', 'not recorded')}. "
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


def recipe(recipe: dict) -> str:
    return f"""## Recipe
Sigma {recipe.get('sigma')} Gaussian targets; masked mean-squared error with foreground
pixels weighted {recipe.get('foreground_weight')}, summed over stacks; joints cut off by the
crop taught as all-zero maps weighted like foreground over the whole map. In the last stage:
AdamW, learning rate {recipe.get('learning_rate')} with a
{recipe.get('warmup_steps')}-step warm-up and a cosine decay over {recipe.get('epochs')} epochs,
batch {recipe.get('batch_size')}, EMA of the weights ({recipe.get('ema_decay')}). Augmentation:
{describe_augmentation(recipe)}."""


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


def lever_section(levers: dict[str, dict], judge: str) -> str:
    """What each lever contributed: runs that differ by one lever, by their best validation
    (nothing when no such runs were named)."""
    if not levers:
        return ""
    names = next((sorted(record["slices"], key=lambda n: n != judge)
                  for record in levers.values() if record.get("slices")), [])
    rows = [[label, *figures(record.get("slices", {}).get(n, {}).get("mean", float("nan"))
                             for n in names),
             str(record["step"]), f"{record['hours']:.2f}"]
            for label, record in levers.items()]
    header = ["run", *(f"{name} slice" for name in names), "step", "training hours"]
    return ("## What each lever contributed\nBest validation of runs that differ by one lever "
            "(each run's own log, the same slices; a step limit in the label compares runs at "
            "matched steps):\n\n" + table(header, rows))


def accuracy(spec: ModelSpec, reports: list[SliceReport], runtime: str) -> str:
    stacks = [f"stack {k + 1}" for k in range(spec.config.stacks)]
    by_stack = table(["slice", "", "mean", *stacks],
                     [[r.name, how, f"{e.mean:.1f}", *figures(e.per_stack)]
                      for r in reports for how, e in (("single pass", r.plain),
                                                      ("flip test", r.flipped))])
    by_joint = table(["joint", *(f"{r.name}{flip}" for r in reports for flip in ("", ", flip"))],
                     [[joint, *(f"{e.per_joint[joint]:.1f}" for r in reports
                                for e in (r.plain, r.flipped))]
                      for joint in spec.skeleton.joint_names])
    mirrored = "; ".join(
        f"{r.name} {r.plain.mirrored_people:.1f}% (PCK@0.2 would be "
        f"{r.plain.mean_mirrors_forgiven:.1f} if each were read that way)" for r in reports)
    return f"""## Accuracy (PCK@0.2 of the torso diameter, given the true person box)
As the app runs the model here: {runtime}.

{by_stack}

{by_joint}

Left and right: the share of people who score more joints with the predicted left and right
exchanged: {mirrored}."""


def without_a_box(reports: list[SliceReport], small: LiveCheck) -> str:
    frames = len(reports[0].live.per_stack)
    rows = [[r.name, *figures(r.live.per_stack), f"{r.plain.mean:.1f}"] for r in reports]
    rows.append(["every slice, the person a third of a 640x480 frame high",
                 *figures(small.evaluation.per_stack), f"{small.true_box:.1f}"])
    live = table(["slice", *(f"frame {k + 1}" for k in range(frames)), "true box"], rows)
    return f"""## In the app: no box given
The app must find the person itself: a frame with no track is searched (the whole frame and
zoomed windows over it, the most confident candidate's box refined on that frame until it
settles), and each later frame is tracked from the last pose. Each validation photo shown as
a still, smoothing off, PCK@0.2 after each frame, beside the figure with the true box:

{live}

The last row is a person far from the camera: each photo shrunk so its person is a third of
the frame high, at a random place in it. The app found a person in
{" / ".join(figures(small.found))}% of those photos in frames
{" / ".join(str(k + 1) for k in range(len(small.found)))}."""


def outside_the_view(truncation: TruncationCheck, framing: TruncationCheck) -> str:
    return f"""## Joints outside the crop
Measured on the people of every slice together. With the person's box shifted by half its
side (left, right, up, down), {truncation.outside} labelled joints fell outside the crop:
{truncation.outside_shown:.1f}% of them still scored at or above the app's default display
threshold ({truncation.threshold}), against {truncation.inside_shown:.1f}% of the
{truncation.inside} joints inside it.

In the app, framed as a webcam frames the upper body: each upright person's photo cut to a
4:3 picture from just above the head to 0.3 of the torso's length below the hips, and shown to
the box-free pipeline as a still for four frames (smoothing off). Of the {framing.outside}
labelled joints outside the picture, {framing.outside_shown:.1f}% were still shown in the last
frame, against {framing.inside_shown:.1f}% of the {framing.inside} joints in the picture."""


def slice_figure(record: dict, name: str) -> str:
    """A training-log record's figure for one slice; a dash where that stage did not measure
    it (stages that trained on one dataset logged only the judged figure)."""
    value = record.get("slices", {}).get(name)
    return "-" if value is None else f"{value:.1f}"


def training_history(history: list[dict], reports: list[SliceReport]) -> str:
    curve = (f"![Validation PCK of each slice against hours of training steps]({CURVE_FILE})\n\n"
             if history else "")
    rows = [[f"{h['hours']:.2f}", str(h["step"]), *(slice_figure(h, r.name) for r in reports),
             f"{h['mean']:.1f}"] for h in history]
    header = ["training hours", "step (of its stage)", *(r.name for r in reports), "judged"]
    return f"""## Training
Validation PCK during training (EMA weights, single pass, measured by the trainer; a stage
that read a compact copy of the data, `hourglass-pose pack-data`, was validated on that copy's
smaller images):

{curve}{table(header, rows)}"""


def speed(loaded: LoadedModel, latencies: list[Latency], runtime: str) -> str:
    flops = flops_per_stack_count(loaded.network, loaded.spec.input_size)
    rows = [[str(lat.stacks), f"{lat.median_ms:.1f}", f"{lat.p90_ms:.1f}",
             f"{1000 / lat.median_ms:.0f}", f"{flops[lat.stacks - 1] / 1e9:.2f}"]
            for lat in latencies]
    return f"""## Speed
The network alone, batch 1, as the app runs it here: {runtime}, on {cpu_name()}. Median
and 90th percentile of 30 runs after warm-up, and the frames/s the median allows (`hourglass-pose
bench` measures the whole pipeline, capture to drawn skeleton):

{table(["stacks", "median ms", "p90 ms", "network frames/s", "GFLOPs"], rows)}"""


def limits(spec: ModelSpec, judge: str) -> str:
    return f"""## Limits
- One person per frame: the pose of whoever fills the tracked box; no detector.
- 2D only; the {spec.skeleton.num_joints} joints above (no face, hands or feet keypoints).
- Trained on sports photos (upright to acrobatic whole bodies, about 150 px tall); half-body
  crops and frame edges stand in for webcam framing, which neither dataset shows.
- LSPet's labels are crowd-sourced and noisy (some name the sides as the viewer sees them);
  its images are low resolution. Judge the model by the `{judge}` slice."""
