"""The training loop: intermediate supervision, a resumable schedule, EMA weights, DDP.

A run lives in one folder (``runs/<name>/``): ``last.pt`` holds everything needed to resume
exactly (weights, EMA, optimiser, step, RNG states), ``best.safetensors`` the best EMA weights
so far in the shipped format, ``last.safetensors`` the latest ones (small enough to commit:
``--init`` it and the schedule goes on from its step, with a fresh optimiser), and
``log.jsonl`` one line per validation.  Runs are stopped and resumed many times (sessions
end, Ctrl-C, ``kill``), so the schedule is a pure function of the step.  What ``last.pt``
holds is :mod:`app.train.run_state`'s; what the weights say of themselves,
:mod:`app.train.provenance`'s.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from app.atomic_write import AtomicFile
from app.model.architecture import HourglassConfig
from app.model.checkpoint import ModelSpec, load_checkpoint, save_checkpoint
from app.model.devices import cpu_supports_bf16, resolve_device
from app.model.growth import grown, growth_error
from app.model.hourglass import StackedHourglass
from app.model.inputs import normalise_batch
from app.model.predictors import HeatmapPredictor
from app.pose.skeleton import LSP14
from app.stop_signals import StopSignals, ignore_ctrl_c
from app.train.config import TrainConfig
from app.train.data import Augmentation, LspTrainingSet
from app.train.datasets import split_dataset
from app.train.evaluate import ValidationSlice
from app.train.guidance import teach_splits
from app.train.provenance import Provenance
from app.train.report import recent_gain, validation_line
from app.train.run_state import RunState, Stateful


def heatmap_loss(
    outputs: list[torch.Tensor], target: torch.Tensor, weight: torch.Tensor,
    foreground_weight: float,
) -> tuple[torch.Tensor, list[float]]:
    """Masked, foreground-weighted MSE after every stack, summed over stacks.

    Pixels where the target exceeds 0.1 count ``foreground_weight`` times: without that the
    all-zeros map is a deep local minimum that plain MSE takes many minutes to leave.
    A labelled joint outside the crop (an all-zero target) counts ``foreground_weight`` times
    on its whole map: at background weight a guess near the crop's edge costs next to nothing,
    and the app could not hide cut-off limbs.  Unlabelled joints (weight 0) do not count at all.
    """
    foreground = (target > 0.1) | (target.amax(dim=(2, 3)) == 0)[:, :, None, None]
    pixel_weight = 1.0 + (foreground_weight - 1.0) * foreground.float()
    pixel_weight = pixel_weight * weight[:, :, None, None]
    norm = pixel_weight.sum().clamp(min=1.0)
    losses = [((out.float() - target) ** 2 * pixel_weight).sum() / norm for out in outputs]
    return torch.stack(losses).sum(), [float(loss.detach()) for loss in losses]


def learning_rate(step: int, config: TrainConfig, total_steps: int, warmup_from: int = 0
                  ) -> float:
    """Linear warm-up, then a cosine decay to zero at ``total_steps``.

    A run restarted from published weights has a fresh optimiser (its moments are not
    published), so it warms up again from ``warmup_from`` onto the same cosine curve.
    """
    progress = min(1.0, max(0, step - config.warmup_steps)
                   / max(1, total_steps - config.warmup_steps))
    cosine = config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
    return cosine * min(1.0, (step - warmup_from + 1) / config.warmup_steps)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """One fused update for all tensors: a loop of small ones stalls a GPU on launches."""
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
    torch._foreach_copy_(list(ema.buffers()), list(model.buffers()))


class StepBatches(torch.utils.data.Dataset):
    """Item ``step`` is the augmented batch of that training step, whichever process makes it.

    Each batch draws from its own generator, seeded by (seed, rank, step): worker processes
    share no state, and a resumed run sees exactly the batches it would have seen.
    """

    def __init__(self, train_set: LspTrainingSet, batch_size: int, seed: int,
                 world: int = 1, rank: int = 0) -> None:
        self.train_set = train_set
        self.batch_size, self.seed, self.world, self.rank = batch_size, seed, world, rank
        self.steps_per_epoch = len(train_set.epoch) // (batch_size * world)
        if self.steps_per_epoch == 0:
            raise ValueError("fewer training images than one batch")

    def indices(self, step: int) -> np.ndarray:
        """This rank's people for ``step``: a fixed permutation per epoch, sharded by rank."""
        epoch, position = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.train_set.epoch)
        start = (position * self.world + self.rank) * self.batch_size
        return order[start:start + self.batch_size]

    def __getitem__(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        return self.train_set.batch(self.indices(step), rng)


def save_weights(path: Path, network: nn.Module, spec: ModelSpec) -> None:
    """The shipped format, whole or not at all: ``publish`` and ``--init`` read these files
    while a run may be writing them."""
    with AtomicFile(path) as file:
        save_checkpoint(file.path, network, spec)


class Trainer:
    """Owns the model, optimiser and data of one run; ``run()`` trains until done or stopped."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = self._setup_device()
        self.autocast_dtype = self._autocast_dtype()
        torch.manual_seed(config.seed)
        self.spec = ModelSpec(
            config=HourglassConfig(stacks=config.stacks, channels=config.channels,
                                   depth=config.depth, joints=LSP14.num_joints),
            skeleton=LSP14,
            input_size=config.input_size,
            sigma=config.sigma,
        )
        network = StackedHourglass(self.spec.config).to(self.device)
        self.network = network.to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.network).eval()
        for param in self.ema.parameters():
            param.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        # What a training step calls: the network itself, or with several processes the
        # network wrapped to average its gradients across them.
        self.step_network: nn.Module = self.network
        if self.world > 1:
            self.step_network = nn.parallel.DistributedDataParallel(self.network)
        if config.compile:
            self.step_network = torch.compile(self.step_network)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast_dtype == torch.float16)

        held_out = config.held_out or [None] * len(config.data)
        self.splits = [split_dataset(path, repeats, count) for path, repeats, count
                       in zip(config.data, config.repeats, held_out, strict=True)]
        guidance: dict[str, dict] = {}
        if config.teacher:
            self.splits, guidance = teach_splits(
                self.splits, config.teacher, config.teacher_model, config.teacher_repairs,
                config.teacher_swaps, config.teacher_fill, config.distil > 0)
        self.train_set = LspTrainingSet.mixed(self.splits, config.input_size, config.sigma,
                                              Augmentation(**config.augmentation), config.distil)
        self.validation = {split.name: ValidationSlice(split.validation) for split in self.splits}
        self.judge = config.judge if config.judge in self.validation else self.splits[0].name
        self.batches = StepBatches(self.train_set, config.batch_size, config.seed, self.world,
                                   self.rank)
        self.steps_per_epoch = self.batches.steps_per_epoch
        self.total_steps = config.epochs * self.steps_per_epoch
        self.provenance = Provenance(config, self.splits, self.device, self.world,
                                     self.steps_per_epoch, self.judge, guidance)
        self.state = RunState()
        self.interrupted = False

    # -- set-up -------------------------------------------------------------------------------
    def _setup_device(self) -> torch.device:
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if self.config.device == "cuda" else "gloo"
            dist.init_process_group(backend)
        device = resolve_device(self.config.device)
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: pick kernels once
        if device.type == "cpu":
            torch.set_flush_denormal(True)  # denormals made fp32 steps up to 20x slower here
        return device

    def _autocast_dtype(self) -> torch.dtype | None:
        if self.config.precision == "fp32":
            return None
        if self.config.precision == "bf16":
            return torch.bfloat16
        if self.device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_supports_bf16() else None

    # -- state --------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.state.step

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def parts(self) -> dict[str, Stateful]:
        """What ``last.pt`` keeps besides the run's counters, by the names it keeps them under."""
        return {"network": self.network, "ema": self.ema, "optimizer": self.optimizer,
                "scaler": self.scaler}

    def save(self) -> None:
        if self.rank != 0:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state.save(self.last_path, self.config, self.parts)
        save_weights(self.run_dir / "last.safetensors", self.ema,
                     self.spec.with_training(**self.provenance.summary(self.state)))

    def resume(self) -> str:
        """Continue from ``last.pt``, else start from ``init`` weights, else from scratch."""
        if self.last_path.is_file():
            self.state = RunState.load(self.last_path, self.parts, self.device)
            return f"resumed {self.last_path} at step {self.step}"
        if self.config.init and Path(self.config.init).is_file():
            loaded = load_checkpoint(self.config.init)
            start = loaded.network
            how = "the weights"
            if loaded.spec.config != self.spec.config:
                error = growth_error(loaded.spec.config, self.spec.config)
                if error:
                    return f"not starting from {self.config.init}: another architecture ({error})"
                start, how = grown(loaded.network, self.spec.config, seed=self.config.seed)
                how += " of the weights"
            self.network.load_state_dict(start.state_dict())
            self.ema.load_state_dict(start.state_dict())
            self.state = RunState.continuing(loaded.spec.training, Path(self.config.init),
                                             self.config.new_schedule)
            return f"started from {how} in {self.config.init} (step {self.step})"
        return "started from scratch"

    # -- one step -----------------------------------------------------------------------------
    def current_learning_rate(self) -> float:
        return learning_rate(self.step, self.config, self.total_steps, self.state.warmup_from)

    def train_step(self, batch: Sequence[np.ndarray | torch.Tensor] | None = None
                   ) -> list[float]:
        """One optimiser step on ``batch`` (made here when none is given, as the loader would)."""
        images, target, weight = batch if batch is not None else self.batches[self.step]
        inputs = normalise_batch(images, self.spec.mean, self.spec.std, self.device)
        target_t = torch.as_tensor(target).to(self.device, non_blocking=True)
        weight_t = torch.as_tensor(weight).to(self.device, non_blocking=True)
        lr = self.current_learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.step_network.train()
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            outputs = self.step_network(inputs)
        loss, per_stack = heatmap_loss(outputs, target_t, weight_t, self.config.foreground_weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        update_ema(self.ema, self.network, decay)
        self.state.step += 1
        return per_stack

    # -- validation ---------------------------------------------------------------------------
    def validate(self) -> dict:
        """Score the EMA weights on every dataset's validation slice; the judge's slice decides
        whether they are the run's best."""
        predictor = HeatmapPredictor(self.ema, self.spec, self.device)
        slices = {name: held_out.score(predictor).to_dict()
                  for name, held_out in self.validation.items()}
        judged = slices[self.judge]
        record = {"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 2),
                  "hours": round(self.state.elapsed / 3600, 3), "judge": self.judge,
                  "mean": judged["mean"], "per_stack": judged["per_stack"], "slices": slices}
        self.state.history.append({"step": self.step, "hours": record["hours"],
                                   "mean": judged["mean"], "per_stack": judged["per_stack"],
                                   "slices": {name: s["mean"] for name, s in slices.items()}})
        record["recent_gain"] = recent_gain(self.state.history, self.judge)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if judged["mean"] > self.state.best_pck:
            self.state.best_pck = judged["mean"]
            save_weights(self.run_dir / "best.safetensors", self.ema,
                         self.spec.with_training(**self.provenance.summary(self.state, record)))
        with open(self.run_dir / "log.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")
        return record

    # -- the loop -----------------------------------------------------------------------------
    def loader(self, steps: range) -> torch.utils.data.DataLoader:
        """The batches of ``steps`` in order, made ahead by worker processes where asked.

        On a GPU the augmentation, not the network, limits the pace unless several CPU
        cores make batches; on a small CPU the workers would only take the network's cores.
        """
        workers = self.config.workers
        if workers is None:
            workers = min(12, (os.cpu_count() or 1) - 1) if self.device.type == "cuda" else 0
        return torch.utils.data.DataLoader(
            self.batches, batch_size=None, sampler=steps, num_workers=workers,
            pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None,
            worker_init_fn=ignore_ctrl_c if workers else None)

    def run(self) -> None:
        """Train to the schedule's end or ``max_steps``.  Ctrl-C or SIGTERM (``kill``, a
        session's end) stops after the step in hand and saves, as does any failure."""
        last = self.total_steps if self.config.max_steps is None else min(
            self.total_steps, self.step + self.config.max_steps)
        bar = tqdm(total=last, initial=self.step, disable=self.rank != 0, unit="step",
                   dynamic_ncols=True)
        window_start, window_images = time.monotonic(), 0  # the pace since the last validation
        with StopSignals() as stop:
            try:
                for batch in self.loader(range(self.step, last)):
                    started = time.monotonic()
                    per_stack = self.train_step(batch)
                    self.state.elapsed += time.monotonic() - started
                    window_images += self.config.batch_size * self.world
                    bar.update(1)
                    bar.set_postfix(loss=f"{sum(per_stack):.4f}",
                                    lr=f"{self.current_learning_rate():.2e}")
                    if self.rank == 0 and self.step % self.config.save_every == 0:
                        self.save()
                    # The schedule's last step is always measured: its weights are the run's
                    # answer, the ones the decay was planned to end on.
                    due = self.step % self.config.eval_every == 0 or self.step == self.total_steps
                    if self.rank == 0 and due:
                        rate = window_images / (time.monotonic() - window_start)
                        remaining = (self.total_steps - self.step) * self.config.batch_size / rate
                        tqdm.write(validation_line(self.validate(), per_stack, rate, remaining))
                        self.save()
                        window_start, window_images = time.monotonic(), 0
                    if stop.received is not None:
                        self.interrupted = True
                        break
            except KeyboardInterrupt:  # a second signal, or Ctrl-C off the main thread
                self.interrupted = True
            finally:
                bar.close()
                if self.interrupted:
                    tqdm.write("interrupted: saving")
                self.save()


def train(config: TrainConfig) -> Trainer:
    trainer = Trainer(config)
    print(trainer.resume())
    held_out = ", ".join(f"{len(split.validation)} {split.name}" for split in trainer.splits)
    print(f"device {trainer.device}, autocast {trainer.autocast_dtype}, "
          f"{len(trainer.train_set)} training people ({len(trainer.train_set.epoch)} an epoch) / "
          f"{held_out} validation images, "
          f"{trainer.steps_per_epoch} steps per epoch, {trainer.total_steps} in all")
    trainer.run()
    return trainer

