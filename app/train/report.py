"""Evaluation results for people: a console table, PCK-versus-threshold curves and the
training curve (PNGs)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from app.engine.charts import draw_line_chart, line_chart
from app.engine.inspection import PersonScore
from app.engine.scoring import Evaluation, Predictions
from app.pose.metrics import pck_hits, pck_percent
from app.pose.skeleton import LSP14, Skeleton
from app.pose.views import facing


def arm_joints(per_joint: dict[str, float]) -> str:
    """Wrists and elbows (right / left), beside every mean: the joints a person at a desk
    moves most, and the model's weakest."""
    return ", ".join(f"{part}s " + " / ".join(f"{per_joint[f'{side} {part}']:.1f}"
                                              for side in ("right", "left"))
                     for part in ("wrist", "elbow")
                     if f"right {part}" in per_joint and f"left {part}" in per_joint)


def validation_line(record: dict, per_stack: list[float], images_per_second: float,
                    remaining_s: float) -> str:
    """The trainer's line at each validation: the step's loss per stack, every slice's PCK with
    the arms beside it, how far the judge's best rose lately, the pace and the time left."""
    return (f"step {record['step']} epoch {record['epoch']} loss/stack "
            + " ".join(f"{v:.4f}" for v in per_stack) + " | val PCK@0.2 "
            + ", ".join(f"{name} {slice_['mean']:.1f} (stacks "
                        + " / ".join(f"{v:.1f}" for v in slice_["per_stack"])
                        + f"; {arm_joints(slice_['per_joint'])})"
                        for name, slice_ in record["slices"].items())
            + ("" if record.get("recent_gain") is None else
               f" | best {record['judge']} +{record['recent_gain']:.2f} over the last "
               f"{PLATEAU_HOURS:g} h")
            + f" | {images_per_second:.1f} img/s | ETA {remaining_s / 3600:.1f} h")


# More of the same recipe stops paying when the judge's best rose under a point over this many
# training hours (the end rule of the issue that chose the network).
PLATEAU_HOURS = 3.0


def recent_gain(history: list[dict], slice_name: str, hours: float = PLATEAU_HOURS
                ) -> float | None:
    """How far the best PCK on ``slice_name`` rose over the last ``hours`` of training, from a
    checkpoint's history (earlier stages' records included); None until its records span
    ``hours``."""
    scored = [(record["hours"], record["slices"][slice_name]) for record in history
              if slice_name in record.get("slices", {})]
    if not scored:
        return None
    before = [pck for at, pck in scored if at <= scored[-1][0] - hours]
    return max(pck for _, pck in scored) - max(before) if before else None


def format_table(evaluation: Evaluation) -> str:
    """PCK per stack and per joint, as aligned text."""
    arms = arm_joints(evaluation.per_joint)
    lines = [f"PCK@{evaluation.threshold} on {evaluation.images} images: "
             f"{evaluation.mean:.1f}%" + (f" ({arms})" if arms else ""), "", "stack  PCK"]
    lines += [f"{k + 1:>5}  {v:5.1f}" for k, v in enumerate(evaluation.per_stack)]
    lines += ["", f"{'joint':<16} PCK"]
    lines += [f"{name:<16} {value:5.1f}" for name, value in evaluation.per_joint.items()]
    lines += ["", f"{evaluation.mirrored_people:.1f}% of the people score better with left and "
              f"right exchanged ({evaluation.mean_mirrors_forgiven:.1f}% if each were)"]
    return "\n".join(lines)


def by_facing(people: list[PersonScore]) -> dict[str, dict[str, float]]:
    """PCK, wrists and left/right exchanges of the people facing each way (front, behind,
    side, not upright; from their labels): sports photos hold fewer people from behind, and
    the network misses more of theirs."""
    groups: dict[str, list[PersonScore]] = {}
    for person in people:
        if not math.isnan(person.pck):
            annotation = person.annotation
            groups.setdefault(facing(annotation.joints, annotation.visible), []).append(person)
    wrists = [LSP14.index("right wrist"), LSP14.index("left wrist")]
    table = {}
    for view in ("front", "behind", "side", "not upright", "unknown"):
        group = groups.get(view, [])
        if group:
            hits = np.array([p.hits[wrists] for p in group])
            counted = np.array([p.counted[wrists] for p in group])
            table[view] = {"people": len(group), "pck": float(np.mean([p.pck for p in group])),
                           "wrists": 100.0 * hits.sum() / max(1, counted.sum()),
                           "mirrored_percent": 100.0 * np.mean([p.mirrored for p in group])}
    return table


def format_facing(table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'facing':<12} {'people':>6} {'PCK':>6} {'wrists':>7} {'L/R exchanged':>14}"]
    lines += [f"{view:<12} {row['people']:>6} {row['pck']:6.1f} {row['wrists']:7.1f} "
              f"{row['mirrored_percent']:13.1f}%" for view, row in table.items()]
    return "\n".join(lines)


def joint_groups(skeleton: Skeleton) -> dict[str, list[int]]:
    """Joints grouped by name without side ("left wrist" and "right wrist" -> "wrist")."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(skeleton.joint_names):
        groups.setdefault(name.removeprefix("left ").removeprefix("right "), []).append(index)
    return groups


def pck_curves(predictions: Predictions, skeleton: Skeleton, thresholds: np.ndarray
               ) -> dict[str, np.ndarray]:
    """PCK of the last stack at each threshold, per joint group."""
    curves = {name: np.zeros(len(thresholds)) for name in joint_groups(skeleton)}
    for t, threshold in enumerate(thresholds):
        hits, counted = pck_hits(predictions.joints[-1], predictions.truth, predictions.visible,
                                 predictions.torso, float(threshold))
        for name, joints in joint_groups(skeleton).items():
            curves[name][t] = pck_percent(hits[:, joints], counted[:, joints])[0]
    return curves


def plot_pck_curves(predictions: Predictions, skeleton: Skeleton, path: str | Path) -> None:
    """PCK against threshold (0 to 0.5 of the torso) for each joint group, as a PNG."""
    thresholds = np.linspace(0.0, 0.5, 51)
    curves = pck_curves(predictions, skeleton, thresholds)
    draw_line_chart({name: (thresholds, values) for name, values in curves.items()}, path,
                    "PCK (%) against threshold (fraction of torso)",
                    x_ticks=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], y_ticks=range(0, 101, 20))


def training_curves(history: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """Each validation slice's PCK against training hours, from a checkpoint's history, named
    for the chart's legend.  Records from before slices were kept (one dataset) are "judged",
    as in the card's table."""
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for record in history:
        scores = {f"{name} slice": pck for name, pck in record.get("slices", {}).items()}
        for name, pck in (scores or {"judged": record["mean"]}).items():
            hours, values = curves.setdefault(name, ([], []))
            hours.append(record["hours"])
            values.append(pck)
    return curves


def training_curve_chart(history: list[dict]) -> np.ndarray:
    """The training curve as an image: where it flattens, more hours of the same recipe stop
    paying."""
    curves = training_curves(history)
    floor = min(90, int(min(min(values) for _, values in curves.values()) // 10) * 10)
    last_hour = max(max(hours) for hours, _ in curves.values())
    hour_step = max(1, math.ceil(last_hour / 10))
    hour_ticks = max(1, math.ceil(last_hour / hour_step))  # at least one step wide
    return line_chart(curves, "Validation PCK@0.2 (%) against hours of training steps",
                      x_ticks=range(0, hour_ticks * hour_step + 1, hour_step),
                      y_ticks=range(floor, 101, 10))
