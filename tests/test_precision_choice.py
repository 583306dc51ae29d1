"""The CPU precision ``auto`` picks through PyTorch is raced once per machine and remembered,
so the same command gives the same keypoints every time; a slow precision asked for by hand
gets a word.  (Through OpenVINO the choice is the processor's: bf16 where it is native.)"""

from __future__ import annotations

import json

import pytest
import torch

import app.model.predictors as predictors_module
from app.cli import main
from app.model.checkpoint import load_checkpoint
from app.model.devices import remembered_cpu_precision, slow_precision_note
from app.model.predictors import create_predictor


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("HOURGLASS_POSE_CACHE", str(folder))
    return folder


def counting_race(monkeypatch, answers: list[str]) -> list[str]:
    """Makes the race answer from ``answers`` in turn; returns the list of answers given."""
    given: list[str] = []

    def race(loaded):
        given.append(answers[len(given) % len(answers)])
        return given[-1]

    monkeypatch.setattr(predictors_module, "fastest_cpu_precision", race)
    return given


def test_auto_precision_is_raced_once_then_remembered(tiny_checkpoint, cache, monkeypatch):
    loaded = load_checkpoint(tiny_checkpoint)
    races = counting_race(monkeypatch, ["bf16", "fp32"])  # a race that goes either way
    chosen = {create_predictor(loaded, "cpu", runtime="torch").precision for _ in range(3)}
    assert chosen == {"bf16"} and races == ["bf16"]
    stored = json.loads((cache / "precision.json").read_text())
    assert list(stored.values()) == ["bf16"]
    assert "input 64" in next(iter(stored))  # per architecture: another model races afresh


def test_another_architecture_races_afresh(tiny_checkpoint, cache):
    from dataclasses import replace

    spec = load_checkpoint(tiny_checkpoint).spec
    assert remembered_cpu_precision(spec, lambda: "fp32") == "fp32"
    assert remembered_cpu_precision(spec, lambda: "bf16") == "fp32"
    bigger = replace(spec, input_size=128)
    assert remembered_cpu_precision(bigger, lambda: "bf16") == "bf16"


@pytest.mark.parametrize("damage", ["unwritable", "garbage"])
def test_a_cache_that_cannot_be_used_means_racing_every_time(tiny_checkpoint, cache, damage):
    spec = load_checkpoint(tiny_checkpoint).spec
    if damage == "unwritable":
        cache.parent.mkdir(exist_ok=True)
        cache.write_text("a file where the folder should be")
        assert remembered_cpu_precision(spec, lambda: "bf16") == "bf16"
        assert remembered_cpu_precision(spec, lambda: "fp32") == "fp32"
    else:
        cache.mkdir()
        (cache / "precision.json").write_text("[not, json")
        assert remembered_cpu_precision(spec, lambda: "bf16") == "bf16"
        assert remembered_cpu_precision(spec, lambda: "fp32") == "bf16"  # rewritten whole


def test_fp16_on_the_cpu_gets_a_word_on_the_command_line(tiny_checkpoint, lspet_image, tmp_path,
                                                        capsys):
    assert slow_precision_note(torch.device("cpu"), "fp32") is None
    assert slow_precision_note(torch.device("cuda"), "fp16") is None
    code = main(["infer", "--input", str(lspet_image), "--json", str(tmp_path / "out.jsonl"),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--precision", "fp16"])
    assert code == 0
    err = capsys.readouterr().err
    assert "hourglass-pose: note: fp16 has no fast kernels on the CPU" in err


def test_when_two_first_runs_race_at_once_the_first_choice_stands(tiny_checkpoint, cache):
    spec = load_checkpoint(tiny_checkpoint).spec

    def race_while_another_process_finishes_first() -> str:
        assert remembered_cpu_precision(spec, lambda: "fp32") == "fp32"  # the other process
        return "bf16"

    assert remembered_cpu_precision(spec, race_while_another_process_finishes_first) == "fp32"
    assert remembered_cpu_precision(spec, lambda: "bf16") == "fp32"
