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
from dataclasses import dataclass
from pathlib import Path

from app.atomic_write import write_atomically
from app.engine.benchmark import model_latency
from app.engine.charts import png_bytes
from app.engine.drawing import DEFAULT_THRESHOLD
from app.engine.pipeline import PosePipeline
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor, describe_runtime
from app.train.card import CURVE_FILE, Measurements, SliceReport, model_card
from app.train.datasets import split_dataset
from app.train.evaluate import (
    ValidationSlice,
    framing_check,
    predict_live,
    score,
    small_person_check,
    truncation_check,
)
from app.train.report import training_curve_chart

# The publishing rule: points to gain on the judging slice, and at most to lose on the others.
GAIN_NEEDED = 1.0
LOSS_ALLOWED = 1.0


class PublishRefused(Exception):
    """The run's weights are not better than the shipped model's by the rule; nothing written."""


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
    levers = {label: best_record(ablation, judge) for label, ablation in (ablations or {}).items()}
    card = model_card(loaded, best, target.name, judge, Measurements(
        reports, truncation, framing, small, latencies, describe_runtime(predictor),
        levers))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, best.read_bytes())
    if loaded.spec.training.get("history"):
        write_atomically(target.parent / CURVE_FILE,
                         png_bytes(training_curve_chart(loaded.spec.training["history"])))
    write_atomically(target.parent / "README.md", card.encode("utf-8"))
    return card


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
