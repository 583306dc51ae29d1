"""The trainer's report of how far the judge's best rose lately: the end rule for more hours of
the same recipe."""

from __future__ import annotations

from app.train.report import recent_gain, validation_line

HISTORY = [{"hours": 1.0, "mean": 60.0},  # before slices were kept: not the judge's
           {"hours": 2.0, "mean": 84.0, "slices": {"lspet": 66.0, "lsp": 84.0}},
           {"hours": 3.5, "mean": 85.5, "slices": {"lspet": 67.0, "lsp": 85.5}},
           {"hours": 5.0, "mean": 84.6, "slices": {"lspet": 67.5, "lsp": 84.6}}]


def test_the_gain_is_the_best_now_against_the_best_three_hours_before():
    assert recent_gain(HISTORY, "lsp") == 85.5 - 84.0
    assert recent_gain(HISTORY, "lspet") == 67.5 - 66.0
    assert recent_gain(HISTORY, "lsp", hours=1.5) == 0.0  # the best already stood at 3.5 h


def test_there_is_no_gain_to_report_until_the_slice_spans_the_hours():
    assert recent_gain(HISTORY[:3], "lsp") is None
    assert recent_gain(HISTORY, "coco") is None
    assert recent_gain([], "lsp") is None


def test_the_validation_line_says_the_gain_only_when_there_is_one():
    slice_ = {"mean": 84.6, "per_stack": [80.0, 84.6],
              "per_joint": {"right wrist": 70.0, "left wrist": 71.0}}
    record = {"step": 10, "epoch": 0.1, "judge": "lsp", "slices": {"lsp": slice_},
              "recent_gain": None}
    assert "over the last" not in validation_line(record, [0.1, 0.2], 10.0, 60.0)
    record["recent_gain"] = 0.42
    line = validation_line(record, [0.1, 0.2], 10.0, 60.0)
    assert "lsp 84.6 (stacks 80.0 / 84.6; wrists 70.0 / 71.0)" in line
    assert "best lsp +0.42 over the last 3 h" in line
