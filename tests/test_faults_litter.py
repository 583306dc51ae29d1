"""What a killed run leaves, names at the file system's limit, and messages that name the real
cause: the temporaries of a dead writer are deleted by the next run to the same target, a
legal output name has a legal temporary, a frame too small for a video, a read-only file
system and the kernel's /proc and /sys are said as such (the last before the model loads).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from measures import video_frames

from app.atomic_write import temporary_name
from app.cli import main
from app.engine import output_paths
from app.engine.output_paths import KEYPOINTS, OutputError, check_outputs


def infer(*args: str, checkpoint: Path) -> int:
    return main(["infer", *args, "--checkpoint", str(checkpoint), "--device", "cpu"])


def killed_writer(folder: Path) -> int:
    """A process that starts writing o.jsonl and o.mp4 in ``folder``, then is killed (kill -9):
    its process id."""
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from app.engine.output import JsonLinesWriter, VideoWriter
        keypoints = JsonLinesWriter({str(folder / "o.jsonl")!r})
        keypoints.write({{"frame": 0}})
        VideoWriter({str(folder / "o.mp4")!r}, 10.0).write(np.zeros((48, 64, 3), np.uint8))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1])
    assert process.wait(timeout=60) == -signal.SIGKILL
    return process.pid


def test_fault_a_killed_runs_temporaries_are_deleted_by_the_next_run(
        tmp_path, tiny_checkpoint, lspet_image):
    pid = killed_writer(tmp_path)
    left = sorted(p.name for p in tmp_path.glob(".*"))
    assert [name.split(".tmp-")[0] for name in left] == [".o.jsonl", ".o.mp4"]
    assert all(f".tmp-{pid}-" in name for name in left)
    live = tmp_path / temporary_name("o.jsonl", os.getppid(), "0123abcd")  # a live writer's
    other = tmp_path / temporary_name("p.jsonl", pid, "0123abcd")  # another target's
    live.write_text("")
    other.write_text("")
    code = infer("--input", str(lspet_image), "--json", str(tmp_path / "o.jsonl"),
                 "--out", str(tmp_path / "o.mp4"), checkpoint=tiny_checkpoint)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["o.jsonl", "o.mp4", live.name, other.name])


@pytest.mark.parametrize("name", ["x" * 242 + ".mp4", "é" * 121 + ".mp4"])
def test_fault_a_legal_long_output_name_has_a_legal_temporary(
        tmp_path, tiny_checkpoint, lspet_image, name):
    assert len(name.encode()) == 246
    keypoints = tmp_path / (Path(name).stem[:-2] + ".jsonl")
    code = infer("--input", str(lspet_image), "--json", str(keypoints), "--out",
                 str(tmp_path / name), checkpoint=tiny_checkpoint)
    assert code == 0
    assert video_frames(tmp_path / name) == 1
    temporary = temporary_name(name, 4194304, "0123abcd")
    assert len(temporary.encode()) <= 255 and temporary.endswith(".tmp-4194304-0123abcd.mp4")


def test_fault_a_frame_too_small_for_a_video_is_said(tmp_path, tiny_checkpoint, capsys):
    photo = tmp_path / "dot.png"
    cv2.imwrite(str(photo), np.full((1, 1, 3), 200, np.uint8))
    video = tmp_path / "o.mp4"
    code = infer("--input", str(photo), "--json", str(tmp_path / "o.jsonl"), "--out",
                 str(video), checkpoint=tiny_checkpoint)
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"hourglass-pose: {video}: the frames are 1x1 pixels, too small for a video (at least "
        "2x2); nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot.png"]


def test_fault_a_read_only_file_system_is_said(tmp_path, monkeypatch):
    class ReadOnly:
        f_flag = os.ST_RDONLY

    real_access, real_statvfs = os.access, os.statvfs
    monkeypatch.setattr(output_paths.os, "access",
                        lambda path, mode: Path(path) != tmp_path and real_access(path, mode))
    monkeypatch.setattr(output_paths.os, "statvfs",
                        lambda path: ReadOnly() if Path(path) == tmp_path else real_statvfs(path))
    with pytest.raises(OutputError) as raised:
        check_outputs([(tmp_path / "o.jsonl", KEYPOINTS)])
    assert str(raised.value) == (f"{tmp_path / 'o.jsonl'}: cannot write in the folder {tmp_path} "
                                 "(Read-only file system: it is mounted read-only)")


@pytest.mark.parametrize("option, path", [
    ("--json", "/proc/self/poses.jsonl"),
    ("--json", "/sys/kernel/poses.jsonl"),
    ("--out", "/proc/self/o.mp4"),
    ("--out", "/sys/o.mp4"),
])
def test_fault_outputs_under_proc_or_sys_are_refused_before_the_model_loads(
        tmp_path, lspet_image, monkeypatch, capsys, option, path):
    def load_model(*_args, **_kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("app.model.checkpoint.load_model", load_model)
    json_out = path if option == "--json" else str(tmp_path / "o.jsonl")
    extra = ["--out", path] if option == "--out" else []
    code = main(["infer", "--input", str(lspet_image), "--json", json_out, *extra])
    assert code == 2
    place = "/proc" if path.startswith("/proc") else "/sys"
    assert capsys.readouterr().err.strip().splitlines() == [
        f"hourglass-pose: {path}: is under {place}, the kernel's view of the system, where no "
        f"file can be made; name a file in a folder for the "
        f"{'keypoints (JSON lines)' if option == '--json' else 'annotated video (MP4)'}"]
