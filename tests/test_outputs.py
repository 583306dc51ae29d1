"""Outputs never cost the user a file: each is checked before anything is opened for writing,
written under a temporary name beside its target, and renamed over it only when the run keeps
it.  The commands here are the ones that once destroyed an input or a results file.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from measures import video_frames

from app.atomic_write import AtomicFile
from app.cli import main
from app.engine.output import JsonLinesWriter, VideoWriter, keep_or_discard, write_image
from app.engine.output_paths import KEYPOINTS, SNAPSHOT, VIDEO, OutputError, check_outputs


def snapshot_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (temporary ones included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def infer(*args: str, checkpoint: Path) -> int:
    return main(["infer", *args, "--checkpoint", str(checkpoint), "--device", "cpu"])


@pytest.fixture
def workspace(tmp_path, lspet_image, lspet_clip) -> Path:
    """A user's folder: a photo, a clip, and results from an earlier run."""
    shutil.copyfile(lspet_image, tmp_path / "photo.jpg")
    shutil.copyfile(lspet_clip, tmp_path / f"clip{lspet_clip.suffix}")
    (tmp_path / "keep.jsonl").write_text('{"frame": 0, "earlier": "results"}\n' * 40)
    return tmp_path


# --- the four commands that lost data ----------------------------------------------------------


@pytest.mark.parametrize("option, name", [
    ("--json", "photo.jpg"),  # the photo would become JSON
    ("--json", "clip"),  # the clip would become JSON after a few frames
    ("--out", "clip"),  # the clip would become a shorter, annotated one
])
def test_an_output_named_as_the_input_is_refused_and_the_input_kept(
        workspace, tiny_checkpoint, capsys, option, name):
    clip = next(workspace.glob("clip.*"))
    target = clip if name == "clip" else workspace / name
    media = target if option == "--json" else clip
    before = snapshot_of(workspace)
    json_out = str(target) if option == "--json" else str(workspace / "new.jsonl")
    extra = ["--out", str(target)] if option == "--out" else []
    code = infer("--input", str(media), "--json", json_out, *extra, checkpoint=tiny_checkpoint)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"hourglass-pose: {target}: ")
    assert snapshot_of(workspace) == before


def test_a_hard_link_to_the_input_is_the_input(workspace, tiny_checkpoint, capsys):
    clip = next(workspace.glob("clip.*"))
    os.link(clip, workspace / "same.mp4")
    before = snapshot_of(workspace)
    code = infer("--input", str(clip), "--json", str(workspace / "new.jsonl"),
                 "--out", str(workspace / "same.mp4"), checkpoint=tiny_checkpoint)
    assert code == 2
    assert "this is the input" in capsys.readouterr().err
    assert snapshot_of(workspace) == before


@pytest.mark.parametrize("out, said", [
    ("nodir/o.mp4", "the folder {folder}/nodir does not exist"),
    ("o.xyz", "a file for the annotated video (MP4) must end in .mp4"),
    ("SOMEDIR", "is a folder; name a file for the annotated video (MP4)"),
])
def test_a_bad_out_leaves_the_results_file_whole(workspace, tiny_checkpoint, capsys, out, said):
    (workspace / "SOMEDIR").mkdir()
    before = snapshot_of(workspace)
    target = workspace / out
    code = infer("--input", str(workspace / "photo.jpg"), "--json", str(workspace / "keep.jsonl"),
                 "--out", str(target), checkpoint=tiny_checkpoint)
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"hourglass-pose: {target}: " + said.format(folder=workspace)]
    assert captured.out == ""
    assert snapshot_of(workspace) == before


def test_a_run_whose_output_fails_midway_keeps_the_frames_written_whole(
        workspace, tiny_checkpoint, monkeypatch, capsys):
    """A frame that cannot be written (here: the fourth) ends the run; the three before it
    replace the old results and the old video, whole and playable (what infer and the app's
    recording both do), and the message says so; no temporary file stays behind."""
    from app.engine import output

    clip = next(workspace.glob("clip.*"))
    (workspace / "old.mp4").write_bytes(clip.read_bytes())
    real_write = output.JsonLinesWriter.write

    def write(self, record):
        if record.get("frame") == 3:
            raise OutputError(f"{self.path}: writing failed (No space left on device)")
        real_write(self, record)

    monkeypatch.setattr(output.JsonLinesWriter, "write", write)
    keypoints, video = workspace / "keep.jsonl", workspace / "old.mp4"
    code = infer("--input", str(clip), "--json", str(keypoints), "--out", str(video),
                 checkpoint=tiny_checkpoint)
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"hourglass-pose: {keypoints}: writing failed (No space left on device); the 3 frames "
        f"written so far are kept in {keypoints} and {video}")
    assert [json.loads(line)["frame"] for line in keypoints.read_text().splitlines()] == [0, 1, 2]
    assert video_frames(video) == 3
    assert not list(workspace.glob(".*tmp*"))


def test_a_successful_run_replaces_its_outputs_whole(workspace, tiny_checkpoint):
    clip = next(workspace.glob("clip.*"))
    (workspace / "old.mp4").write_bytes(b"an earlier video")
    code = infer("--input", str(clip), "--json", str(workspace / "keep.jsonl"),
                 "--out", str(workspace / "old.mp4"), checkpoint=tiny_checkpoint)
    assert code == 0
    lines = (workspace / "keep.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(12))
    assert video_frames(workspace / "old.mp4") == 12
    assert not list(workspace.glob(".*tmp*"))


@pytest.mark.parametrize("frames", ["0", "-1"])
def test_max_frames_below_one_is_refused(workspace, tiny_checkpoint, capsys, frames):
    before = snapshot_of(workspace)
    code = infer("--input", str(workspace / "photo.jpg"), "--json", str(workspace / "keep.jsonl"),
                 "--max-frames", frames, checkpoint=tiny_checkpoint)
    assert code == 2
    assert capsys.readouterr().err.strip() == "hourglass-pose: --max-frames must be 1 or more"
    assert snapshot_of(workspace) == before


# --- the checks and the writer, one by one -----------------------------------------------------


def test_two_outputs_on_one_file_are_refused(tmp_path):
    (tmp_path / "a.jsonl").write_text("x")
    os.link(tmp_path / "a.jsonl", tmp_path / "b.mp4")
    with pytest.raises(OutputError, match="named for two outputs"):
        check_outputs([(tmp_path / "a.jsonl", KEYPOINTS), (tmp_path / "b.mp4", VIDEO)])


def test_json_endings_and_devices_are_accepted(tmp_path):
    for name in ("a.jsonl", "b.JSON", "c.ndjson"):
        check_outputs([(tmp_path / name, KEYPOINTS)])
    check_outputs([("/dev/null", KEYPOINTS), ("/dev/null", VIDEO)][:1])
    with pytest.raises(OutputError, match=r"must end in \.jsonl, \.json or \.ndjson"):
        check_outputs([(tmp_path / "poses.txt", KEYPOINTS)])
    with pytest.raises(OutputError, match="must end in"):
        check_outputs([(tmp_path / "shot.gif", SNAPSHOT)])


def test_writing_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    writer = JsonLinesWriter(check_outputs([(link, KEYPOINTS)])[0])
    writer.write({"frame": 0})
    assert real.read_text() == "old\n"  # nothing changes until the run keeps it
    writer.close()
    assert link.is_symlink() and real.read_text() == '{"frame": 0}\n'


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text("old\n")
    path.chmod(0o640)
    writer = JsonLinesWriter(path)
    writer.write({"frame": 0})
    writer.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_the_temporary_video_keeps_an_ending_opencv_encodes(tmp_path):
    video = VideoWriter(tmp_path / "take.mp4", 10.0)
    video.write(np.full((48, 64, 3), 120, np.uint8))
    temporary = [p.name for p in tmp_path.iterdir()]
    assert len(temporary) == 1 and temporary[0].startswith(".take.mp4.tmp-")
    assert temporary[0].endswith(".mp4")
    video.close()
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]
    assert video_frames(tmp_path / "take.mp4") == 1


def test_finishing_fails_then_nothing_is_replaced(tmp_path):
    (tmp_path / "a.jsonl").write_text("old a\n")
    (tmp_path / "b.mp4").write_bytes(b"old b")
    keypoints = JsonLinesWriter(tmp_path / "a.jsonl")
    keypoints.write({"frame": 0})
    video = VideoWriter(tmp_path / "b.mp4", 10.0)
    video.write(np.zeros((48, 64, 3), np.uint8))

    def failing_finish():
        raise OutputError("closing failed (Input/output error)")

    keypoints.finish = failing_finish
    with pytest.raises(OutputError):
        keep_or_discard([video, keypoints], keep=True)
    assert snapshot_of(tmp_path) == {"a.jsonl": b"old a\n", "b.mp4": b"old b"}


def test_the_json_writer_refuses_nan_rather_than_write_it(tmp_path):
    path = tmp_path / "poses.jsonl"
    writer = JsonLinesWriter(path)
    writer.write({"frame": 0, "confidence": 0.5})
    with pytest.raises(OutputError, match="a number JSON cannot hold"):
        writer.write({"frame": 1, "confidence": float("nan")})
    writer.close()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"frame": 0, "confidence": 0.5}]


def test_an_image_that_cannot_be_written_whole_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "shot.png"
    path.write_bytes(b"the earlier snapshot")
    real_open = open

    class FullDisk:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[:100])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("builtins.open", lambda *a, **k: FullDisk(real_open(*a, **k)))
    with pytest.raises(OutputError, match="No space left on device"):
        write_image(path, np.zeros((8, 8, 3), np.uint8))
    monkeypatch.undo()
    assert snapshot_of(tmp_path) == {"shot.png": b"the earlier snapshot"}


def test_a_discarded_file_leaves_no_trace(tmp_path):
    target = tmp_path / "out.jsonl"
    pending = AtomicFile(target)
    assert pending.path.exists() and pending.path.parent == tmp_path
    pending.discard()
    assert list(tmp_path.iterdir()) == []


# --- a property: whatever paths are chosen, a failed run changes nothing -------------------------

CHOICES = ["new", "existing", "input", "folder", "bad-ending", "no-folder", "other-output"]


def output_path(choice: str, kind: str, folder: Path, media: Path) -> Path:
    ending = ".jsonl" if kind == "json" else ".mp4"
    return {
        "new": folder / f"new-{kind}{ending}",
        "existing": folder / f"existing-{kind}{ending}",
        "input": media,
        "folder": folder / "a-folder",
        "bad-ending": folder / f"existing-{kind}.txt",
        "no-folder": folder / "missing" / f"x{ending}",
        "other-output": folder / ("existing-video.mp4" if kind == "json"
                                  else "existing-json.jsonl"),
    }[choice]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(json_choice=st.sampled_from(CHOICES), out_choice=st.sampled_from([None, *CHOICES]),
       media_kind=st.sampled_from(["photo", "clip"]))
def test_property_no_file_changes_unless_the_run_succeeds(
        tmp_path_factory, lspet_image, lspet_clip, tiny_checkpoint, json_choice, out_choice,
        media_kind):
    folder = tmp_path_factory.mktemp("user")
    media = folder / ("photo.jpg" if media_kind == "photo" else f"clip{lspet_clip.suffix}")
    shutil.copyfile(lspet_image if media_kind == "photo" else lspet_clip, media)
    (folder / "a-folder").mkdir()
    for name in ("existing-json.jsonl", "existing-video.mp4", "existing-json.txt",
                 "existing-video.txt"):
        (folder / name).write_bytes(f"the user's {name}\n".encode())
    json_path = output_path(json_choice, "json", folder, media)
    out_path = None if out_choice is None else output_path(out_choice, "video", folder, media)
    before = snapshot_of(folder)
    args = ["--input", str(media), "--json", str(json_path), "--max-frames", "2"]
    if out_path is not None:
        args += ["--out", str(out_path)]
    code = infer(*args, checkpoint=tiny_checkpoint)
    after = snapshot_of(folder)
    if code != 0:
        assert code == 2
        assert after == before
        return
    written = {str(json_path.relative_to(folder))}
    if out_path is not None:
        written.add(str(out_path.relative_to(folder)))
    assert ({k: v for k, v in after.items() if k not in written}
            == {k: v for k, v in before.items() if k not in written})
    assert set(after) == set(before) | written  # no temporary file left
    assert media.read_bytes() == before[media.name]
    assert len((folder / json_path.name).read_text().splitlines()) >= 1
