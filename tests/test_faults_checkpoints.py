"""Checkpoints that fail or differ, in the window and on the command line: the running model
goes on, or a panel says no model is loaded.  Damaged files on their own are
test_checkpoint.py's, public layouts test_public_layouts.py's.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from networks import random_network
from windows import WAIT_MS, make_window, next_reports

from app.cli import main
from app.model.architecture import HourglassConfig
from app.model.checkpoint import save_checkpoint
from app.model.spec import ModelSpec
from app.paths import default_checkpoint
from app.pose.skeleton import LSP14, MPII16

pytest_plugins = ["window_fixtures"]  # the window and failures fixtures


def save_tiny(path: Path, skeleton=LSP14, seed: int = 0) -> Path:
    config = HourglassConfig(stacks=2, channels=16, depth=2, joints=skeleton.num_joints,
                             stem_channels=8)
    save_checkpoint(path, random_network(config, seed), ModelSpec(config, skeleton, input_size=64))
    return path


def test_corrupt_checkpoint_at_start_says_no_model_is_loaded(qtbot, tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    win = make_window(qtbot, corrupt, tmp_path / "settings.ini", wait_for_model=False)
    qtbot.waitUntil(lambda: win.video.message_visible(), timeout=WAIT_MS)
    assert win.video.message_title() == "No model is loaded"
    actions = win.video.message_actions()
    assert actions[0] == "Open a checkpoint…"
    assert ("Use the built-in model" in actions) == (default_checkpoint() is not None)
    assert win.model is None and win.status.text() == "No model loaded"


@pytest.mark.parametrize("kind", ["random-bytes", "truncated", "other-architecture"])
def test_corrupt_checkpoint_while_running_keeps_the_running_model(
        qtbot, window, failures, tmp_path, tiny_checkpoint, lspet_clip, kind):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(10_000))
    elif kind == "truncated":
        path.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    else:  # a valid safetensors file of some other network
        save_file({"encoder.weight": torch.zeros(8, 4), "decoder.bias": torch.ones(3)}, str(path))
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    before = window.model
    window.link.load_model.emit(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0][0] == "model" and str(path) in failures[0][1]
    assert window.model is before
    assert not window.video.message_visible()  # a warning box, the video goes on behind it
    next_reports(qtbot, window, 2)


def test_fault_checkpoint_with_other_joints_loads_and_draws_its_own(
        qtbot, window, failures, tmp_path, lspet_clip):
    mpii = save_tiny(tmp_path / "mpii.safetensors", MPII16)
    window.open_path(str(lspet_clip))
    next_reports(qtbot, window)
    window.link.load_model.emit(str(mpii))
    qtbot.waitUntil(lambda: window.model.spec.skeleton == MPII16, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.last_report.result.keypoints.shape == (16, 2),
                    timeout=WAIT_MS)
    report = next_reports(qtbot, window)[-1]
    assert window.heatmaps.tile(15) is not None  # one tile per MPII joint
    assert report.result.heatmaps.shape[-3] == 16
    window.heatmaps.select_joint(9)  # head top: overlay and refinement for an MPII joint
    qtbot.waitUntil(lambda: window.refinement.stack_count() == 2, timeout=WAIT_MS)
    assert window.composed(report).shape == report.image.shape
    assert failures == []


def test_fault_checkpoint_with_other_joints_on_the_command_line(tmp_path, lspet_image):
    mpii = save_tiny(tmp_path / "mpii.safetensors", MPII16)
    out = tmp_path / "poses.jsonl"
    assert main(["infer", "--input", str(lspet_image), "--json", str(out),
                 "--checkpoint", str(mpii), "--device", "cpu"]) == 0
    record = json.loads(out.read_text().splitlines()[0])
    assert [k["name"] for k in record["keypoints"]] == list(MPII16.joint_names)


def test_fault_public_layout_with_missing_keys_names_them_in_the_window(
        qtbot, window, failures, tmp_path):
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    checkpoint = princeton_checkpoint(randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16,
                                                         stem=8)))
    del checkpoint["state_dict"]["model.module.outs.0.conv.weight"]
    path = tmp_path / "princeton.pth.tar"
    torch.save(checkpoint, path)
    window.link.load_model.emit(str(path))
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    kind, message = failures[0]
    assert kind == "model" and str(path) in message
    assert "missing" in message and "outs.0.conv.weight" in message
    assert window.model.source.name == "tiny.safetensors"  # still running the old model
