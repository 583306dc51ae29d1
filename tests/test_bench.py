"""The bench command runs and reports valid JSON (speed itself is judged by the bench)."""

from __future__ import annotations

import json

from app.cli import main


def test_bench_writes_a_row_per_stack_count_and_the_variants(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                 "--frames", "5", "--json", str(out), "--plot", str(tmp_path / "fps.png")]) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["input_size"] == [640, 480]
    assert [row["stacks"] for row in report["rows"]] == [1, 2]
    for row in report["rows"]:
        assert row["model_ms_median"] > 0 and row["e2e_fps"] > 0
        assert row["precision"] in ("fp32", "bf16")  # bf16 where it is faster here
    names = [variant["name"] for variant in report["variants"]]
    assert names[:2] == ["fp32 eager", "fp32 BN folded"]
    assert report["variants"][1]["max_difference"] < 1e-4  # folding changes nothing
    assert report["peak_memory_mb"] > 0
    assert "e2e fps" in capsys.readouterr().out
    assert (tmp_path / "fps.png").stat().st_size > 1000


def test_bench_on_a_clip_reports_its_size(tiny_checkpoint, lspet_clip, tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--input", str(lspet_clip),
                 "--frames", "3", "--no-variants", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["input_size"] == [320, 240] and report["variants"] == []


def test_bench_soak_reports_memory_threads_and_files(tiny_checkpoint, capsys):
    assert main(["bench", "--checkpoint", str(tiny_checkpoint), "--soak", "30"]) == 0
    out = capsys.readouterr().out
    assert "30 frames: resident memory" in out and "threads" in out and "open files" in out
