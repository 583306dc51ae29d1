"""The command line, run in-process as a user would type it."""

from __future__ import annotations

import json

import cv2
import pytest

from app import __version__
from app.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_info_describes_architecture_joints_and_cost(tiny_checkpoint, capsys):
    assert main(["info", "--checkpoint", str(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "2 stacks x 16 channels" in out
    assert "left wrist" in out
    assert "GFLOPs" in out and "2 stacks:" in out


def test_infer_writes_one_line_per_frame_and_an_annotated_video(
        tiny_checkpoint, lspet_clip, tmp_path):
    out_json, out_video = tmp_path / "poses.jsonl", tmp_path / "annotated.mp4"
    code = main(["infer", "--input", str(lspet_clip), "--checkpoint", str(tiny_checkpoint),
                 "--json", str(out_json), "--out", str(out_video), "--stacks", "1",
                 "--device", "cpu"])
    assert code == 0
    lines = [json.loads(line) for line in out_json.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(12))
    assert all(line["stacks"] == 1 and len(line["keypoints"]) == 14 for line in lines)
    capture = cv2.VideoCapture(str(out_video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    capture.release()


def test_infer_on_a_file_that_is_not_media_is_a_clear_fault(tiny_checkpoint, tmp_path, capsys):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    code = main(["infer", "--input", str(bogus), "--checkpoint", str(tiny_checkpoint),
                 "--json", str(tmp_path / "out.jsonl")])
    assert code == 2
    err = capsys.readouterr().err
    assert "notes.mp4" in err and "Traceback" not in err


def test_a_corrupt_checkpoint_is_a_clear_fault(tmp_path, capsys):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 100)
    assert main(["info", "--checkpoint", str(broken)]) == 2
    assert "broken.safetensors" in capsys.readouterr().err


def test_too_many_stacks_is_refused(tiny_checkpoint, lspet_image, tmp_path, capsys):
    code = main(["infer", "--input", str(lspet_image), "--checkpoint", str(tiny_checkpoint),
                 "--json", str(tmp_path / "out.jsonl"), "--stacks", "5"])
    assert code == 2
    assert "between 1 and 2" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "said"), [
    (["--worst", "0"], "--worst must be 1 or more"),
    (["--draw", "{tmp}/drawings"], "--draw needs --worst N"),
    (["--worst", "3", "--draw", "{tmp}/mine.txt"], "is a file"),
    (["--csv", "{tmp}/missing/people.csv"], "does not exist"),
    (["--csv", "{tmp}/people.txt"], "must end in .csv"),
])
def test_evals_outputs_are_refused_before_the_model_loads(tmp_path, capsys, options, said):
    (tmp_path / "mine.txt").write_text("mine")
    assert main(["eval", "--dataset", str(tmp_path), "--checkpoint",
                 str(tmp_path / "absent.safetensors"),
                 *(option.format(tmp=tmp_path) for option in options)]) == 2
    err = capsys.readouterr().err
    assert said in err and "absent.safetensors" not in err and "Traceback" not in err
    assert (tmp_path / "mine.txt").read_text() == "mine"
