"""Training data, the trainer's step, exact resume, DDP, and evaluation, on real LSPet data."""

from __future__ import annotations

import itertools
import json
import os
import socket
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from scipy.io import savemat

from app.cli import main
from app.engine.image_files import read_image
from app.engine.labelled_data import Annotation, load_annotations
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.scoring import measurable, predict_live, score
from app.engine.sources import Frame
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.heatmaps import decode_heatmaps
from app.pose.skeleton import LSP14
from app.train.card import slice_figure
from app.train.config import TrainConfig
from app.train.data import (
    Augmentation,
    FrameEdge,
    LspTrainingSet,
    make_sample,
    sample_frame_edge,
)
from app.train.datasets import split_validation
from app.train.evaluate import framing_check, webcam_window
from app.train.pack import pack_dataset
from app.train.publish import Ablation, PublishRefused, best_record, publish_verdict
from app.train.report import training_curves
from app.train.stages import describe_stages, stages_of
from app.train.trainer import Trainer, heatmap_loss, learning_rate


def tiny_config(data: Path, run_dir: Path, **changes) -> TrainConfig:
    config = TrainConfig(data=[str(data)], repeats=[1], held_out=[8], run_dir=str(run_dir),
                         stacks=2, channels=16, depth=2, input_size=64, batch_size=4,
                         eval_every=10_000,
                         save_every=10_000, warmup_steps=1, epochs=2)
    return replace(config, **changes)


def test_lspet_loader_skips_absent_images_and_masks_invisible_joints(lspet_subset):
    annotations = load_annotations(lspet_subset)
    names = [a.image_path.name for a in annotations]
    assert "im00010.jpg" not in names and "im00003.jpg" not in names  # absent on disk
    assert "im00001.jpg" in names and len(names) == 53
    raw = np.asarray(__import__("scipy.io").io.loadmat(lspet_subset / "joints.mat")["joints"])
    first = annotations[0]
    np.testing.assert_array_equal(first.visible, raw[:, 2, 0] > 0.5)
    assert any((~a.visible).any() for a in annotations)  # some joints are invisible


def test_lsp_layout_counts_every_joint_as_labelled(lspet_subset, tmp_path):
    raw = np.asarray(__import__("scipy.io").io.loadmat(lspet_subset / "joints.mat")["joints"])
    lsp = np.concatenate([raw[:, :2], np.zeros_like(raw[:, 2:])], axis=1).transpose(1, 0, 2)
    (tmp_path / "images").mkdir()
    savemat(tmp_path / "joints.mat", {"joints": lsp[:, :, :2]})
    for number in (1, 2):
        (tmp_path / "images" / f"im{number:04d}.jpg").write_bytes(
            (lspet_subset / "images" / f"im{number:05d}.jpg").read_bytes())
    annotations = load_annotations(tmp_path)
    assert len(annotations) == 2
    assert all(a.visible.all() for a in annotations)


def test_validation_split_is_fixed_and_disjoint(lspet_subset):
    annotations = load_annotations(lspet_subset)
    train, validation = split_validation(annotations, 8)
    again = split_validation(list(reversed(annotations)), 8)[1]
    assert len(validation) == 8 and len(train) == len(annotations) - 8
    assert {a.image_path for a in validation} == {a.image_path for a in again}
    assert not {a.image_path for a in train} & {a.image_path for a in validation}


def test_a_flipped_sample_swaps_left_and_right_joints(lspet_subset):
    annotation = load_annotations(lspet_subset)[0]
    image = np.zeros((400, 400, 3), np.uint8)
    from app.engine.labelled_data import ground_truth_box

    box = ground_truth_box(annotation)
    plain = make_sample(image, annotation, box, 64, 2.0)
    flipped = make_sample(image, annotation, box, 64, 2.0, flip=True)
    permutation = LSP14.flip_permutation()
    np.testing.assert_allclose(flipped.target, plain.target[permutation][:, :, ::-1], atol=1e-6)
    np.testing.assert_array_equal(flipped.weight, plain.weight[permutation])


def test_beyond_a_frame_edge_the_crop_is_black_and_joints_are_taught_absent(lspet_subset):
    annotation = load_annotations(lspet_subset)[0]
    image = np.full((400, 400, 3), 200, np.uint8)
    from app.engine.labelled_data import ground_truth_box

    box = ground_truth_box(annotation)
    plain = make_sample(image, annotation, box, 64, 2.0)
    points, peak = decode_heatmaps(plain.target, "none")
    for edge in (FrameEdge("bottom", 0.5), FrameEdge("left", 0.25)):
        cut = make_sample(image, annotation, box, 64, 2.0, edge=edge)
        beyond_edge = np.zeros((64, 64), bool)
        if edge.side == "bottom":
            beyond_edge[32:] = True
        else:
            beyond_edge[:, :16] = True
        np.testing.assert_array_equal(cut.image.any(axis=2) == 0,
                                      beyond_edge | (plain.image.any(axis=2) == 0))
        assert (cut.image[~beyond_edge] == plain.image[~beyond_edge]).all()
        beyond = edge.beyond(points[:, edge.axis], 16) & (peak > 0.5)
        kept = ~edge.beyond(points[:, edge.axis], 16) & (peak > 0.5)
        assert beyond.any() and kept.any()  # this person really is cut by both lines
        assert (cut.target[beyond] == 0).all() and (cut.weight[beyond] > 0).all()
        np.testing.assert_array_equal(cut.target[kept], plain.target[kept])


def test_frame_edges_are_drawn_mostly_at_the_bottom_and_within_their_range():
    rng = np.random.default_rng(0)
    edges = [sample_frame_edge(Augmentation(frame_edge_probability=1.0), rng) for _ in range(400)]
    sides = [e.side for e in edges]
    assert set(sides) == {"top", "bottom", "left", "right"}
    assert 0.4 < sides.count("bottom") / len(sides) < 0.6  # a webcam cuts the legs off
    kept = [e.position if e.side in ("bottom", "right") else 1 - e.position for e in edges]
    assert all(0.4 <= k <= 0.85 for k in kept)
    assert sample_frame_edge(Augmentation(frame_edge_probability=0.0), rng) is None


def test_joints_outside_the_crop_are_taught_as_absent_not_masked(lspet_subset):
    annotations = load_annotations(lspet_subset)
    dataset = LspTrainingSet(annotations, 64, 2.0, Augmentation(truncation_probability=1.0,
                                                                 truncation_shift=0.6))
    rng = np.random.default_rng(0)
    outside_and_weighted = 0
    for index in range(20):
        sample = dataset.sample(index, rng)
        _, peaks = decode_heatmaps(sample.target, "none")
        outside_and_weighted += int(((peaks == 0) & (sample.weight > 0)).sum())
    assert outside_and_weighted > 0


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(learning_rate=1e-3, warmup_steps=10)
    rates = [learning_rate(step, config, 110) for step in range(111)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))
    assert rates[110] == pytest.approx(0.0, abs=1e-12)
    restarted = [learning_rate(step, config, 110, warmup_from=50) for step in range(50, 61)]
    assert restarted[0] == pytest.approx(rates[50] / 10)  # a fresh optimiser warms up again
    assert restarted[9] == pytest.approx(rates[59]) and restarted[10] == pytest.approx(rates[60])


def test_loss_ignores_unlabelled_joints_and_weights_the_foreground():
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0, 1, 1] = 1.0
    output = [torch.zeros(1, 2, 4, 4)]
    weight = torch.tensor([[1.0, 0.0]])
    loss, _ = heatmap_loss(output, target, weight, foreground_weight=10.0)
    assert loss.item() == pytest.approx(10.0 / (10 + 15))  # one fg pixel (10) + 15 bg pixels
    wrong_on_masked = [torch.zeros(1, 2, 4, 4)]
    wrong_on_masked[0][0, 1] = 5.0
    assert heatmap_loss(wrong_on_masked, target, weight, 10.0)[0] == pytest.approx(loss.item())


def test_loss_weights_the_whole_map_of_a_joint_outside_the_crop():
    """A labelled joint with an all-zero target (cut off by the crop) is a strong negative."""
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0, 1, 1] = 1.0
    weight = torch.ones(1, 2)
    guess = [torch.zeros(1, 2, 4, 4)]
    guess[0][0, 0, 1, 1] = 1.0  # the visible joint is right
    guess[0][0, 1, 2, 2] = 1.0  # a peak where the cut-off joint might be
    loss, _ = heatmap_loss(guess, target, weight, foreground_weight=10.0)
    assert loss.item() == pytest.approx(10.0 / (10 + 15 + 16 * 10))


def test_one_training_step_lowers_the_loss_on_its_batch(lspet_subset, tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(lspet_subset, tmp_path, augmentation={
        **Augmentation().__dict__, "colour": 0.0}))
    indices = trainer.batches.indices(0)
    images, target, weight = trainer.train_set.batch(indices, None)

    def batch_loss() -> float:
        from app.model.inputs import normalise_batch

        with torch.no_grad():
            trainer.network.train()
            outputs = trainer.network(normalise_batch(images, trainer.spec.mean, trainer.spec.std))
            return heatmap_loss(outputs, torch.from_numpy(target), torch.from_numpy(weight),
                                10.0)[0].item()

    before = batch_loss()
    trainer.train_set.augmentation = None  # the step sees exactly the measured batch
    trainer.train_step()
    assert batch_loss() < before


def test_resume_reproduces_the_same_next_step(lspet_subset, tmp_path):
    config = tiny_config(lspet_subset, tmp_path / "run")
    first = Trainer(config)
    first.resume()
    for _ in range(2):
        first.train_step()
    first.save()
    expected_losses = first.train_step()
    expected = {k: v.clone() for k, v in first.network.state_dict().items()}

    second = Trainer(config)
    assert "resumed" in second.resume() and second.step == 2
    losses = second.train_step()
    assert losses == pytest.approx(expected_losses, rel=1e-6)
    for key, value in second.network.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-6, atol=1e-7)


def test_last_pt_keeps_the_format_that_earlier_runs_resume_from(lspet_subset, tmp_path):
    """A run started by earlier code goes on under this one: the keys stay these, and a save
    leaves no temporary behind."""
    trainer = Trainer(tiny_config(lspet_subset, tmp_path))
    trainer.resume()
    trainer.train_step()
    trainer.save()
    assert list(torch.load(tmp_path / "last.pt", weights_only=True)) == [
        "config", "network", "ema", "optimizer", "scaler", "step", "warmup_from", "elapsed",
        "best_pck", "history", "earlier_stages", "stage_start", "rng_torch"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "last.safetensors"]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_precision_can_be_forced_for_measuring(lspet_subset, tmp_path, precision):
    """fp32 and bf16 autocast, asked for by name, whatever the CPU has: the step runs and its
    activations are in that precision (the network's weights stay fp32)."""
    trainer = Trainer(tiny_config(lspet_subset, tmp_path, precision=precision))
    assert trainer.autocast_dtype == (torch.bfloat16 if precision == "bf16" else None)
    seen = []
    trainer.network.stacks[0].register_forward_hook(lambda _m, _i, out: seen.append(out[1].dtype))
    losses = trainer.train_step()
    assert np.isfinite(losses).all()
    assert seen == [torch.bfloat16 if precision == "bf16" else torch.float32]
    assert all(p.dtype == torch.float32 for p in trainer.network.parameters())


def test_the_last_step_of_the_schedule_is_always_validated(lspet_subset, tmp_path):
    trainer = Trainer(tiny_config(lspet_subset, tmp_path, epochs=1))  # eval_every 10,000
    trainer.resume()
    trainer.run()
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in logged] == [trainer.total_steps]
    assert (tmp_path / "best.safetensors").exists()


def ddp_worker(rank: int, world: int, port: int, config: TrainConfig, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    trainer = Trainer(config)
    for _ in range(2):
        trainer.train_step()
    # Parameters only: BatchNorm's running statistics are each rank's own until DDP
    # broadcasts rank 0's at the next forward.
    torch.save(dict(trainer.network.named_parameters()), f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_distributed_training_keeps_the_ranks_weights_equal(lspet_subset, tmp_path):
    config = tiny_config(lspet_subset, tmp_path / "run", device="cpu")
    mp.spawn(ddp_worker, args=(2, free_port(), config, str(tmp_path)), nprocs=2, join=True)
    zero = torch.load(tmp_path / "rank0.pt", weights_only=True)
    one = torch.load(tmp_path / "rank1.pt", weights_only=True)
    initial = dict(Trainer(config).network.named_parameters())
    changed = 0
    for key in zero:
        torch.testing.assert_close(zero[key], one[key])
        changed += int(not torch.equal(zero[key], initial[key]))
    assert changed > 0


def test_training_command_writes_a_resumable_run_and_a_shippable_checkpoint(
        lspet_subset, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", str(lspet_subset), "--run", str(run), "--stacks", "2",
            "--channels", "16", "--depth", "2", "--input-size", "64", "--batch-size", "4",
            "--held-out", "8", "--eval-every", "3", "--max-steps", "3",
            "--init", str(tmp_path / "none.safetensors")]
    assert main(args) == 0
    assert (run / "last.pt").is_file() and (run / "best.safetensors").is_file()
    record = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 3 and len(record["per_stack"]) == 2
    assert main(args) == 0
    assert "resumed" in capsys.readouterr().out
    assert json.loads((run / "log.jsonl").read_text().splitlines()[-1])["step"] == 6


def test_eval_reports_pck_per_stack_and_joint_and_plots(lspet_subset, tiny_checkpoint,
                                                        tmp_path, capsys):
    out, plot = tmp_path / "eval.json", tmp_path / "pck.png"
    assert main(["eval", "--dataset", str(lspet_subset), "--checkpoint", str(tiny_checkpoint),
                 "--json", str(out), "--plot", str(plot), "--device", "cpu"]) == 0
    scores = json.loads(out.read_text())
    assert 0 <= scores["mean"] <= 100 and len(scores["per_stack"]) == 2
    assert set(scores["per_joint"]) == set(LSP14.joint_names)
    assert 0 < scores["images"] <= 53
    assert 0 <= scores["mirrored_people_percent"] <= 100
    assert scores["mean"] <= scores["mean_mirrors_forgiven"] <= 100
    assert plot.stat().st_size > 1000
    assert "PCK@0.2" in capsys.readouterr().out


def test_publish_copies_the_best_weights_and_writes_a_measured_card(lspet_subset, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--data", str(lspet_subset), "--run", str(run), "--stacks", "2",
                 "--channels", "16", "--depth", "2", "--input-size", "64", "--batch-size", "4",
                 "--held-out", "8", "--eval-every", "2", "--max-steps", "2",
                 "--init", str(tmp_path / "none.safetensors")]) == 0
    target = tmp_path / "models" / "default.safetensors"
    assert main(["publish", "--run", str(run), "--data", str(lspet_subset),
                 "--out", str(target)]) == 0
    assert target.read_bytes() == (run / "best.safetensors").read_bytes()
    card = (tmp_path / "models" / "README.md").read_text()
    assert "| single pass |" in card and "| flip test |" in card
    assert "| left wrist |" in card
    assert "Joints outside the crop" in card and "| 2 |" in card  # latency row for 2 stacks
    assert "network frames/s" in card and "as the app runs it here: CPU through" in card
    assert "score more joints with the predicted left and right\nexchanged" in card
    assert "| frame 1 | frame 2 | frame 3 | frame 4 | true box |" in card  # the app, box-free
    assert "framed as a webcam frames the upper body" in card
    assert "1. 2 steps of batch 4 on CPU (" in card and "from scratch" in card
    assert "No teacher" in card and "scale 0.75-1.25" in card  # from the weights' own record
    assert "](training-curve.png)" in card  # the history drawn beside the card
    assert cv2.imread(str(tmp_path / "models" / "training-curve.png")).shape == (480, 720, 3)

    # The same weights again are no better than the shipped ones: refused, nothing written.
    shipped = target.read_bytes()
    card_before = (tmp_path / "models" / "README.md").read_bytes()
    assert main(["publish", "--run", str(run), "--data", str(lspet_subset),
                 "--out", str(target)]) == 2
    assert target.read_bytes() == shipped
    assert (tmp_path / "models" / "README.md").read_bytes() == card_before
    assert main(["publish", "--run", str(run), "--data", str(lspet_subset), "--out",
                 str(target), "--force", "--ablation", f"plain={run}"]) == 0
    assert "| plain |" in (tmp_path / "models" / "README.md").read_text()


def test_an_ablation_compares_runs_at_matched_steps(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    records = [{"step": step, "mean": lsp, "slices": {"lsp": {"mean": lsp}}}
               for step, lsp in ((500, 80.0), (1000, 82.0), (1500, 85.0), (2000, 84.0))]
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert best_record(Ablation(run), "lsp")["step"] == 1500
    assert best_record(Ablation(run, up_to_step=1000), "lsp")["step"] == 1000
    with pytest.raises(PublishRefused, match="no validation up to step 100"):
        best_record(Ablation(run, up_to_step=100), "lsp")
    assert main(["publish", "--ablation", f"early={run}@soon"]) == 2
    assert "expected LABEL=RUN[@STEP]" in capsys.readouterr().err


def test_the_training_curve_follows_each_slice_and_the_records_from_before_slices():
    history = [{"hours": 1.0, "mean": 60.0}, {"hours": 2.0, "mean": 66.0},
               {"hours": 3.0, "mean": 82.0, "slices": {"lspet": 66.5, "lsp": 82.0}},
               {"hours": 4.0, "mean": 84.0, "slices": {"lspet": 67.0, "lsp": 84.0}}]
    assert training_curves(history) == {"judged": ([1.0, 2.0], [60.0, 66.0]),
                                        "lspet slice": ([3.0, 4.0], [66.5, 67.0]),
                                        "lsp slice": ([3.0, 4.0], [82.0, 84.0])}


def test_the_publishing_rule_needs_a_point_on_the_judge_and_loses_at_most_one_elsewhere():
    shipped = {"lsp": 78.0, "lspet": 68.5}
    assert publish_verdict({"lsp": 79.0, "lspet": 67.5}, shipped, "lsp") is None
    assert "needs 1 point" in publish_verdict({"lsp": 78.9, "lspet": 75.0}, shipped, "lsp")
    assert "lspet slice 67.4" in publish_verdict({"lsp": 85.0, "lspet": 67.4}, shipped, "lsp")


def test_live_pck_runs_the_apps_own_pipeline_one_row_per_frame(lspet_subset, tiny_checkpoint):
    pipeline = PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu", "fp32"))
    annotations = load_annotations(lspet_subset)
    images = [read_image(a.image_path) for a in annotations]
    live, found = predict_live(pipeline, annotations, images, frames=3)
    people = measurable(annotations, images, LSP14)
    assert live.joints.shape == (3, len(people), 14, 2) and len(people) > 10
    assert found.shape == (3, len(people))
    pipeline.reset()  # the first frame: the whole photo, as the app sees it
    first = pipeline.process(Frame(people[0][1], 0, 0.0), PipelineOptions(smoothing=False))
    np.testing.assert_allclose(live.joints[0, 0], first.keypoints)
    assert len(score(live, LSP14).per_stack) == 3


def standing_person(visible_legs: bool = True, upside_down: bool = False) -> Annotation:
    """A hand-made upright person in LSP order: shoulders at y 50, hips at 110, ankles 190."""
    joints = np.array([
        [85, 190], [85, 150], [85, 110], [115, 110], [115, 150], [115, 190],  # legs, hips
        [70, 100], [75, 75], [80, 50], [120, 50], [125, 75], [130, 100],  # arms
        [100, 40], [100, 20]], float)  # neck, head top
    if upside_down:
        joints[:, 1] = 210 - joints[:, 1]
    visible = np.ones(14, bool)
    visible[[0, 1, 4, 5]] = visible_legs
    return Annotation(Path("standing.jpg"), joints, visible, 0)


def test_a_webcam_window_frames_an_upright_upper_body_at_4_to_3():
    # rows from the head top 20 - 0.3 x torso 60 to the hips 110 + 18; 4:3 about the shoulders
    assert webcam_window(standing_person(), LSP14, 200, 220) == (2, 128, 16, 184)
    assert webcam_window(standing_person(), LSP14, 150, 220) == (2, 128, 0, 150)  # narrower
    assert webcam_window(standing_person(upside_down=True), LSP14, 200, 220) is None
    assert webcam_window(standing_person(visible_legs=False), LSP14, 200, 220) is None


def test_the_framing_check_shows_the_pipeline_the_webcam_window_and_counts_the_legs():
    shapes = []

    class RecordingPipeline:
        spec = SimpleNamespace(skeleton=LSP14)

        def reset(self) -> None:
            shapes.append("reset")

        def process(self, frame: Frame, options: PipelineOptions) -> SimpleNamespace:
            shapes.append(frame.image.shape[:2])
            confidences = np.full(14, 0.9)
            confidences[0] = 0.1  # the right ankle, cut off, is hidden
            return SimpleNamespace(confidences=confidences)

    people = [standing_person(), standing_person(upside_down=True)]
    images = [np.zeros((220, 200, 3), np.uint8)] * 2
    check = framing_check(RecordingPipeline(), people, images, threshold=0.3, frames=2)
    assert shapes == ["reset", (126, 168), (126, 168)]  # the upside-down one is not framed
    assert (check.outside, check.inside) == (4, 10)
    assert check.outside_shown == 75.0 and check.inside_shown == 100.0


def test_a_new_run_starts_from_published_weights_and_continues_their_schedule(
        lspet_subset, tmp_path, capsys):
    common = ["--data", str(lspet_subset), "--stacks", "2", "--channels", "16", "--depth", "2",
              "--input-size", "64", "--batch-size", "4", "--held-out", "8",
              "--eval-every", "2", "--max-steps", "2"]
    first = tmp_path / "first"
    assert main(["train", "--run", str(first), "--init", str(tmp_path / "none"), *common]) == 0
    assert main(["train", "--run", str(tmp_path / "second"),
                 "--init", str(first / "best.safetensors"), *common]) == 0
    assert "started from the weights in" in capsys.readouterr().out
    state = torch.load(tmp_path / "second" / "last.pt", weights_only=True)
    assert state["step"] == 4 and state["warmup_from"] == 2
    # (last.safetensors: whether this run's few steps beat the first run's best is chance)
    stages = load_checkpoint(tmp_path / "second" / "last.safetensors").spec.training["stages"]
    assert [(s["steps"], s["batch_size"], s["device"]) for s in stages] == [(2, 4, "cpu")] * 2
    assert stages[0]["start"] == "from scratch"
    assert stages[1]["start"] == "from the weights in first/best.safetensors"
    assert stages[1]["hardware"]  # the card names the machine each stage ran on

    assert main(["train", "--run", str(tmp_path / "third"), "--new-schedule",
                 "--init", str(first / "best.safetensors"), *common]) == 0
    state = torch.load(tmp_path / "third" / "last.pt", weights_only=True)
    assert state["step"] == 2 and state["warmup_from"] == 0  # the weights, not their schedule
    # Its best is its own (its one validation), not the published weights' score.
    assert state["best_pck"] == pytest.approx(state["history"][-1]["mean"], abs=0.01)
    assert (tmp_path / "third" / "best.safetensors").is_file()


def test_the_latest_weights_are_saved_small_and_a_run_from_them_goes_on_at_their_step(
        lspet_subset, tmp_path):
    common = ["--data", str(lspet_subset), "--stacks", "2", "--channels", "16", "--depth", "2",
              "--input-size", "64", "--batch-size", "4", "--held-out", "8",
              "--eval-every", "10", "--max-steps", "3"]
    first = tmp_path / "first"
    assert main(["train", "--run", str(first), "--init", str(tmp_path / "none"), *common]) == 0
    latest = load_checkpoint(first / "last.safetensors")
    assert latest.spec.training["steps"] == 3 and len(latest.spec.training["stages"]) == 1
    ema = torch.load(first / "last.pt", weights_only=True)["ema"]
    for key, value in latest.network.state_dict().items():
        torch.testing.assert_close(value, ema[key].to(value.dtype), rtol=1e-3, atol=1e-3)  # half
    assert main(["train", "--run", str(tmp_path / "second"),
                 "--init", str(first / "last.safetensors"), *common]) == 0
    state = torch.load(tmp_path / "second" / "last.pt", weights_only=True)
    assert state["step"] == 6 and state["warmup_from"] == 3


def test_batches_made_by_worker_processes_are_the_steps_own(lspet_subset, tmp_path):
    trainer = Trainer(tiny_config(lspet_subset, tmp_path, workers=1))
    for step, (images, target, weight) in zip(range(3, 5), trainer.loader(range(3, 5)),
                                              strict=True):
        expected = trainer.batches[step]
        np.testing.assert_array_equal(images.numpy(), expected[0])
        np.testing.assert_array_equal(target.numpy(), expected[1])
        np.testing.assert_array_equal(weight.numpy(), expected[2])


def test_the_compact_copy_trains_like_the_original(lspet_subset, tmp_path):
    images, written = pack_dataset(lspet_subset, tmp_path / "small", box_pixels=96)
    original, small = load_annotations(lspet_subset), load_annotations(tmp_path / "small")
    assert images == len(original) == len(small) and written > 0
    assert all(a.image_path.suffix == ".webp" for a in small)
    assert ([a.image_path.stem for a in split_validation(small, 8)[1]]
            == [a.image_path.stem for a in split_validation(original, 8)[1]])
    big, packed = LspTrainingSet(original, 64, 2.0), LspTrainingSet(small, 64, 2.0)
    for index in range(len(big)):  # the same person crop, targets and weights
        a, b = big.sample(index, None), packed.sample(index, None)
        np.testing.assert_allclose(a.target, b.target, atol=0.05)
        np.testing.assert_array_equal(a.weight, b.weight)
        assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 20


def test_a_folder_without_annotations_is_a_clear_fault(tmp_path, capsys):
    assert main(["eval", "--dataset", str(tmp_path), "--checkpoint", "x.safetensors"]) == 2
    assert main(["train", "--data", str(tmp_path), "--run", str(tmp_path / "run"),
                 "--init", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("no joints.mat") == 1 and "Traceback" not in err


def test_a_checkpoint_from_before_stages_reads_as_one_stage():
    legacy = {"steps": 10, "hours": 1.5, "device": "cpu", "recipe": {"batch_size": 16}}
    stages = stages_of(legacy)
    assert len(stages) == 1
    text = describe_stages(stages)
    assert "1. 10 steps of batch 16 on CPU, from scratch: 1.50 hours" in text
    assert "In all 1.50 hours" in text
    assert stages_of({}) == [] and "No record" in describe_stages([])


def test_a_stage_names_its_folders_and_their_mix():
    stage = {"device": "cpu", "hardware": "", "start": "from scratch", "steps": 5,
             "batch_size": 16, "hours": 0.5, "data": ["a/lspet", "a/lsp"], "repeats": [1, 3]}
    assert "reading a/lspet + a/lsp (x3), from scratch" in describe_stages([stage])
    stage |= {"data": "a/lspet", "repeats": None}
    assert "reading a/lspet, from scratch" in describe_stages([stage])


def test_a_training_record_without_a_slice_shows_a_dash_not_nan():
    assert slice_figure({"mean": 61.8}, "lsp") == "-"
    assert slice_figure({"slices": {"lsp": 84.36}}, "lsp") == "84.4"
