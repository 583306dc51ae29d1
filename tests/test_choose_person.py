"""Choosing the person to follow: a click or a dragged box on a frame with two LSPet people
where the test put them, in the pipeline, in the (mirrored) view, and in the real window."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from scenes import JUMPER, RUNNER, blank_frame, place, shipped_pipeline
from windows import WAIT_MS, make_window

from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.search_geometry import PersonChoice
from app.engine.sources import Frame
from app.gui.video_view import VideoView

STILL = PipelineOptions(smoothing=False)


@pytest.fixture(scope="module")
def pipeline() -> PosePipeline:
    return shipped_pipeline()


@pytest.fixture
def two_people(lspet_dir):
    """A 640x480 frame: the jumper on the left, the runner on the right, both a third of the
    frame high; and the frame with the jumper alone."""
    frame, jumper_alone = blank_frame(), blank_frame()
    jumper = place(frame, lspet_dir, JUMPER, (150, 300))
    runner = place(frame, lspet_dir, RUNNER, (500, 240))
    place(jumper_alone, lspet_dir, JUMPER, (150, 300))
    return frame, jumper_alone, jumper, runner


def show(pipeline: PosePipeline, image: np.ndarray, index: int):
    return pipeline.process(Frame(image, index, index / 30), STILL)


def test_a_click_follows_the_person_clicked_until_escape(pipeline, two_people):
    frame, _, jumper, runner = two_people
    pipeline.reset()
    automatic = show(pipeline, frame, 0)
    assert automatic.found and not automatic.chosen
    picked, other = (jumper, runner) if jumper.pck(automatic.keypoints) > 0.5 else (
        runner, jumper)
    assert picked.pck(automatic.keypoints) >= 0.7
    # A click on the person the search did not pick: followed from the next frame on.
    pipeline.choose(PersonChoice(*other.centre))
    chosen = [show(pipeline, frame, index) for index in range(1, 5)]
    assert chosen[0].searched and all(r.chosen and r.found for r in chosen)
    assert all(other.pck(r.keypoints) >= 0.7 for r in chosen)
    pipeline.follow_anyone()  # Escape: the person followed now stays followed
    after = show(pipeline, frame, 5)
    assert not after.chosen and not after.searched and other.pck(after.keypoints) >= 0.7


@pytest.mark.parametrize("who", ["jumper", "runner"])
def test_a_box_dragged_around_a_person_follows_that_person(pipeline, two_people, who):
    frame, _, jumper, runner = two_people
    person = jumper if who == "jumper" else runner
    pipeline.reset()
    show(pipeline, frame, 0)
    pipeline.choose(PersonChoice(*person.box(margin=0.1)))
    result = show(pipeline, frame, 1)
    assert result.chosen and result.found and person.pck(result.keypoints) >= 0.7


def test_a_chosen_person_who_leaves_is_awaited_where_they_were(pipeline, two_people):
    frame, jumper_alone, _, runner = two_people
    pipeline.reset()
    pipeline.choose(PersonChoice(*runner.centre))
    assert runner.pck(show(pipeline, frame, 0).keypoints) >= 0.7
    away = [show(pipeline, jumper_alone, index) for index in range(1, 4)]
    assert all(r.chosen and not r.found for r in away)  # not the jumper instead
    back = show(pipeline, frame, 30)  # a second later: searched again where they were
    assert back.chosen and back.found and runner.pck(back.keypoints) >= 0.7
    pipeline.reset()  # another source: the choice goes with the person
    assert not show(pipeline, jumper_alone, 31).chosen


def test_a_click_on_the_mirrored_view_chooses_the_person_under_the_pointer(
        qtbot, pipeline, two_people):
    frame, _, jumper, runner = two_people
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 480)  # the frame fills the view: widget and frame pixels agree
    view.show_frame(frame)
    view.set_mirrored(True)
    # The runner stands on the right of the frame, so on the left of the mirrored view.
    x, y = runner.centre
    with qtbot.waitSignal(view.point_chosen) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(639 - x), round(y)))
    assert clicked.args == pytest.approx([x, y], abs=1.5)
    pipeline.reset()
    pipeline.choose(PersonChoice(*clicked.args))
    assert runner.pck(show(pipeline, frame, 0).keypoints) >= 0.7

    # A box dragged around the jumper, on the right of the mirrored view.
    left, top, width, height = jumper.box(margin=0.1)
    start, end = QPoint(round(639 - left), round(top)), QPoint(round(639 - left - width),
                                                                round(top + height))
    with qtbot.waitSignal(view.area_chosen) as dragged:
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view, end)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    assert dragged.args == pytest.approx([left, top, width, height], abs=2)


def mirrored_position(view: VideoView, shape: tuple[int, ...], point: tuple[float, float]
                      ) -> QPoint:
    """Where frame pixel ``point`` shows in the mirrored ``view`` (the frame as large as
    fits, centred)."""
    height, width = shape[:2]
    scale = min(view.width() / width, view.height() / height)
    left = (view.width() - width * scale) / 2
    top = (view.height() - height * scale) / 2
    return QPoint(round(left + (width - point[0]) * scale), round(top + point[1] * scale))


def test_the_window_follows_a_click_shows_whom_and_escape_returns_to_automatic(
        qtbot, tmp_path, two_people):
    frame, _, _, runner = two_people
    image = tmp_path / "two people.png"
    cv2.imwrite(str(image), frame)
    window = make_window(qtbot, None, tmp_path / "settings.ini")
    window.open_path(str(image))
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=WAIT_MS)
    window.controls.mirror_action.setChecked(True)
    assert not window.controls.automatic_action.isEnabled()
    qtbot.mouseClick(window.video, Qt.MouseButton.LeftButton,
                     pos=mirrored_position(window.video, frame.shape, runner.centre))
    qtbot.waitUntil(lambda: window.last_report.result.chosen, timeout=WAIT_MS)
    result = window.last_report.result
    assert result.found and runner.pck(result.keypoints) >= 0.6
    assert window.controls.automatic_action.isEnabled()
    assert window.video.person_box() == pytest.approx(result.box.as_xywh())
    assert "person you chose" in window.video.hint()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.last_report.result.chosen, timeout=WAIT_MS)
    assert not window.controls.automatic_action.isEnabled() and window.video.hint() == ""
