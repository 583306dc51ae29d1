"""A folder of photos is a set of pictures, not a video: each photo is searched afresh, frame N
is the Nth file and names it, and a photo that cannot be read is reported with why (on the
command line, in the JSON, in the window and in the self-test), never silently dropped."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from windows import WAIT_MS, next_reports

from app.cli import main
from app.engine.open_media import open_source
from app.engine.sources import SkippedFile
from app.paths import default_checkpoint

NOT_MEDIA = "not readable media (OpenCV cannot decode it; is the file corrupt or truncated?)"


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (the pixels are never reached)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


@pytest.fixture
def two_photos(tmp_path, lspet_folder) -> Path:
    """Two unrelated LSPet photos (different people, places and sizes) in a folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    first, _, third, *_ = sorted(lspet_folder.iterdir())
    shutil.copyfile(first, folder / "a.jpg")
    shutil.copyfile(third, folder / "c.jpg")
    return folder


@pytest.fixture
def mixed_folder(two_photos, lspet_image) -> Path:
    """a.jpg, a cut-off b.jpg, c.jpg, and a d.png too large to open."""
    (two_photos / "b.jpg").write_bytes(lspet_image.read_bytes()[:3000])
    (two_photos / "d.png").write_bytes(huge_png(60000, 60000))
    return two_photos


TOO_LARGE = ("too large to open: 60,000 x 60,000 pixels, and OpenCV decodes at most "
             "1,073,741,824 pixels (about 32,768 x 32,768); scale it down first")


# --- the source ------------------------------------------------------------------------------


def test_frame_n_is_the_nth_file_and_names_it(mixed_folder):
    with open_source(mixed_folder) as source:
        assert source.independent_frames
        frames = list(source)
        skipped = [skip for frame in frames for skip in frame.skipped] + list(
            source.take_skipped())
        assert len(skipped) == 2
        assert skipped == [SkippedFile(1, "b.jpg", NOT_MEDIA),
                           SkippedFile(3, "d.png", TOO_LARGE)]
    assert [(f.index, f.file) for f in frames] == [(0, "a.jpg"), (2, "c.jpg")]


def test_a_photo_too_large_to_open_says_so_in_one_line(tmp_path, tiny_checkpoint, capsys):
    path = tmp_path / "huge.png"
    path.write_bytes(huge_png(60000, 60000))
    code = main(["infer", "--input", str(path), "--json", str(tmp_path / "out.jsonl"),
                 "--checkpoint", str(tiny_checkpoint)])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"hourglass-pose: image huge.png: {TOO_LARGE}"
    assert not (tmp_path / "out.jsonl").exists()


# --- infer -----------------------------------------------------------------------------------


def infer_keypoints(media: Path, out: Path) -> list[dict]:
    """``infer`` with the shipped model, one stack, in fp32 (the same arithmetic every run)."""
    code = main(["infer", "--input", str(media), "--json", str(out), "--device", "cpu",
                 "--precision", "fp32", "--stacks", "1"])
    assert code == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.skipif(default_checkpoint() is None, reason="needs the shipped model")
def test_two_unrelated_photos_in_a_folder_give_what_each_gives_alone(two_photos, tmp_path):
    together = infer_keypoints(two_photos, tmp_path / "folder.jsonl")
    alone = [infer_keypoints(two_photos / name, tmp_path / f"{name}.jsonl")[0]
             for name in ("a.jpg", "c.jpg")]
    assert [line["file"] for line in together] == ["a.jpg", "c.jpg"]
    for in_folder, by_itself in zip(together, alone, strict=True):
        assert in_folder["box"] == by_itself["box"]  # searched whole, not tracked
        assert in_folder["keypoints"] == by_itself["keypoints"]  # nor smoothed


def test_infer_reports_each_skipped_photo_in_the_json_and_on_stderr(
        mixed_folder, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "poses.jsonl"
    code = main(["infer", "--input", str(mixed_folder), "--json", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["frame"], line["file"]) for line in lines] == [
        (0, "a.jpg"), (1, "b.jpg"), (2, "c.jpg"), (3, "d.png")]
    assert lines[1] == {"frame": 1, "file": "b.jpg", "skipped": NOT_MEDIA}
    assert lines[3] == {"frame": 3, "file": "d.png", "skipped": TOO_LARGE}
    assert len(lines[2]["keypoints"]) == 14
    captured = capsys.readouterr()
    assert f"hourglass-pose: skipped b.jpg: {NOT_MEDIA}" in captured.err.splitlines()
    assert f"hourglass-pose: skipped d.png: {TOO_LARGE}" in captured.err.splitlines()
    assert "2 frames" in captured.out and "2 unreadable files skipped" in captured.out


# --- the app and its self-test ---------------------------------------------------------------


def test_the_window_plays_a_folder_photo_by_photo_and_says_what_it_skipped(
        qtbot, tiny_checkpoint, mixed_folder, tmp_path):
    from windows import make_window

    model = default_checkpoint() or tiny_checkpoint  # the shipped one is confident: it tracks
    window = make_window(qtbot, model, tmp_path / "settings.ini")
    skipped: list[str] = []
    window.link.worker.file_skipped.connect(skipped.append)
    window.controls.loop_action.setChecked(False)
    window.open_path(str(mixed_folder))
    qtbot.waitUntil(lambda: len(skipped) == 2, timeout=WAIT_MS)
    assert skipped == [f"Skipped b.jpg: {NOT_MEDIA}", f"Skipped d.png: {TOO_LARGE}"]
    qtbot.waitUntil(lambda: not window.playing, timeout=WAIT_MS)
    in_folder = window.last_report.result  # c.jpg, the last photo
    window.open_path(str(mixed_folder / "c.jpg"))
    alone = next_reports(qtbot, window)[-1].result
    assert in_folder.box == alone.box
    assert np.array_equal(in_folder.keypoints, alone.keypoints)


def test_self_test_on_a_folder_passes_and_names_the_skipped_photos(mixed_folder,
                                                                  tiny_checkpoint):
    done = subprocess.run(
        [sys.executable, "-m", "app", "--self-test", "--input", str(mixed_folder),
         "--checkpoint", str(tiny_checkpoint), "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert f"self-test: Skipped b.jpg: {NOT_MEDIA}" in lines
    assert f"self-test: Skipped d.png: {TOO_LARGE}" in lines
    assert lines[-1].startswith("self-test passed: 20 frames")


def test_photos_of_other_sizes_all_reach_the_annotated_video(two_photos, tiny_checkpoint,
                                                            tmp_path):
    """OpenCV's encoder drops frames of another size than the first without a word."""
    from measures import video_frames

    out, video = tmp_path / "poses.jsonl", tmp_path / "poses.mp4"
    assert len({cv2.imread(str(p)).shape for p in two_photos.iterdir()}) == 2
    code = main(["infer", "--input", str(two_photos), "--json", str(out), "--out", str(video),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 0
    assert video_frames(video) == len(out.read_text().splitlines()) == 2
