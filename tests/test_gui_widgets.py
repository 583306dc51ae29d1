"""The GUI's widgets fed real numpy data: images, the video view, heatmap and refinement views."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QPushButton

from app.engine.drawing import colourise_heatmap
from app.gui.compose import ALL_JOINTS
from app.gui.heatmap_panel import HeatmapPanel, HeatmapTile
from app.gui.images import bgr_to_qimage, qimage_to_bgr
from app.gui.refinement_view import RefinementView
from app.gui.video_view import BACKGROUND, VideoView
from app.pose.skeleton import LSP14, MPII16

RED = (0, 0, 255)
BLUE = (255, 0, 0)
GREEN = (0, 255, 0)


def gaussian_heatmaps(count: int, size: int = 64, sigma: float = 2.0) -> np.ndarray:
    """(count, size, size) maps, each with one peak of 1 at its own place."""
    ys, xs = np.mgrid[0:size, 0:size]
    centres = 8 + (np.arange(count) * 11) % (size - 16)
    return np.stack([
        np.exp(-((xs - c) ** 2 + (ys - (size - 1 - c)) ** 2) / (2 * sigma**2)) for c in centres
    ]).astype(np.float32)


def solid(height: int, width: int, colour: tuple[int, int, int]) -> np.ndarray:
    return np.full((height, width, 3), colour, np.uint8)


def grab(widget) -> np.ndarray:
    return qimage_to_bgr(widget.grab().toImage())


def near(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 8) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - colour) <= tolerance))


def flush_deletions() -> None:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# -- images ------------------------------------------------------------------------------------
def test_qimage_round_trip_keeps_bgr_order() -> None:
    image = np.random.default_rng(0).integers(0, 256, (31, 17, 3), dtype=np.uint8)
    qimage = bgr_to_qimage(image)
    blue, green, red = image[5, 9]
    assert qimage.pixelColor(9, 5).getRgb()[:3] == (red, green, blue)
    np.testing.assert_array_equal(qimage_to_bgr(qimage), image)


@pytest.mark.parametrize("view", [
    lambda a: a[:, ::2], lambda a: a[::-1, 3:], lambda a: np.dstack([a, a[..., :1]])[..., :3],
])
def test_qimage_round_trip_of_non_contiguous_arrays(view) -> None:
    image = view(np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    assert not image.flags.c_contiguous
    np.testing.assert_array_equal(qimage_to_bgr(bgr_to_qimage(image)), image)


def test_qimage_owns_its_pixels() -> None:
    image = solid(8, 8, RED)
    qimage = bgr_to_qimage(image)
    image[:] = 0
    assert near(qimage_to_bgr(qimage)[4, 4], RED, 0)


def test_qimage_rejects_what_is_not_bgr() -> None:
    with pytest.raises(ValueError):
        bgr_to_qimage(np.zeros((8, 8), np.uint8))


# -- video view --------------------------------------------------------------------------------
@pytest.fixture
def video(qtbot) -> VideoView:
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    return view


def test_video_view_keeps_aspect_ratio_with_letterbox_bars(video: VideoView) -> None:
    frame = solid(100, 200, RED)  # 2:1 into a square: bars above and below
    video.show_frame(frame)
    shot = grab(video)
    background = (BACKGROUND.blue(), BACKGROUND.green(), BACKGROUND.red())
    assert near(shot[40, 200], background) and near(shot[360, 200], background)
    assert near(shot[200, 200], RED) and near(shot[200, 3], RED) and near(shot[110, 396], RED)
    assert video.last_frame() is frame


def test_video_view_mirrors_at_paint_time_only(video: VideoView) -> None:
    frame = np.concatenate([solid(100, 100, BLUE), solid(100, 100, GREEN)], axis=1)
    video.show_frame(frame)
    assert near(grab(video)[200, 100], BLUE) and near(grab(video)[200, 300], GREEN)
    video.set_mirrored(True)
    shot = grab(video)
    assert near(shot[200, 100], GREEN) and near(shot[200, 300], BLUE)
    assert near(video.last_frame()[50, 10], BLUE, 0)  # the frame itself is not flipped


def test_widget_to_frame_maps_points_mirror_aware(video: VideoView) -> None:
    assert video.widget_to_frame(QPointF(200, 200)) is None  # nothing shown yet
    video.show_frame(solid(100, 200, RED))  # shown at (0, 100) to (400, 300), scale 2
    assert video.widget_to_frame(QPointF(100, 150)) == pytest.approx((50, 25))
    assert video.widget_to_frame(QPointF(200, 50)) is None  # on the letterbox bar
    video.set_mirrored(True)
    assert video.widget_to_frame(QPointF(100, 150)) == pytest.approx((150, 25))


def test_message_panel_shows_and_its_buttons_call_back(qtbot, video: VideoView) -> None:
    video.show()
    calls = []
    video.show_message("No camera found", "Plug one in, or open a video or image.", [
        ("Open a file…", lambda: calls.append("open")),
        ("Try camera again", lambda: calls.append("retry")),
    ])
    panel = video.findChild(QFrame, "messagePanel")
    assert panel.isVisible()
    buttons = {button.text(): button for button in panel.findChildren(QPushButton)}
    assert set(buttons) == {"Open a file…", "Try camera again"}
    qtbot.mouseClick(buttons["Try camera again"], Qt.MouseButton.LeftButton)
    assert calls == ["retry"]

    video.show_message("Could not open clip.mp4", "", [("Open a file…", lambda: None)])
    flush_deletions()
    assert [b.text() for b in panel.findChildren(QPushButton)] == ["Open a file…"]
    video.clear_message()
    assert not panel.isVisible()


def drag_data(*urls: QUrl) -> QMimeData:
    data = QMimeData()
    data.setUrls(list(urls))
    return data


def test_dropping_a_file_emits_its_path(qtbot, video: VideoView, tmp_path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"")
    data = drag_data(QUrl("https://example.com/a.mp4"), QUrl.fromLocalFile(str(path)))
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    video.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(video.file_dropped, timeout=1000) as dropped:
        video.dropEvent(drop)
    assert dropped.args == [str(path)]


def test_dragging_a_web_link_is_refused(video: VideoView) -> None:
    data = drag_data(QUrl("https://example.com/a.mp4"))  # events do not own their data
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    video.dragEnterEvent(enter)
    assert not enter.isAccepted()


# -- heatmap panel -----------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot) -> HeatmapPanel:
    widget = HeatmapPanel()
    qtbot.addWidget(widget)
    widget.set_joints(LSP14.joint_names)
    widget.resize(340, 600)
    widget.show()
    return widget


def tile_pixels(tile: HeatmapTile) -> np.ndarray:
    return qimage_to_bgr(tile.pixmap().toImage())


def test_panel_has_an_all_joints_tile_then_one_per_joint(panel: HeatmapPanel) -> None:
    assert panel.tile(ALL_JOINTS).toolTip() == "All joints"
    assert [panel.tile(j).toolTip() for j in range(14)] == list(LSP14.joint_names)
    with pytest.raises(KeyError):
        panel.tile(14)
    assert len(panel.findChildren(HeatmapTile)) == 15
    assert panel.selected_joint() is None


def test_panel_tiles_fit_the_dock_in_columns(panel: HeatmapPanel) -> None:
    tiles = [panel.tile(key) for key in range(-1, 14)]
    first_row = [tile for tile in tiles if tile.y() == tiles[0].y()]
    assert len(first_row) >= 3
    assert max(tile.geometry().right() for tile in tiles) < 340


def test_panel_shows_the_heatmaps(panel: HeatmapPanel) -> None:
    panel.update_heatmaps(np.zeros((14, 64, 64), np.float32), np.zeros(14))
    flat = tile_pixels(panel.tile(5))
    maps = gaussian_heatmaps(14)
    panel.update_heatmaps(maps, maps.max(axis=(1, 2)))
    peaked = tile_pixels(panel.tile(5))
    assert not np.array_equal(flat, peaked)
    assert peaked.sum() > flat.sum()
    np.testing.assert_array_equal(tile_pixels(panel.tile(ALL_JOINTS)),
                                  colourise_heatmap(maps.max(axis=0)))


def test_panel_refuses_heatmaps_of_another_joint_set(panel: HeatmapPanel) -> None:
    with pytest.raises(ValueError):
        panel.update_heatmaps(gaussian_heatmaps(16), np.ones(16))


def test_clicking_tiles_selects_and_deselects(qtbot, panel: HeatmapPanel) -> None:
    with qtbot.waitSignal(panel.joint_selected, timeout=1000) as chosen:
        qtbot.mouseClick(panel.tile(3), Qt.MouseButton.LeftButton)
    assert chosen.args == [3] and panel.selected_joint() == 3
    assert panel.tile(3).is_selected()

    with qtbot.waitSignal(panel.joint_selected, timeout=1000) as chosen:
        qtbot.mouseClick(panel.tile(ALL_JOINTS), Qt.MouseButton.LeftButton)
    assert chosen.args == [ALL_JOINTS]
    assert panel.tile(ALL_JOINTS).is_selected() and not panel.tile(3).is_selected()

    with qtbot.waitSignal(panel.joint_selected, timeout=1000) as chosen:
        qtbot.mouseClick(panel.tile(ALL_JOINTS), Qt.MouseButton.LeftButton)
    assert chosen.args == [None] and panel.selected_joint() is None
    assert not any(panel.tile(key).is_selected() for key in range(-1, 14))


def test_a_new_joint_set_rebuilds_the_tiles(qtbot, panel: HeatmapPanel) -> None:
    panel.select_joint(2)
    same = panel.tile(2)
    panel.set_joints(LSP14.joint_names)
    assert panel.tile(2) is same and panel.selected_joint() == 2

    with qtbot.waitSignal(panel.joint_selected, timeout=1000) as chosen:
        panel.set_joints(MPII16.joint_names)
    assert chosen.args == [None]
    flush_deletions()
    assert len(panel.findChildren(HeatmapTile)) == 17
    assert panel.tile(15).toolTip() == MPII16.joint_names[15]
    maps = gaussian_heatmaps(16)
    panel.update_heatmaps(maps, np.ones(16))
    assert tile_pixels(panel.tile(15)).shape == (64, 64, 3)


def test_painting_keeps_none_alive(qtbot) -> None:
    """PySide6 6.12.0 drops a reference to None on each call that returns nothing; on Python
    3.11 (None is not immortal there) the app aborts after a minute of live heatmaps."""
    tile = HeatmapTile("left wrist")
    qtbot.addWidget(tile)
    tile.set_heatmap(gaussian_heatmaps(1)[0], 0.9)
    before = sys.getrefcount(None)
    for _ in range(200):
        tile.grab()  # paintEvent: a dozen QPainter calls that return None
    assert sys.getrefcount(None) >= before - 50


# -- refinement view ---------------------------------------------------------------------------
def test_refinement_view_shows_one_tile_per_stack(qtbot) -> None:
    view = RefinementView()
    qtbot.addWidget(view)
    view.resize(600, 200)
    view.show()
    assert view.stack_count() == 0

    maps = gaussian_heatmaps(4)
    view.update_stacks("left wrist", maps, np.array([0.2, 0.5, 0.7, 0.9]))
    assert view.stack_count() == 4
    assert [view.tile(k).toolTip() for k in range(4)] == [f"stack {k}" for k in range(1, 5)]
    assert all(view.tile(k).isVisible() for k in range(4))
    np.testing.assert_array_equal(tile_pixels(view.tile(2)), colourise_heatmap(maps[2]))

    view.update_stacks("left wrist", maps[:2], np.array([0.2, 0.5]))
    flush_deletions()
    assert view.stack_count() == 2 and len(view.findChildren(HeatmapTile)) == 2

    view.clear("Choose a joint in the heatmap panel")
    assert not view.tile(0).isVisible()
