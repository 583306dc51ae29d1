"""OpenVINO runs the network on the CPU: the same heatmaps and PCK as PyTorch, a cache that
survives damage and staleness, and PyTorch taking over (said once) when OpenVINO fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import app.model.devices as devices
import app.model.openvino_runtime as openvino_runtime
import app.model.predictors as predictors
from app.cli import main
from app.engine.labelled_data import ground_truth_box, load_annotations
from app.model.checkpoint import load_checkpoint, load_model
from app.model.devices import DeviceError
from app.model.openvino_runtime import OpenVinoError, OpenVinoPredictor, conversion_key
from app.model.predictors import create_predictor
from app.pose.affine import warp_crop
from app.train.datasets import held_out_count, split_validation
from app.train.evaluate import ValidationSlice

LSP = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "lsp"

# How far OpenVINO's heatmaps may lie from PyTorch fp32's, heatmaps being 0 to 1.  fp32: the
# same arithmetic summed in another order, so a few float32 ulps through ~100 layers.  bf16:
# weights and activations rounded to 8 significant bits (0.4%) at every convolution's input,
# summed in fp32; measured 0.011 at most on real crops, PyTorch's own bf16 0.01 to 0.02.
TOLERANCE = {"fp32": 1e-4, "bf16": 0.03}


@pytest.fixture(scope="module")
def shipped():
    return load_model(None)


@pytest.fixture(scope="module")
def lsp_validation() -> list:
    if not (LSP / "joints.mat").is_file():
        pytest.skip("needs ../shared/datasets/lsp")
    return split_validation(load_annotations(LSP), held_out_count(LSP))[1]


@pytest.fixture(scope="module")
def real_crops(shipped, lsp_validation) -> np.ndarray:
    """Eight LSP validation people, cropped by their true box as evaluation crops them."""
    size = shipped.spec.input_size
    crops = []
    for annotation in lsp_validation[:8]:
        image = ValidationSlice([annotation]).images[0]
        crops.append(warp_crop(image, ground_truth_box(annotation), size)[0])
    return np.stack(crops)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_heatmaps_match_pytorch_fp32_on_real_crops(shipped, real_crops, precision):
    if precision == "bf16" and not openvino_runtime.native_bf16():
        pytest.skip("this CPU has no native bf16")
    reference = create_predictor(shipped, "cpu", "fp32", runtime="torch")
    openvino = create_predictor(shipped, "cpu", precision, runtime="openvino")
    assert openvino.runtime == "openvino" and openvino.precision == precision
    for stacks in (1, shipped.spec.config.stacks):
        for flip in (False, True):
            expected = reference(real_crops, stacks, flip)
            got = openvino(real_crops, stacks, flip)
            assert got.shape == expected.shape == (stacks, 8, 14, 32, 32)
            assert float(np.abs(got - expected).max()) < TOLERANCE[precision]
    # One crop and two (the live batches, compiled for their shape) answer as the batch does.
    assert np.allclose(openvino(real_crops[:1]), openvino(real_crops)[:, :1],
                       atol=TOLERANCE[precision])


@pytest.mark.slow
def test_pck_on_the_lsp_validation_slice_matches_pytorch(shipped, lsp_validation):
    """What the app runs (OpenVINO, auto precision) scores what PyTorch fp32 scores."""
    held_out = ValidationSlice(lsp_validation)
    torch_pck = held_out.score(create_predictor(shipped, "cpu", "fp32", runtime="torch")).mean
    openvino_pck = held_out.score(create_predictor(shipped, "cpu")).mean
    assert abs(openvino_pck - torch_pck) <= 0.3, (openvino_pck, torch_pck)


def count_conversions(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = openvino_runtime.convert

    def counting(network, spec):
        calls.append(1)
        return real(network, spec)

    monkeypatch.setattr(openvino_runtime, "convert", counting)
    return calls


def test_a_second_start_reads_the_kept_conversion(tiny_checkpoint, monkeypatch):
    loaded = load_checkpoint(tiny_checkpoint)
    calls = count_conversions(monkeypatch)
    first = OpenVinoPredictor(loaded.network, loaded.spec, "fp32")
    second = OpenVinoPredictor(loaded.network, loaded.spec, "fp32")
    assert len(calls) <= 1  # none where an earlier test kept it
    crops = np.zeros((1, 64, 64, 3), np.uint8)
    assert np.array_equal(first(crops), second(crops))
    folder = openvino_runtime.conversions_dir() / conversion_key(loaded.network, loaded.spec)
    assert (folder / "network.xml").is_file() and any((folder / "compiled").iterdir())


@pytest.mark.parametrize("damage", ["garbage", "truncated weights", "compiled blobs"])
def test_a_damaged_cache_entry_is_converted_again(tiny_checkpoint, monkeypatch, damage):
    loaded = load_checkpoint(tiny_checkpoint)
    crops = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    expected = OpenVinoPredictor(loaded.network, loaded.spec, "fp32")(crops)
    folder = openvino_runtime.conversions_dir() / conversion_key(loaded.network, loaded.spec)
    if damage == "garbage":
        (folder / "network.xml").write_text("<not a model")
    elif damage == "truncated weights":
        weights = folder / "network.bin"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        for blob in (folder / "compiled").iterdir():
            blob.write_bytes(b"\0" * 64)
    calls = count_conversions(monkeypatch)
    again = OpenVinoPredictor(loaded.network, loaded.spec, "fp32")
    assert np.allclose(again(crops), expected, atol=1e-6)
    assert len(calls) == (0 if damage == "compiled blobs" else 1)


def test_another_checkpoint_or_openvino_release_is_another_entry(tiny_checkpoint, monkeypatch):
    loaded = load_checkpoint(tiny_checkpoint)
    key = conversion_key(loaded.network, loaded.spec)
    other = load_checkpoint(tiny_checkpoint)
    next(other.network.parameters()).data.add_(0.01)  # retrained weights, same architecture
    assert conversion_key(other.network, other.spec) != key
    import openvino

    monkeypatch.setattr(openvino, "__version__", "2099.1.0-future")
    assert conversion_key(loaded.network, loaded.spec) != key


def test_an_unwritable_cache_still_runs(tiny_checkpoint, tmp_path, monkeypatch):
    blocked = tmp_path / "a file"
    blocked.write_text("where the cache folder should be")
    monkeypatch.setenv("HOURGLASS_POSE_CACHE", str(blocked))
    loaded = load_checkpoint(tiny_checkpoint)
    predictor = create_predictor(loaded, "cpu", runtime="openvino")
    assert predictor(np.zeros((1, 64, 64, 3), np.uint8)).shape == (2, 1, 14, 16, 16)


def failing_openvino(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OpenVinoError("OpenVINO could not compile the network (a plugin is missing)")

    monkeypatch.setattr(predictors, "OpenVinoPredictor", broken)
    monkeypatch.setattr(predictors, "_openvino_failures", {})


def test_when_openvino_fails_pytorch_runs_and_it_is_said_once(tiny_checkpoint, monkeypatch):
    failing_openvino(monkeypatch)
    loaded = load_checkpoint(tiny_checkpoint)
    first = create_predictor(loaded, "cpu")
    assert first.runtime == "torch"
    assert first.note.startswith("OpenVINO could not compile the network (a plugin is missing)")
    assert "runs on PyTorch instead" in first.note
    again = create_predictor(loaded, "cpu")
    assert again.runtime == "torch" and again.note is None
    with pytest.raises(DeviceError, match="a plugin is missing"):
        create_predictor(loaded, "cpu", runtime="openvino")


def test_a_missing_openvino_falls_back_on_the_command_line(tiny_checkpoint, lspet_image,
                                                          tmp_path, monkeypatch, capsys):
    def not_installed():
        raise OpenVinoError("OpenVINO cannot be loaded (No module named 'openvino')")

    monkeypatch.setattr(openvino_runtime, "_openvino", not_installed)
    monkeypatch.setattr(predictors, "_openvino_failures", {})
    code = main(["infer", "--input", str(lspet_image), "--json", str(tmp_path / "o.jsonl"),
                 "--checkpoint", str(tiny_checkpoint)])
    captured = capsys.readouterr()
    assert code == 0 and "(cpu, torch," in captured.out
    assert captured.err.count("OpenVINO cannot be loaded") == 1
    assert devices.device_choices() == {"cpu": "CPU"}  # no OpenVINO entry to offer


def test_info_says_how_the_model_runs_here(tiny_checkpoint, capsys):
    assert main(["info", "--checkpoint", str(tiny_checkpoint)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("runs here"))
    assert "CPU through OpenVINO" in line and "kernels: " in line
    assert main(["info", "--checkpoint", str(tiny_checkpoint), "--runtime", "torch"]) == 0
    assert "CPU through PyTorch" in capsys.readouterr().out


def test_a_predictor_freed_on_another_thread_leaves_signals_working(tiny_checkpoint):
    """OpenVINO's CPU plugin swaps the signal stack of the thread that loads it and unmaps it
    when released: made on one thread and freed on another, it left the first thread's stack
    unmapped, and the next SIGTERM there (the app's close on a signal) was a segfault."""
    script = f"""
import os, signal, threading
import numpy as np
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
signal.signal(signal.SIGTERM, lambda *_: print("handled"))
predictors = [create_predictor(load_checkpoint({str(tiny_checkpoint)!r}), "cpu")]
predictors[0](np.zeros((1, 64, 64, 3), np.uint8))
freeing = threading.Thread(target=predictors.clear)
freeing.start()
freeing.join()
os.kill(os.getpid(), signal.SIGTERM)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0 and done.stdout.strip() == "handled", done.stderr
