"""Paths on the command line as shells hand them over (issue 26): an unset variable gives an
empty path, which meant the current folder (``--input ""`` processed whatever photos lay there
and replaced o.jsonl) or the built-in model (``--checkpoint ""``); ``--json /dev/stdout`` into
a pipe or a file was refused ("must end in .jsonl"), though streaming JSON lines to another
program is what the option is for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

EMPTY = {
    "infer-input": ["infer", "--input", "", "--json", "o.jsonl"],
    "infer-checkpoint": ["infer", "--input", "photo.jpg", "--json", "o.jsonl", "--checkpoint", ""],
    "infer-json": ["infer", "--input", "photo.jpg", "--json", ""],
    "eval-checkpoint": ["eval", "--dataset", "lspet", "--checkpoint", ""],
    "eval-dataset": ["eval", "--dataset", ""],
    "eval-draw": ["eval", "--dataset", "lspet", "--worst", "3", "--draw", ""],
    "eval-csv": ["eval", "--dataset", "lspet", "--csv", ""],
    "info-checkpoint": ["info", "--checkpoint", ""],
    "bench-checkpoint": ["bench", "--checkpoint", ""],
    "bench-input": ["bench", "--input", ""],
    "app-input": ["--input", ""],
    "app-checkpoint": ["--checkpoint", ""],
    "self-test-input": ["--self-test", "--input", ""],
}


@pytest.mark.parametrize("argv", EMPTY.values(), ids=EMPTY.keys())
def test_fault_an_empty_path_is_an_error_not_the_current_folder(
        argv, lspet_folder, tmp_path, monkeypatch, capsys):
    for photo in lspet_folder.iterdir():  # what the current folder held: never processed
        shutil.copyfile(photo, tmp_path / photo.name)
    (tmp_path / "o.jsonl").write_text("an earlier run's results\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    option = argv[argv.index("") - 1]
    assert capsys.readouterr().err == (f"hourglass-pose: {option} is empty (an unset shell "
                                       "variable?): it needs the name of a file or folder\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "o.jsonl").read_text() == "an earlier run's results\n"


def infer_to_stdout(media: Path, checkpoint: Path, stdout) -> subprocess.Popen:
    """``hourglass-pose infer --input MEDIA --json /dev/stdout`` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "infer", "--input", str(media), "--json", "/dev/stdout",
         "--checkpoint", str(checkpoint), "--device", "cpu"],
        stdout=stdout, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="no /dev/stdout here")
def test_json_lines_stream_through_a_pipe_to_another_program(lspet_folder, tiny_checkpoint):
    """As in ``hourglass-pose infer ... --json /dev/stdout | reader``: the reader gets one JSON
    object a line and nothing else (the summary goes to stderr)."""
    run = infer_to_stdout(lspet_folder, tiny_checkpoint, subprocess.PIPE)
    reader = subprocess.run(
        [sys.executable, "-c", "import json, sys\n"
         "for line in sys.stdin: print(json.loads(line)['file'])"],
        stdin=run.stdout, capture_output=True, text=True, timeout=300)
    run.stdout.close()
    error = run.stderr.read()
    assert run.wait(timeout=60) == 0, error
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.split() == sorted(p.name for p in lspet_folder.iterdir())
    assert error.splitlines()[-1].startswith("5 frames -> /dev/stdout (cpu, ")


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="no /dev/stdout here")
def test_json_lines_to_stdout_redirected_into_a_file_append_to_it(lspet_image, tiny_checkpoint,
                                                                   tmp_path):
    """``>> log.txt``: the file keeps what it held (it is the shell's, never replaced), and
    its name need not end in .jsonl."""
    log = tmp_path / "log.txt"
    log.write_text("# earlier\n")
    with open(log, "a") as stdout:
        run = infer_to_stdout(lspet_image, tiny_checkpoint, stdout)
        _, error = run.communicate(timeout=300)
    assert run.returncode == 0, error
    first, second = log.read_text().splitlines()
    assert first == "# earlier"
    assert json.loads(second)["frame"] == 0 and len(json.loads(second)["keypoints"]) == 14
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]  # no temporary left


@pytest.mark.parametrize("video", ["/dev/stdout", "/dev/null"])
def test_fault_a_video_to_a_stream_is_refused_before_the_model_loads(lspet_image, tmp_path,
                                                                      video, capsys):
    """An MP4 is finished by seeking back to its start: no stream can hold one.  It failed
    after the model had loaded, with OpenCV's own words."""
    code = main(["infer", "--input", str(lspet_image), "--json", str(tmp_path / "o.jsonl"),
                 "--out", video, "--checkpoint", str(tmp_path / "never-read.safetensors")])
    assert code == 2
    assert capsys.readouterr().err == (f"hourglass-pose: {video}: an MP4 cannot go to a pipe, "
                                       "terminal, device or a file opened for us: its index is "
                                       "written last, by seeking back; name a file ending in "
                                       ".mp4\n")
    assert list(tmp_path.iterdir()) == []
