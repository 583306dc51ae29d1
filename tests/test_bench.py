"""The bench command: its report holds what app/engine/benchmark.py promises (a row per stack
count, figures that agree with each other, the variants against fp32 eager), as JSON, a table
and a chart.  Speed itself is judged by the bench, never here."""

from __future__ import annotations

import json
import re

import cv2
import pytest
import torch

from app.cli import main
from app.model.runner import device_name


def test_bench_writes_a_row_per_stack_count_and_the_variants(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                 "--frames", "5", "--json", str(out), "--plot", str(tmp_path / "fps.png")]) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["input_size"] == [640, 480]
    assert report["machine"] == device_name(torch.device("cpu"))
    assert [row["stacks"] for row in report["rows"]] == [1, 2]
    for row in report["rows"]:
        assert 0 < row["model_ms_median"] <= row["model_ms_p90"]
        assert row["e2e_fps"] > 0 and row["find_ms"] > 0 and row["find_nobody_ms"] > 0
        # overhead: whatever a frame costs beyond the model alone
        assert row["overhead_ms"] == pytest.approx(1000 / row["e2e_fps"] - row["model_ms_median"])
        assert row["precision"] in ("fp32", "bf16")  # bf16 where it is faster here
    names = [variant["name"] for variant in report["variants"]]
    assert names[:2] == ["fp32 eager", "fp32 BN folded"]
    assert all(len(variant["median_ms"]) == 2 for variant in report["variants"])  # per stack
    assert report["variants"][0]["max_difference"] == 0.0  # the reference itself
    assert report["variants"][1]["max_difference"] < 1e-4  # folding changes nothing
    assert report["first_pose_s"] is None or report["first_pose_s"] > 0
    assert report["peak_memory_mb"] > 100  # PyTorch alone holds more: a figure in MB, not KB
    table = capsys.readouterr().out
    assert "e2e fps" in table
    rows = [line.split() for line in table.splitlines() if re.match(r"\s+\d+\s+\d", line)]
    assert [row[0] for row in rows] == ["1", "2"]
    chart = cv2.imread(str(tmp_path / "fps.png"))
    assert chart is not None and min(chart.shape[:2]) > 100


def test_bench_on_a_clip_reports_its_size(tiny_checkpoint, lspet_clip, tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--input", str(lspet_clip),
                 "--frames", "3", "--no-variants", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["input_size"] == [320, 240] and report["variants"] == []
    assert [row["stacks"] for row in report["rows"]] == [1, 2]


def test_bench_soak_reports_memory_threads_and_files(tiny_checkpoint, capsys):
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--soak", "30"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"30 frames: resident memory (\d+) -> (\d+) MB \(([+-][\d.]+) MB\), "
                      r"threads (\d+) -> (\d+), open files (\d+) -> (\d+)", out)
    assert found, out
    before, after, growth, threads_before, threads_after, files_before, files_after = (
        float(value) for value in found.groups())
    assert before > 0 and after > 0 and abs(growth - (after - before)) <= 1
    # The loop leaks nothing it opens: the reader's thread and the media are the same ones.
    assert threads_after == threads_before and files_after == files_before
