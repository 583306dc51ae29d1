"""The About-the-model text, from what a checkpoint says about itself."""

from __future__ import annotations

from html import escape

from app.gui.worker import ModelInfo


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
        per_stack = " / ".join(f"{v:.1f}" for v in training.get("validation_per_stack", []))
        rows.append(("Accuracy", f"PCK@0.2 {training['validation_pck']:.1f}% on "
                                 f"{escape(str(training.get('dataset', 'held-out images')))}"
                                 f" (per stack: {per_stack})"))
    if "hours" in training:
        rows.append(("Training", f"{training.get('steps', '?')} steps, "
                                 f"{training['hours']:.1f} h on {training.get('device', '?')}"))
    if not training:
        rows.append(("Training", "this checkpoint carries no training summary"))
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return (f"<h3>{escape(info.source.stem)}</h3><table cellspacing='6'>{body}</table>"
            "<p>Single person, 2D. Each stack's heatmaps are a full prediction: fewer stacks "
            "run faster, later stacks refine.</p>")
