"""How a model came to be: the training stages its weights went through, for its card.

A stage is one run folder: a number of steps of one batch size on one device.  A run started
from published weights adds a stage to theirs (training moves between a CPU and a GPU, and
the batch size with it), so the card can say where every hour went.
"""

from __future__ import annotations


def stages_of(training: dict) -> list[dict]:
    """The stages recorded in a checkpoint's training summary.

    Checkpoints from before stages were recorded trained in one run; their summary describes it.
    """
    if "stages" in training:
        return list(training["stages"])
    if "steps" not in training:
        return []
    return [{"device": training.get("device", "?"), "hardware": "", "start": "from scratch",
             "steps": training["steps"],
             "batch_size": training.get("recipe", {}).get("batch_size"),
             "hours": training.get("hours", 0.0)}]


def describe_stages(stages: list[dict]) -> str:
    """One sentence per stage, for the model card."""
    if not stages:
        return "No record of the training run was kept in this checkpoint."
    lines = []
    for number, stage in enumerate(stages, start=1):
        where = stage["device"].upper() + (f" ({stage['hardware']})" if stage["hardware"] else "")
        data = f", reading {describe_data(stage['data'], stage.get('repeats'))}" if stage.get(
            "data") else ""
        lines.append(f"{number}. {stage['steps']} steps of batch {stage['batch_size']} on {where}"
                     f"{data}, {stage['start']}: {stage['hours']:.2f} hours of training steps.")
    total = sum(stage["hours"] for stage in stages)
    return "Trained in these stages (each resumed across sessions as needed):\n\n" + "\n".join(
        lines) + f"\n\nIn all {total:.2f} hours of training steps."


def describe_data(data: str | list[str], repeats: list[int] | None) -> str:
    """The folders a stage read, and how often each came round an epoch where not once."""
    folders = [data] if isinstance(data, str) else list(data)
    if repeats and any(r != 1 for r in repeats):
        folders = [f if r == 1 else f"{f} (x{r})" for f, r in zip(folders, repeats, strict=True)]
    return " + ".join(folders)
