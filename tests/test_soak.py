"""Soak: the engine over many frames and many sources keeps memory, threads and open files
flat.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import threading

import numpy as np
from measures import native_threads, open_files, rss_mb

from app.engine.drawing import draw_pose, overlay_heatmap
from app.engine.drawn_figure import SYNTHETIC_SOURCE
from app.engine.open_media import open_source
from app.engine.output import JsonLinesWriter, pose_record
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.reader import FrameReader
from app.model.checkpoint import load_checkpoint
from app.model.predictors import create_predictor
from app.pose.affine import crop_matrix, invert_affine


def test_soak_engine_1000_frames_keeps_memory_threads_and_files_flat(tiny_checkpoint,
                                                                     tmp_path):
    """1,000 frames of the app's own drawn video through reader, pipeline, drawing, overlay
    and JSON lines, with the options changing as a user would change them."""
    loaded = load_checkpoint(tiny_checkpoint)
    predictor = create_predictor(loaded, "cpu")
    # OpenVINO compiles a model, with threads of its own, the first time a stack count and
    # batch (one crop, two with the flip test, a search's windows) are asked for: all of them
    # now, so that what the soak sees after its warm-up is growth per frame.
    size = loaded.spec.input_size
    for stacks in range(1, loaded.spec.config.stacks + 1):
        for batch in (1, 2, 5):
            predictor(np.zeros((batch, size, size, 3), np.uint8), stacks)
    pipeline = PosePipeline(predictor)
    skeleton = loaded.spec.skeleton
    options = [PipelineOptions(keep_heatmaps=True), PipelineOptions(stacks=1),
               PipelineOptions(flip=True, keep_heatmaps=True), PipelineOptions(smoothing=False)]
    frames, warmup = 1000, 100
    writer = JsonLinesWriter(tmp_path / "soak.jsonl")
    with FrameReader(open_source(SYNTHETIC_SOURCE)) as reader:
        for index in range(frames):
            frame = reader.next(timeout=10)
            result = pipeline.process(frame, options[(index // 50) % len(options)])
            canvas = frame.image.copy()  # as the window draws: frames are read-only
            draw_pose(canvas, result.keypoints, result.confidences, skeleton)
            if result.heatmaps is not None:
                overlay_heatmap(canvas, result.heatmaps[-1, 3],
                                invert_affine(crop_matrix(result.box, 16)))
            writer.write(pose_record(result, skeleton))
            if index == warmup - 1:
                start = (rss_mb(), native_threads(), threading.active_count(), open_files())
        end = (rss_mb(), native_threads(start[1]), threading.active_count(), open_files())
    writer.close()
    assert len((tmp_path / "soak.jsonl").read_text().splitlines()) == frames
    growth = end[0] - start[0]
    print(f"\nsoak {frames} frames: RSS {start[0]:.1f} -> {end[0]:.1f} MB ({growth:+.1f}), "
          f"threads {start[1]} -> {end[1]} (Python {start[2]} -> {end[2]}), "
          f"open files {start[3]} -> {end[3]}")
    assert growth < 50, f"resident memory grew {growth:.1f} MB over {frames - warmup} frames"
    # No growth (other tests' threads may still be winding down, so fewer is fine).
    assert all(e <= s for e, s in zip(end[1:], start[1:], strict=True)), (start, end)


def test_soak_opening_and_closing_sources_leaks_no_threads_or_files(lspet_clip, lspet_image,
                                                                    lspet_folder):
    """A user switching media all evening: every source and its reader thread goes away."""
    def cycle() -> None:
        for media in (lspet_clip, lspet_image, lspet_folder, SYNTHETIC_SOURCE):
            with FrameReader(open_source(media, loop=True)) as reader:
                for _ in range(3):
                    assert reader.next(timeout=10) is not None

    cycle()  # warm-up: codecs and libraries load once
    before = (native_threads(), threading.active_count(), open_files(), rss_mb())
    for _ in range(25):
        cycle()
    after = (native_threads(before[0]), threading.active_count(), open_files(), rss_mb())
    assert all(a <= b for a, b in zip(after[:3], before[:3], strict=True)), (before, after)
    assert after[3] - before[3] < 50
