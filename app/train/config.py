"""What defines a training run.

Kept apart from the trainer so that reading the defaults (the command line's help does) needs
no PyTorch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from app.pose.codec import DEFAULT_SIGMA
from app.train.data import Augmentation

# Trained on together by default: LSPet and LSP, side by side in the shared folder.
DEFAULT_DATA = ("../shared/datasets/lspet", "../shared/datasets/lsp")


@dataclass
class TrainConfig:
    """Everything that defines a run; saved in its checkpoints."""

    # Datasets trained on together, and how many times each one's people come round in an
    # epoch; the validation slice of the one named ``judge`` chooses the best weights.
    data: list[str] = field(default_factory=lambda: list(DEFAULT_DATA))
    repeats: list[int] = field(default_factory=lambda: [1, 3])
    judge: str = "lsp"
    run_dir: str = "runs/default"
    stacks: int = 4
    channels: int = 128
    depth: int = 4
    input_size: int = 128
    sigma: float = DEFAULT_SIGMA  # the heatmap codec's, saved in the checkpoint's spec
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    epochs: int = 100
    foreground_weight: float = 10.0
    ema_decay: float = 0.999
    held_out: list[int] | None = None  # per dataset; None: each dataset's own (datasets.HELD_OUT)
    eval_every: int = 500
    save_every: int = 100
    seed: int = 0
    device: str = "auto"
    # Autocast on the CPU: "auto" is bf16 where the CPU has it natively (AMX, AVX512-BF16),
    # else fp32; "fp32" and "bf16" force one, for measuring them against each other.
    precision: str = "auto"
    compile: bool = False  # torch.compile the training step's network (inductor)
    workers: int | None = None  # batch-making processes; None: 0 on CPU, up to 12 on CUDA
    max_steps: int | None = None  # stop early (tests, smoke runs); the schedule ignores it
    # The teacher (app.train.teacher, app.train.guidance): its cached targets' folder (None:
    # no teacher), which model, and which of its three levers this run uses.
    teacher: str | None = None
    teacher_model: str = "EfficientPoseII"
    teacher_repairs: list[str] = field(default_factory=lambda: ["lspet"])  # crowd labels
    teacher_swaps: bool = False
    teacher_fill: bool = False
    distil: float = 0.0  # the teacher's share of labelled joints' targets
    init: str | None = None  # weights to start from when the run folder has no state
    new_schedule: bool = False  # from init: a fresh schedule (e.g. another batch size)
    augmentation: dict = field(default_factory=lambda: asdict(Augmentation()))
