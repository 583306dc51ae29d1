"""Finding the person before following them: the shipped model on hand-made frames, where
LSPet people a third of the frame high stand where the test put them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scenes import FRAME_SIZE, GYMNAST, JUMPER, RUNNER, blank_frame, place, shipped_pipeline

from app.engine.clips import letterbox
from app.engine.image_files import read_image
from app.engine.pipeline import SEARCH_RETRY_S, PipelineOptions, PosePipeline
from app.engine.scene_cuts import is_cut, scene_sample
from app.engine.search_geometry import search_windows, window_centres
from app.engine.sources import Frame

STILL = PipelineOptions(smoothing=False)


@pytest.fixture(scope="module")
def pipeline() -> PosePipeline:
    return shipped_pipeline()


def show(pipeline: PosePipeline, image: np.ndarray, index: int, options=STILL):
    return pipeline.process(Frame(image, index, index / 30), options)


def test_a_person_a_third_of_the_frame_high_is_found_in_the_first_frame(pipeline, lspet_dir):
    frame = blank_frame()
    runner = place(frame, lspet_dir, RUNNER, (170, 300))
    pipeline.reset()
    first = show(pipeline, frame, 0)
    assert first.searched and first.found
    assert runner.pck(first.keypoints) >= 0.8
    # The whole frame alone, as the app looked before it searched, finds no one there.
    pipeline.reset()
    whole = show(pipeline, frame, 0, PipelineOptions(smoothing=False, tracking=False))
    assert not whole.found and runner.pck(whole.keypoints) < 0.3


def test_the_first_frame_answers_as_well_as_the_tracked_ones(pipeline, lspet_dir):
    frame = blank_frame()
    jumper = place(frame, lspet_dir, JUMPER, (450, 260))
    pipeline.reset()
    results = [show(pipeline, frame, index) for index in range(4)]
    assert [r.searched for r in results] == [True, False, False, False]
    assert all(r.crops == 1 for r in results[1:])  # following costs one crop a frame
    assert jumper.pck(results[0].keypoints) >= jumper.pck(results[-1].keypoints) - 0.1
    assert jumper.pck(results[0].keypoints) >= 0.8


def test_a_cut_between_two_photos_is_noticed_within_a_frame(pipeline, lspet_dir):
    before, after = blank_frame(), blank_frame((30, 30, 30))
    place(before, lspet_dir, GYMNAST, (200, 250))
    jumper = place(after, lspet_dir, JUMPER, (430, 300))
    pipeline.reset()
    assert [show(pipeline, before, index).searched for index in range(3)] == [
        True, False, False]
    cut = show(pipeline, after, 3)
    assert cut.searched and cut.found
    assert jumper.pck(cut.keypoints) >= 0.8


def camera_view(lspet_dir, name: str, turned: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The photo filling a 640x480 frame as a camera would see it, the camera turned by
    ``turned`` (x, y) pixels."""
    photo = read_image(lspet_dir / "images" / f"{name}.jpg")
    width, height = FRAME_SIZE
    scale = 1.1 * max(width / photo.shape[1], height / photo.shape[0])
    wide = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)))
    x, y = 32 + turned[0], 24 + turned[1]
    return np.ascontiguousarray(wide[y:y + height, x:x + width])


@pytest.mark.parametrize(("shown", "then"), [(RUNNER, JUMPER), (JUMPER, GYMNAST),
                                             (GYMNAST, RUNNER)])
def test_a_camera_turning_is_no_cut_and_another_scene_is(lspet_dir, shown, then):
    scene = camera_view(lspet_dir, shown)
    # Turned by 5% of the frame, and the exposure a tenth brighter.
    turned = np.clip(camera_view(lspet_dir, shown, (-32, 24)) * 1.1, 0, 255).astype(np.uint8)
    assert not is_cut(scene_sample(scene), scene_sample(turned))
    assert is_cut(scene_sample(scene), scene_sample(camera_view(lspet_dir, then)))


@pytest.mark.parametrize(("shown", "then"), [(RUNNER, JUMPER), (JUMPER, GYMNAST),
                                             (GYMNAST, RUNNER)])
def test_letterboxed_photos_one_after_another_are_cuts(lspet_dir, shown, then):
    """As in a clip from make-clip: black bars the same in both, the photos all that differ;
    the same photo again, through a video codec's losses, is no cut."""
    scene = letterbox(read_image(lspet_dir / "images" / f"{shown}.jpg"), FRAME_SIZE)
    other = letterbox(read_image(lspet_dir / "images" / f"{then}.jpg"), FRAME_SIZE)
    _, encoded = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 60])
    again = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert not is_cut(scene_sample(scene), scene_sample(again))
    assert is_cut(scene_sample(scene), scene_sample(other))


def test_an_empty_scene_is_searched_again_only_after_a_pause_or_a_cut(pipeline):
    wall, other_wall = blank_frame((120, 140, 150)), blank_frame((40, 90, 30))
    width, height = FRAME_SIZE
    every_window = 1 + len(search_windows(width, height, (0.75, 0.5)))
    pipeline.reset()

    def crops_at(image, seconds):
        result = pipeline.process(Frame(image, 0, seconds), STILL)
        assert not result.found
        return result.crops

    assert crops_at(wall, 0.0) == every_window  # the whole frame, then every window size
    assert crops_at(wall, 0.1) == 1  # nobody a moment ago: the whole frame only
    assert crops_at(wall, SEARCH_RETRY_S + 0.01) == every_window
    assert crops_at(other_wall, SEARCH_RETRY_S + 0.05) == every_window  # a cut: at once


def test_search_windows_tile_the_frame_overlapping_by_half():
    assert window_centres(640, 240) == pytest.approx([119.5, 219.5, 319.5, 419.5, 519.5])
    assert window_centres(100, 200) == [49.5]
    windows = search_windows(640, 480, (0.5,))
    assert len(windows) == 15 and {w.side for w in windows} == {240}
    covered = np.zeros((480, 640), bool)
    for w in windows:
        x0, y0 = round(w.cx - w.side / 2 + 0.5), round(w.cy - w.side / 2 + 0.5)
        covered[y0:y0 + 240, x0:x0 + 240] = True
    assert covered.all()
