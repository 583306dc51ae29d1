"""Checkpoint files as a user may hand them over: told apart by their bytes, not their names,
and refused, in words that say what the file is, when they cannot give a pose.

Also the guard behind them: whatever numbers a network computes, the decoder hands on only
finite ones.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.torch import load_file, save_file

from app.cli import main
from app.model.checkpoint import load_checkpoint
from app.model.spec import CheckpointError
from app.pose.heatmaps import decode_heatmaps


def broken_copy(checkpoint: Path, target: Path, value: float, tensors: int = 1) -> Path:
    """``checkpoint`` with one value of its first ``tensors`` weight tensors set to ``value``."""
    from safetensors import safe_open

    with safe_open(str(checkpoint), framework="pt") as handle:
        metadata = handle.metadata()
    state = load_file(str(checkpoint))
    names = [k for k, v in state.items() if v.is_floating_point()][:tensors]
    for name in names:
        state[name] = state[name].clone()
        state[name].view(-1)[0] = value
    save_file(state, str(target), metadata=metadata)
    return target


# --- weights that are not numbers ------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")],
                         ids=["nan", "inf", "-inf"])
def test_non_finite_weights_are_refused_at_load_naming_the_tensors(tiny_checkpoint, tmp_path,
                                                                   value):
    path = broken_copy(tiny_checkpoint, tmp_path / "diverged.safetensors", value, tensors=7)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: its weights hold NaN or infinite numbers in 7 tensors (")
    assert "and 2 more" in message  # five named, the rest counted


def test_infer_with_a_nan_checkpoint_exits_2_and_leaves_the_json_as_it_was(
        tiny_checkpoint, lspet_image, tmp_path, capsys):
    path = broken_copy(tiny_checkpoint, tmp_path / "nan.safetensors", float("nan"))
    results = tmp_path / "results.jsonl"
    results.write_text('{"frame": 0, "kept": true}\n')
    code = main(["infer", "--input", str(lspet_image), "--json", str(results),
                 "--checkpoint", str(path), "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN or infinite numbers" in err[0]
    assert results.read_text() == '{"frame": 0, "kept": true}\n'


# --- formats told by their bytes -------------------------------------------------------------


def test_safetensors_named_pt_loads_as_safetensors(tiny_checkpoint, tmp_path):
    renamed = tmp_path / "model.pt"
    shutil.copyfile(tiny_checkpoint, renamed)
    loaded = load_checkpoint(renamed)
    assert loaded.spec == load_checkpoint(tiny_checkpoint).spec


def test_torch_zip_named_safetensors_loads_as_a_public_checkpoint(tmp_path):
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    path = tmp_path / "princeton.safetensors"
    torch.save(princeton_checkpoint(randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16,
                                                       stem=8))), path)
    assert load_checkpoint(path).spec.layout.startswith("princeton")


def test_legacy_torch_pickle_still_loads(tmp_path):
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    path = tmp_path / "old.pth.tar"
    torch.save(princeton_checkpoint(randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16,
                                                       stem=8))), path,
               _use_new_zipfile_serialization=False)
    assert load_checkpoint(path).spec.layout.startswith("princeton")


def what_it_is(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_random_bytes_are_not_called_a_pickle(tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    message = what_it_is(path)
    assert message == ("not a checkpoint: its first bytes are none of safetensors, a PyTorch "
                       "zip archive or a PyTorch pickle")


def test_a_text_file_says_it_is_text(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("state_dict = my weights\nsee the wiki\n")
    assert what_it_is(path) == "a text file, not a checkpoint (it begins 'state_dict = my weights')"


@pytest.mark.parametrize("name, head, said", [
    ("photo.pth", b"\xff\xd8\xff\xe0" + bytes(60), "a JPEG image, not a checkpoint"),
    ("weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(60), "an HDF5 file (Keras or TensorFlow weights?)"
                                                     ", not a checkpoint"),
])
def test_other_known_files_are_named(tmp_path, name, head, said):
    path = tmp_path / name
    path.write_bytes(head)
    assert what_it_is(path) == said


def test_a_plain_pickle_is_refused_unread_in_one_line_without_torch_warnings(tmp_path):
    path = tmp_path / "weights.pkl"
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    done = subprocess.run([sys.executable, "-m", "app", "info", "--checkpoint", str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"hourglass-pose: {path}: a plain Python pickle, not a PyTorch checkpoint (torch.save "
        "writes a zip archive); refused unread, since unpickling it could run code"]
    assert not marker.exists()


def test_loading_a_pickled_checkpoint_raises_no_warnings(tmp_path):
    """torch.load warns of any pickle protocol but 2; the refusal that follows says enough."""
    path = tmp_path / "protocol4.pt"
    torch.save({"weights": torch.zeros(2)}, path, pickle_protocol=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CheckpointError):
            load_checkpoint(path)
    assert [str(w.message) for w in caught] == []


# --- the guard behind the checkpoint check ---------------------------------------------------

hostile_floats = st.floats(allow_nan=True, allow_infinity=True, width=32, allow_subnormal=False)


@settings(max_examples=200, deadline=None)
@given(maps=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 4),
                                             st.integers(1, 9), st.integers(1, 9)),
                       elements=hostile_floats),
       refinement=st.sampled_from(["dark", "quarter", "none"]))
def test_decoding_never_emits_a_non_finite_number(maps, refinement):
    with np.errstate(all="ignore"):
        points, confidences = decode_heatmaps(maps, refinement)
    assert np.isfinite(points).all() and np.isfinite(confidences).all()
    assert ((confidences >= 0) & (confidences <= 1)).all()


def test_a_map_of_nothing_but_nan_is_a_joint_of_confidence_zero():
    maps = np.zeros((3, 8, 8), np.float32)
    maps[0] = np.nan
    maps[1, 2, 5] = 0.9
    maps[2] = np.inf
    points, confidences = decode_heatmaps(maps)
    assert confidences.tolist() == pytest.approx([0.0, 0.9, 0.0])
    assert np.isfinite(points).all()

