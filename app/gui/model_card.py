"""The About-the-model text, from what a checkpoint says about itself."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.engine.models import ModelInfo


def accuracy_text(training: dict) -> str:
    """PCK on each held-out slice the weights were measured on, the judging one first."""
    per_stack = " / ".join(f"{v:.1f}" for v in training.get("validation_per_stack", []))
    slices = training.get("validation_slices")
    if not slices:  # weights measured on one dataset
        return (f"PCK@0.2 {training['validation_pck']:.1f}% on "
                f"{escape(str(training.get('dataset', 'held-out images')))}"
                f" (per stack: {per_stack})")
    judge = training.get("judge", next(iter(slices)))
    ordered = sorted(slices.items(), key=lambda item: item[0] != judge)
    return ("PCK@0.2 on held-out images: "
            + ", ".join(f"{escape(name)} {value:.1f}%" for name, value in ordered)
            + f" (per stack on {escape(judge)}: {per_stack})")


def model_card_html(info: ModelInfo) -> str:
    spec = info.spec
    config = spec.config
    rows = [
        ("File", escape(str(info.source))),
        ("Layout", escape(spec.layout)),
        ("Network", f"{config.stacks} stacks × {config.channels} channels, hourglass depth "
                    f"{config.depth}"),
        ("Input", f"{spec.input_size} × {spec.input_size} px → heatmaps "
                  f"{spec.heatmap_size} × {spec.heatmap_size}"),
        ("Joints", f"{spec.skeleton.num_joints}: " + escape(", ".join(spec.skeleton.joint_names))),
        ("Running on", f"{info.device.upper()}, {info.precision}"),
    ]
    training = spec.training
    if "validation_pck" in training:
        rows.append(("Accuracy", accuracy_text(training)))
    if "hours" in training:
        rows.append(("Training", f"{training.get('steps', '?')} steps, "
                                 f"{training['hours']:.1f} h on {training.get('device', '?')}"))
    if not training:
        rows.append(("Training", "this checkpoint carries no training summary"))
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return (f"<h3>{escape(info.source.stem)}</h3><table cellspacing='6'>{body}</table>"
            "<p>Single person, 2D. Each stack's heatmaps are a full prediction: fewer stacks "
            "run faster, later stacks refine.</p>")


def show_model_card(parent: QWidget, info: ModelInfo) -> None:
    """The card in a dialog of its own, until the user closes it."""
    box = QMessageBox(parent)
    box.setWindowTitle("About the model")
    box.setTextFormat(Qt.RichText)
    box.setText(model_card_html(info))
    box.exec()
