"""Our safetensors checkpoint format: round trips, and every way a file can be wrong.

A checkpoint is untrusted input: whatever is wrong with it must surface as a CheckpointError
(which the app shows the user), never as another exception, and never by running code.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from networks import random_network
from safetensors.torch import load_file, save_file

from app.model.architecture import HourglassConfig
from app.model.checkpoint import METADATA_KEY, load_checkpoint, read_spec, save_checkpoint
from app.model.hourglass import StackedHourglass
from app.model.spec import CheckpointError, ModelSpec
from app.pose.codec import DEFAULT_SIGMA
from app.pose.skeleton import LSP14

CONFIG = HourglassConfig(stacks=2, channels=16, depth=2, joints=14, stem_channels=8)
SPEC = ModelSpec(
    CONFIG,
    LSP14,
    input_size=64,
    mean=(0.45, 0.42, 0.4),
    std=(0.27, 0.26, 0.28),
    training={"dataset": "lsp", "epochs": 3, "pck": [71.5, 74.25], "notes": {"lr": 2.5e-4}},
)


@pytest.fixture(scope="module")
def network() -> StackedHourglass:
    return random_network(CONFIG)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))


@pytest.fixture(scope="module")
def saved(network, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("checkpoints") / "tiny.safetensors"
    save_checkpoint(path, network, SPEC)
    return path


def state_of(network: StackedHourglass) -> dict[str, torch.Tensor]:
    return {k: v.contiguous() for k, v in network.state_dict().items()}


def write_safetensors(path: Path, state: dict[str, torch.Tensor], metadata: str | None) -> Path:
    save_file(state, str(path), metadata=None if metadata is None else {METADATA_KEY: metadata})
    return path


# --- round trips -----------------------------------------------------------------------------


def test_half_precision_round_trip_keeps_outputs_and_spec(network, images, saved):
    loaded = load_checkpoint(saved)
    assert loaded.spec == SPEC
    assert loaded.source == saved
    assert not loaded.network.training
    assert all(p.dtype == torch.float32 for p in loaded.network.parameters())
    with torch.no_grad():
        original, restored = network(images), loaded.network(images)
    for ours, reference in zip(restored, original, strict=True):
        scale = reference.abs().max().item()
        torch.testing.assert_close(ours, reference, rtol=1e-2, atol=1e-2 * scale)
    # Half precision really was stored (the batch counters stay integers).
    stored = load_file(str(saved))
    assert stored.keys() == network.state_dict().keys()
    assert {v.dtype for k, v in stored.items() if "num_batches" not in k} == {torch.float16}
    assert stored["stem.conv.1.num_batches_tracked"].dtype == torch.int64


def test_a_running_variance_beyond_half_precision_is_kept_in_single(tmp_path):
    """A long run's BatchNorm variance passed 65504 (half precision's largest number) and was
    saved as infinity, which the loader rightly refuses: such a tensor is kept in float32."""
    big = "stacks.0.features.1.running_var"
    network = random_network(CONFIG)
    with torch.no_grad():
        network.state_dict()[big].fill_(68840.4)
    path = tmp_path / "long-run.safetensors"
    save_checkpoint(path, network, SPEC)
    stored = load_file(str(path))
    assert stored[big].dtype == torch.float32
    assert stored["stem.conv.1.weight"].dtype == torch.float16
    restored = load_checkpoint(path).network.state_dict()[big]
    assert torch.equal(restored, network.state_dict()[big])


def test_full_precision_round_trip_is_exact(network, tmp_path):
    path = tmp_path / "nested" / "dir" / "full.safetensors"  # parent folders are made
    save_checkpoint(path, network, SPEC, half=False)
    loaded = load_checkpoint(path).network.state_dict()
    for key, value in network.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_spec_survives_json_with_skeleton_sizes_and_training(saved):
    spec = read_spec(saved)
    assert spec == SPEC
    assert spec.skeleton == LSP14
    assert spec.config == CONFIG
    assert (spec.input_size, spec.heatmap_size) == (64, 16)
    assert spec.mean == SPEC.mean and spec.std == SPEC.std
    assert spec.training["notes"] == {"lr": 2.5e-4}
    assert spec.with_training(epochs=4).training["epochs"] == 4
    assert spec.training["epochs"] == 3  # with_training returns a copy


def test_the_codec_travels_in_the_spec(network, tmp_path):
    """The heatmap codec is saved with the weights: what training encoded is what decodes."""
    path = tmp_path / "wide.safetensors"
    save_checkpoint(path, network, replace(SPEC, sigma=3.0))
    codec = load_checkpoint(path).spec.codec
    assert (codec.input_size, codec.heatmap_size, codec.sigma) == (64, 16, 3.0)


def test_a_spec_written_before_sigma_was_recorded_reads_with_the_default(network, tmp_path):
    """Files that predate the sigma field were all trained with the default sigma."""
    older = {k: v for k, v in SPEC.to_dict().items() if k != "sigma"}
    path = write_safetensors(tmp_path / "older.safetensors", state_of(network), json.dumps(older))
    assert read_spec(path).sigma == DEFAULT_SIGMA
    assert read_spec(path).codec.dark_kernel == 5  # as these files have always been decoded


def test_read_spec_does_not_need_the_weights_to_fit(tmp_path):
    # read_spec only parses the header: a spec with the wrong tensors still reads.
    path = write_safetensors(tmp_path / "spec.safetensors", {"x": torch.zeros(1)},
                             json.dumps(SPEC.to_dict()))
    assert read_spec(path) == SPEC


def test_a_spec_is_read_and_made_without_pytorch():
    """What the GUI knows of a model is a spec: making one, from a checkpoint's metadata as
    read, must not load a tensor library into a process that runs no network."""
    script = ("import sys; from app.model.spec import ModelSpec; "
              f"ModelSpec.from_dict({SPEC.to_dict()!r}); "
              "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr


# --- faults: the file is not ours, or its metadata is broken ---------------------------------


def test_fault_safetensors_without_our_metadata(network, tmp_path):
    path = write_safetensors(tmp_path / "foreign.safetensors", state_of(network), None)
    with pytest.raises(CheckpointError, match="without Hourglass Pose metadata"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="without Hourglass Pose metadata"):
        read_spec(path)


def test_fault_metadata_is_not_json(network, tmp_path):
    path = write_safetensors(tmp_path / "broken.safetensors", state_of(network), "{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "metadata",
    [
        "null",
        "[1, 2]",
        '"a string"',
        json.dumps({k: v for k, v in SPEC.to_dict().items() if k != "skeleton"}),
        json.dumps({**SPEC.to_dict(), "architecture": {**CONFIG.to_dict(), "channels": 15}}),
        json.dumps({**SPEC.to_dict(), "architecture": {**CONFIG.to_dict(), "colour": 1}}),
        json.dumps({**SPEC.to_dict(), "mean": ["a", "b", "c"]}),
        json.dumps({**SPEC.to_dict(), "skeleton": {**LSP14.to_dict(), "edges": [[0, 99]]}}),
        json.dumps({**SPEC.to_dict(), "input_size": "large"}),
        json.dumps({**SPEC.to_dict(), "input_size": -3}),
        json.dumps({**SPEC.to_dict(), "input_size": 66}),
        json.dumps({**SPEC.to_dict(), "mean": [0.5, 0.5]}),
        json.dumps({**SPEC.to_dict(), "std": [0.2, 0.0, 0.2]}),
        json.dumps({**SPEC.to_dict(), "architecture": {**CONFIG.to_dict(), "joints": 16}}),
        json.dumps({**SPEC.to_dict(), "sigma": 0}),
        json.dumps({**SPEC.to_dict(), "sigma": "wide"}),
    ],
    ids=["null", "list", "string", "no-skeleton", "odd-channels", "unknown-size", "bad-mean",
         "bad-edge", "bad-input-size", "negative-input", "input-not-a-multiple",
         "two-means", "zero-std", "joints-not-names", "zero-sigma", "sigma-not-a-number"],
)
def test_fault_metadata_incomplete_or_invalid(network, tmp_path, metadata):
    path = write_safetensors(tmp_path / "invalid.safetensors", state_of(network), metadata)
    with pytest.raises(CheckpointError, match="metadata is incomplete or invalid") as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


def test_fault_metadata_with_an_infinite_input_size(network, tmp_path):
    metadata = json.dumps({**SPEC.to_dict(), "input_size": float("inf")})  # writes Infinity
    path = write_safetensors(tmp_path / "infinite.safetensors", state_of(network), metadata)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


# --- faults: the weights do not fit the metadata ---------------------------------------------


def test_fault_metadata_claiming_huge_sizes_allocates_nothing(network, tmp_path):
    huge = {**SPEC.to_dict(), "architecture": {**CONFIG.to_dict(), "channels": 2**30}}
    path = write_safetensors(tmp_path / "huge.safetensors", state_of(network), json.dumps(huge))
    with pytest.raises(CheckpointError, match="beyond any hourglass"):
        load_checkpoint(path)


def test_fault_weights_narrower_than_the_metadata_says(network, tmp_path):
    wider = {**SPEC.to_dict(), "architecture": {**CONFIG.to_dict(), "channels": 32}}
    path = write_safetensors(tmp_path / "narrow.safetensors", state_of(network),
                             json.dumps(wider))
    with pytest.raises(CheckpointError, match="wrong shape") as error:
        load_checkpoint(path)
    message = str(error.value)
    assert "do not fit the architecture" in message
    assert "320 wrong shape" in message
    assert "reinjections.0.heatmaps.weight: file (16, 14, 1, 1), model (32, 14, 1, 1)" in message
    assert "and 315 more" in message  # five are named, the rest counted
    # At 32 channels the stem's last residual changes width, so it needs a skip convolution.
    assert "2 missing (stem.res3.skip.bias, stem.res3.skip.weight)" in message


def test_fault_weights_missing_and_unexpected(network, tmp_path):
    state = state_of(network)
    del state["stacks.1.head.weight"]
    state["stacks.2.head.weight"] = torch.zeros(14, 16, 1, 1)
    path = write_safetensors(tmp_path / "holes.safetensors", state, json.dumps(SPEC.to_dict()))
    with pytest.raises(CheckpointError, match="1 missing") as error:
        load_checkpoint(path)
    assert "stacks.1.head.weight" in str(error.value)
    assert "1 unexpected (stacks.2.head.weight)" in str(error.value)


def test_fault_weights_for_more_stacks_than_the_metadata_has(tmp_path):
    deeper = random_network(HourglassConfig(stacks=3, channels=16, depth=2, joints=14,
                                          stem_channels=8))
    path = write_safetensors(tmp_path / "deeper.safetensors", state_of(deeper),
                             json.dumps(SPEC.to_dict()))
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(path)


# --- faults: the file itself is damaged ------------------------------------------------------


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.05, 0.5, 0.999])
def test_corrupt_truncated_file(saved, tmp_path, keep):
    data = saved.read_bytes()
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pth", ""])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corrupt_random_bytes(tmp_path, suffix, seed):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(seed).bytes(4096))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_corrupt_plausible_header_length_then_noise(tmp_path):
    noise = np.random.default_rng(7).bytes(200)
    path = tmp_path / "noise.safetensors"
    path.write_bytes((100).to_bytes(8, "little") + noise)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupt_header_bytes_never_escape_as_another_error(saved, data):
    original = saved.read_bytes()
    header_end = 8 + int.from_bytes(original[:8], "little")
    damaged = bytearray(original)
    positions = data.draw(st.lists(st.integers(0, header_end - 1), min_size=1, max_size=4))
    for position in positions:
        damaged[position] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.safetensors"
        path.write_bytes(bytes(damaged))
        try:
            loaded = load_checkpoint(path)
        except CheckpointError:
            return
        # A harmless change (say, inside a JSON string) may still load, and then fully.
        assert isinstance(loaded.network, StackedHourglass)


@pytest.mark.parametrize("name", ["absent.safetensors", "absent.pt"])
def test_fault_missing_file(tmp_path, name):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / name)


def test_fault_missing_file_for_read_spec(tmp_path):
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_spec(tmp_path / "absent.safetensors")


def test_fault_directory_instead_of_a_file(tmp_path):
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    with pytest.raises(CheckpointError):
        load_checkpoint(folder)


# --- faults: a pickle that would run code ----------------------------------------------------


class ArmedPayload:
    """Unpickling this calls ``open(marker, "w")``: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_fault_pickle_that_would_run_code_is_refused_unrun_in_plain_words(tmp_path):
    """torch's own refusal is terminal-coloured and explains how to load the file unsafely."""
    marker = tmp_path / "the-pickle-ran"
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"stem.conv.0.weight": ArmedPayload(marker)}}, path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: not a loadable PyTorch checkpoint, or it holds more than weights (refused for "
        "safety) (it holds Python objects besides tensors, and loading those could run code)")
    assert not marker.exists()
    # The payload was live: plain unpickling of the same file (it holds no tensors) runs it.
    with zipfile.ZipFile(path) as archive:
        pickled = next(name for name in archive.namelist() if name.endswith("data.pkl"))
        handle = pickle.loads(archive.read(pickled))["state_dict"]["stem.conv.0.weight"]
    handle.close()
    assert marker.exists()


def test_fault_pickle_holding_something_other_than_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(path)
