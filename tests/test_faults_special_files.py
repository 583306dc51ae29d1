"""Inputs that are no regular file (issue 26): a named pipe waited forever for a writer, with no
word; in a folder, pipes and broken or looping links were dropped without the "skipped" line
the README promises; a folder given as --checkpoint was "no such checkpoint file".  Each is now
told what it is before anything opens it.

What could hang runs in a process of its own, with a timeout: a regression fails, never
stalls the suite.
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
from app.engine.open_media import open_source
from app.engine.sources import SkippedFile, SourceError
from app.model.checkpoint import load_checkpoint
from app.model.spec import CheckpointError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")

PIPE = "a named pipe (FIFO)"
LOOP = "a loop of symbolic links (they lead back to themselves)"


def hourglass_pose(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The command in a process of its own: what hangs is killed at ``timeout`` and fails."""
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("name", ["pipe.jpg", "pipe.mp4"])
def test_fault_a_named_pipe_as_input_is_refused_at_once(tiny_checkpoint, tmp_path, name):
    os.mkfifo(tmp_path / name)
    poses = tmp_path / "o.jsonl"
    run = hourglass_pose("infer", "--input", str(tmp_path / name), "--json", str(poses),
                         "--checkpoint", str(tiny_checkpoint))
    assert run.returncode == 2
    assert run.stderr == (f"hourglass-pose: {tmp_path / name}: {PIPE}, not a video, an image, "
                          "a folder of photos or a camera index\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_fault_open_source_refuses_what_reading_would_wait_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(SourceError, match=r"pipe\.png: a named pipe \(FIFO\), not a video"):
        open_source(tmp_path / "pipe.png")
    with pytest.raises(SourceError, match="a device"):
        open_source("/dev/null")
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    with pytest.raises(SourceError, match=r"gone\.mp4: a broken symbolic link \(to "):
        open_source(tmp_path / "gone.mp4")
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source(tmp_path / "nowhere.mp4")


@pytest.fixture
def folder_with_oddities(tmp_path, lspet_folder) -> Path:
    """a.jpg and e.jpg are photos; b.jpg a pipe, c.jpg a broken link, d.jpg a loop of links,
    f.jpg a folder (not a photo, so not a frame)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    first, second, *_ = sorted(lspet_folder.iterdir())
    shutil.copyfile(first, folder / "a.jpg")
    os.mkfifo(folder / "b.jpg")
    (folder / "c.jpg").symlink_to("nowhere.jpg")
    (folder / "d.jpg").symlink_to("d2.jpg")
    (folder / "d2.jpg").symlink_to("d.jpg")
    shutil.copyfile(second, folder / "e.jpg")
    (folder / "f.jpg").mkdir()
    return folder


SKIPPED = [(1, "b.jpg", PIPE),
           (2, "c.jpg", "a broken symbolic link (to nowhere.jpg, which does not exist)"),
           (3, "d.jpg", LOOP), (4, "d2.jpg", LOOP)]


def test_fault_pipes_and_bad_links_in_a_folder_are_skipped_and_said(folder_with_oddities):
    with open_source(folder_with_oddities) as source:
        read = list(source)
        frames = [frame.file for frame in read]
        assert frames == ["a.jpg", "e.jpg"]
        skipped = [skip for frame in read for skip in frame.skipped] + list(source.take_skipped())
        assert skipped == [SkippedFile(*skip) for skip in SKIPPED]


def test_fault_infer_over_such_a_folder_writes_the_skipped_lines(
        folder_with_oddities, tiny_checkpoint, tmp_path, capsys):
    poses = tmp_path / "poses.jsonl"
    assert main(["infer", "--input", str(folder_with_oddities), "--json", str(poses),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]) == 0
    lines = [json.loads(line) for line in poses.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3, 4, 5]
    assert [line.get("file") for line in lines] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "d2.jpg",
                                                    "e.jpg"]
    assert [(line["frame"], line["file"], line["skipped"]) for line in lines[1:5]] == SKIPPED
    captured = capsys.readouterr()
    for _, name, reason in SKIPPED:
        assert f"hourglass-pose: skipped {name}: {reason}" in captured.err.splitlines()
    assert "2 frames" in captured.out and "4 unreadable files skipped" in captured.out


def test_fault_a_folder_as_checkpoint_says_it_is_a_folder(tmp_path, capsys):
    (tmp_path / "models").mkdir()
    with pytest.raises(CheckpointError, match=r"models: is a folder; name the checkpoint file"):
        load_checkpoint(tmp_path / "models")
    assert main(["info", "--checkpoint", str(tmp_path / "models")]) == 2
    assert capsys.readouterr().err == (f"hourglass-pose: {tmp_path / 'models'}: is a folder; "
                                       "name the checkpoint file in it (.safetensors, .pt or "
                                       ".pth)\n")


def test_fault_a_named_pipe_as_checkpoint_is_refused_unread(tmp_path):
    os.mkfifo(tmp_path / "model.safetensors")
    run = hourglass_pose("info", "--checkpoint", str(tmp_path / "model.safetensors"))
    assert run.returncode == 2
    assert run.stderr == f"hourglass-pose: {tmp_path / 'model.safetensors'}: {PIPE}, not a " \
                         "checkpoint file\n"
