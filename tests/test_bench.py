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
from app.engine.benchmark import STAGES
from app.model.devices import device_name


def test_bench_writes_a_row_per_stack_count_and_the_variants(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                 "--frames", "5", "--json", str(out), "--plot", str(tmp_path / "fps.png")]) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["input_size"] == [640, 480]
    assert report["machine"] == device_name(torch.device("cpu"))
    # The app's runtime first (its rows are the report's), the other CPU runtime beside it.
    assert [runtime["runtime"] for runtime in report["runtimes"]] == ["openvino", "torch"]
    assert report["rows"] == report["runtimes"][0]["rows"]
    assert report["runtimes"][0]["isa"] in report["runtimes"][0]["name"]
    for runtime in report["runtimes"]:
        assert [row["stacks"] for row in runtime["rows"]] == [1, 2]
        for row in runtime["rows"]:
            assert 0 < row["model_ms_median"] <= row["model_ms_p90"]
            assert row["e2e_fps"] > 0 and row["find_ms"] > 0 and row["find_nobody_ms"] > 0
            # overhead: whatever a frame costs beyond the model alone
            assert row["overhead_ms"] == pytest.approx(1000 / row["e2e_fps"]
                                                       - row["model_ms_median"])
            assert row["precision"] in ("fp32", "bf16")  # bf16 where it is native or faster
            assert list(row["stages_ms"]) == list(STAGES)
            assert all(ms >= 0 for ms in row["stages_ms"].values())
            assert sum(row["stages_ms"].values()) > row["stages_ms"]["model"] > 0
    variants = {variant["name"]: variant for variant in report["variants"]}
    assert list(variants)[:2] == ["fp32 eager", "fp32 BN folded"]
    assert all(len(variant["median_ms"]) == 2 for variant in variants.values())  # per stack
    assert variants["fp32 eager"]["max_difference"] == 0.0  # the reference itself
    assert variants["fp32 BN folded"]["max_difference"] < 1e-4  # folding changes nothing
    assert variants["OpenVINO fp32"]["max_difference"] < 1e-4  # another runtime, same maths
    assert report["first_pose_s"] is None or report["first_pose_s"] > 0
    assert report["peak_memory_mb"] > 100  # PyTorch alone holds more: a figure in MB, not KB
    table = capsys.readouterr().out
    assert "e2e fps" in table
    rows = [line.split() for line in table.splitlines() if re.match(r"\s+\d+\s+\d", line)]
    assert [row[0] for row in rows] == ["1", "2", "1", "2"]  # OpenVINO's, then PyTorch's
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


def test_bench_beside_a_busy_core_reports_both_rates_and_the_slowest_frame(tiny_checkpoint,
                                                                           capsys):
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--load", "1",
                 "--frames", "5"]) == 0
    out = capsys.readouterr().out
    assert "CPU through OpenVINO" in out and "CPU through PyTorch" in out
    rows = re.findall(r"^\s+(\d)\s+([\d.]+)\s+([\d.]+)\s+(\d+)%\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$",
                      out, re.MULTILINE)
    assert [row[0] for row in rows] == ["1", "2", "1", "2"]  # per runtime, per stack count
    for _, idle, loaded, kept, idle_median, slowest, ratio in rows:
        assert float(idle) > 0 and float(loaded) > 0
        assert int(kept) == pytest.approx(100 * float(loaded) / float(idle), abs=1)
        assert float(ratio) == pytest.approx(float(slowest) / float(idle_median), abs=0.1)
