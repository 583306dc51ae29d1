"""The capture layer on real media built from LSPet photos, and on faults it must report cleanly.

This machine has no camera, so camera behaviour beyond "not found" is checked with a fake
``cv2.VideoCapture``.
"""

from __future__ import annotations

import shutil
import struct
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.image_files import to_bgr8
from app.engine.open_media import list_cameras, open_source
from app.engine.sources import (
    CameraSource,
    Frame,
    FrameSource,
    ImageFolderSource,
    ImageSource,
    SkippedFile,
    SourceError,
    VideoSource,
)


def assert_bgr8(frame: Frame) -> None:
    assert frame.image.dtype == np.uint8
    assert frame.image.ndim == 3 and frame.image.shape[2] == 3
    assert frame.image.flags["C_CONTIGUOUS"]


def assert_increasing(values: list[float]) -> None:
    assert all(later > earlier for earlier, later in pairwise(values))


def skipped_files(frames: list[Frame], source: FrameSource) -> list[SkippedFile]:
    """What a source passed over: on the frames after them, and after the last frame."""
    return [skip for frame in frames for skip in frame.skipped] + list(source.take_skipped())


def truncated_copy(path: Path, target: Path) -> Path:
    data = path.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


# --- video ---------------------------------------------------------------------------------


def test_video_reads_every_frame_with_media_time(lspet_clip: Path) -> None:
    with open_source(lspet_clip) as source:
        assert isinstance(source, VideoSource)
        assert source.description == f"video {lspet_clip.name}"
        assert not source.is_live
        assert source.frame_count == 12
        assert source.fps == pytest.approx(10.0)
        assert source.size == (320, 240)
        frames = list(source)
        assert source.read() is None  # stays at the end
    assert [f.index for f in frames] == list(range(12))
    for frame in frames:
        assert_bgr8(frame)
        assert frame.image.shape == (240, 320, 3)
    timestamps = [f.timestamp for f in frames]
    assert_increasing(timestamps)
    assert timestamps == pytest.approx([i / 10 for i in range(12)], abs=1e-3)


def test_video_loop_restarts_and_time_keeps_counting(lspet_clip: Path) -> None:
    with open_source(lspet_clip, loop=True) as source:
        frames = [source.read() for _ in range(30)]
    assert all(frame is not None for frame in frames)
    assert [f.index for f in frames] == list(range(30))
    assert_increasing([f.timestamp for f in frames])
    assert np.array_equal(frames[12].image, frames[0].image)
    assert np.array_equal(frames[25].image, frames[1].image)


def test_closed_source_reads_none(lspet_clip: Path) -> None:
    source = open_source(lspet_clip)
    source.close()
    source.close()
    assert source.read() is None


def test_video_timestamps_fall_back_when_container_time_is_insane(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clip = tmp_path / "odd.mkv"
    clip.write_bytes(b"never decoded: the capture is fake")
    monkeypatch.setattr(cv2, "VideoCapture", lambda *_: FakeCapture(frames=4, fps=25.0, msec=-1))
    with open_source(clip) as source:
        timestamps = [f.timestamp for f in source]
    assert timestamps == pytest.approx([0.0, 0.04, 0.08, 0.12])


# --- stills --------------------------------------------------------------------------------


def test_image_source_gives_one_frame(lspet_image: Path) -> None:
    expected = cv2.imread(str(lspet_image))
    with open_source(lspet_image) as source:
        assert isinstance(source, ImageSource)
        assert source.description == f"image {lspet_image.name}"
        assert source.frame_count == 1
        assert source.fps is None
        assert source.size == (expected.shape[1], expected.shape[0])
        frame = source.read()
        assert source.read() is None
    assert frame is not None
    assert_bgr8(frame)
    assert frame.index == 0 and frame.timestamp >= 0
    assert np.array_equal(frame.image, expected)


def test_image_loop_repeats_as_separate_frames_of_one_read_only_picture(lspet_image: Path
                                                                        ) -> None:
    with open_source(lspet_image, loop=True) as source:
        frames = [source.read() for _ in range(5)]
    assert [f.index for f in frames] == list(range(5))
    assert_increasing([f.timestamp for f in frames])
    assert all(f.image is frames[0].image for f in frames)  # not copied each tick
    with pytest.raises(ValueError, match="read-only"):
        frames[0].image[:] = 0  # a receiver drawing in place would draw on every later frame


def test_folder_source_reads_images_in_name_order(lspet_folder: Path) -> None:
    files = sorted(lspet_folder.iterdir())
    with open_source(lspet_folder) as source:
        assert isinstance(source, ImageFolderSource)
        assert source.description == f"folder {lspet_folder.name}/"
        assert source.frame_count == 5
        frames = list(source)
        assert len(skipped_files(frames, source)) == 0
    assert [f.index for f in frames] == list(range(5))
    assert_increasing([f.timestamp for f in frames])
    for frame, path in zip(frames, files, strict=True):
        assert_bgr8(frame)
        assert np.array_equal(frame.image, cv2.imread(str(path)))


def test_folder_size_follows_the_current_image(lspet_folder: Path) -> None:
    with open_source(lspet_folder) as source:
        for frame in source:
            assert source.size == (frame.image.shape[1], frame.image.shape[0])


def test_folder_loop_restarts(lspet_folder: Path) -> None:
    with open_source(lspet_folder, loop=True) as source:
        frames = [source.read() for _ in range(7)]
    assert np.array_equal(frames[5].image, frames[0].image)
    assert [f.index for f in frames] == list(range(7))


def test_folder_fault_skips_corrupt_images(lspet_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(lspet_folder, folder)
    first = sorted(folder.iterdir())[0]
    truncated_copy(first, folder / "im00001a.jpg")  # sorts between the first two
    (folder / "notes.txt").write_text("not an image")
    with open_source(folder) as source:
        assert source.frame_count == 6
        frames = list(source)
        assert len(skipped_files(frames, source)) == 1
        assert source.frame_count == 5
    assert len(frames) == 5


def test_folder_fault_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="contains no images"):
        open_source(tmp_path)
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(SourceError, match="contains no images"):
        open_source(tmp_path)


def test_folder_fault_only_corrupt_images(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8 not really")
    (tmp_path / "b.png").write_text("no")
    with pytest.raises(SourceError, match=rf"folder {tmp_path.name}/: none of its images"):
        open_source(tmp_path)


# --- 16-bit, grey, alpha, orientation ------------------------------------------------------


def test_16bit_png_loads_as_bgr8(tmp_path: Path) -> None:
    grey = np.tile(np.arange(0, 65536, 257, dtype=np.uint16), (20, 1))  # 0..65535 in 256 steps
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), grey)
    with ImageSource(path) as source:
        frame = source.read()
    assert frame is not None
    assert_bgr8(frame)
    assert np.array_equal(frame.image[0, :, 1], np.arange(256))  # scaled, not clipped


def test_4_channel_png_loads_as_bgr8(tmp_path: Path, lspet_image: Path) -> None:
    bgr = cv2.imread(str(lspet_image))
    alpha = np.full(bgr.shape[:2], 77, np.uint8)
    path = tmp_path / "alpha.png"
    assert cv2.imwrite(str(path), np.dstack([bgr, alpha]))
    with open_source(path) as source:
        frame = source.read()
    assert frame is not None
    assert_bgr8(frame)
    assert np.array_equal(frame.image, bgr)


def test_exif_orientation_is_applied(tmp_path: Path, lspet_image: Path) -> None:
    """Phone photos store pixels sideways plus an EXIF tag saying how to turn them."""
    jpeg = lspet_image.read_bytes()
    # TIFF header and one IFD entry: Orientation (0x0112) = 6, "rotate 90 degrees clockwise".
    tiff = b"MM\x00\x2a" + struct.pack(">IHHHIHHI", 8, 1, 0x0112, 3, 1, 6, 0, 0)
    app1 = b"Exif\x00\x00" + tiff
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
    height, width = cv2.imread(str(lspet_image)).shape[:2]
    with open_source(path) as source:
        assert source.size == (height, width)


def test_jpeg_with_data_after_its_end_still_loads(tmp_path: Path, lspet_image: Path) -> None:
    """Phones append a video after the JPEG ("motion photos"); that is not a truncation."""
    path = tmp_path / "motion.jpg"
    path.write_bytes(lspet_image.read_bytes() + b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    with open_source(path) as source:
        assert source.read() is not None


# --- to_bgr8 -------------------------------------------------------------------------------


def test_to_bgr8_grey() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = to_bgr8(grey)
    assert out.shape == (3, 4, 3) and out.dtype == np.uint8
    assert all(np.array_equal(out[:, :, c], grey) for c in range(3))
    assert np.array_equal(to_bgr8(grey[:, :, None]), out)


def test_to_bgr8_16bit_scales_to_full_range() -> None:
    deep = np.array([[0, 257, 32896, 65535]], np.uint16)
    out = to_bgr8(np.dstack([deep, deep, deep]))
    assert out.dtype == np.uint8
    assert out[0, :, 0].tolist() == [0, 1, 128, 255]
    assert to_bgr8(deep).shape == (1, 4, 3)


def test_to_bgr8_drops_alpha() -> None:
    bgra = np.zeros((2, 3, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 0
    out = to_bgr8(bgra)
    assert out.shape == (2, 3, 3)
    assert out[0, 0].tolist() == [10, 20, 30]


def test_to_bgr8_float_and_layout() -> None:
    out = to_bgr8(np.array([[0.0, 0.5, 1.0, 2.0]], np.float32))
    assert out[0, :, 0].tolist() == [0, 128, 255, 255]
    colour = np.zeros((4, 6, 3), np.uint8)
    assert to_bgr8(colour) is colour  # nothing to do: no copy
    strided = to_bgr8(np.zeros((4, 12, 3), np.uint8)[:, ::2])
    assert strided.flags["C_CONTIGUOUS"] and strided.shape == (4, 6, 3)


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4), np.int32)],
)
def test_to_bgr8_rejects_what_no_image_file_holds(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="cannot show"):
        to_bgr8(image)


def test_every_source_hands_out_read_only_frames(lspet_clip: Path, lspet_folder: Path) -> None:
    for media in (lspet_clip, lspet_folder):
        with open_source(media) as source:
            frames = [source.read(), source.read()]  # the eagerly decoded first, and the next
        assert all(f is not None and not f.image.flags.writeable for f in frames), media


# --- open_source dispatch and faults -------------------------------------------------------


def test_open_source_dispatch(lspet_clip: Path, lspet_image: Path, lspet_folder: Path) -> None:
    for source, kind in ((lspet_clip, VideoSource), (lspet_image, ImageSource),
                         (lspet_folder, ImageFolderSource)):
        for spelling in (source, str(source)):
            with open_source(spelling) as opened:
                assert type(opened) is kind


def test_open_source_image_extension_is_case_insensitive(tmp_path: Path, lspet_image: Path) -> None:
    path = tmp_path / "SHOUT.JPG"
    shutil.copyfile(lspet_image, path)
    with open_source(path) as source:
        assert isinstance(source, ImageSource)


def test_open_source_fault_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(SourceError, match="no such file or folder") as error:
        open_source(missing)
    assert str(missing) in str(error.value)


def test_open_source_fault_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(SourceError, match=r"video notes\.mp4: not readable media"):
        open_source(path)


def test_open_source_corrupt_truncated_jpeg(tmp_path: Path, lspet_image: Path) -> None:
    path = truncated_copy(lspet_image, tmp_path / "half.jpg")
    with pytest.raises(SourceError, match=r"image half\.jpg: not readable media"):
        open_source(path)


def test_open_source_corrupt_truncated_video(tmp_path: Path, lspet_clip: Path) -> None:
    path = truncated_copy(lspet_clip, tmp_path / f"half{lspet_clip.suffix}")
    try:
        source = open_source(path)
    except SourceError as error:
        assert "not readable media" in str(error)
    else:  # a container whose index comes first plays up to the cut, then ends
        with source:
            assert 0 < len(list(source)) < 12


@pytest.mark.parametrize("name", ["empty.jpg", "empty.png", "empty.mp4"])
def test_open_source_corrupt_empty_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).touch()
    with pytest.raises(SourceError, match=f"{name}: not readable media"):
        open_source(tmp_path / name)


@pytest.mark.parametrize("index", [7, "7"])
def test_open_source_camera_fault_no_such_camera(index: int | str) -> None:
    with pytest.raises(SourceError, match="camera 7: no camera found"):
        open_source(index)


def test_list_cameras_returns_indices_that_deliver() -> None:
    cameras = list_cameras(max_index=2)
    assert isinstance(cameras, list)
    assert all(isinstance(i, int) and 0 <= i <= 2 for i in cameras)


# --- cameras, faked ------------------------------------------------------------------------


class FakeCapture:
    """Stands in for cv2.VideoCapture: ``frames`` reads (but those in ``dropped``) deliver."""

    def __init__(
        self,
        frames: int = 10**9,
        *,
        opened: bool = True,
        fps: float = 30.0,
        msec: float | None = None,
        dropped: frozenset[int] = frozenset(),
        raises: bool = False,
    ) -> None:
        self.frames, self.opened, self.fps, self.msec = frames, opened, fps, msec
        self.dropped, self.raises = dropped, raises
        self.reads = 0
        self.settings: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_POS_MSEC and self.msec is not None:
            return self.msec
        return 0.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.raises:
            raise cv2.error("device exploded")
        self.reads += 1
        if self.reads > self.frames or self.reads in self.dropped:
            return False, None
        return True, np.full((48, 64, 3), self.reads % 256, np.uint8)

    def release(self) -> None:
        self.released = True


def fake_cameras(monkeypatch: pytest.MonkeyPatch, **cameras: FakeCapture) -> None:
    """Makes camera ``cam<N>`` the given fake; other indices do not open."""
    def capture(index: int) -> FakeCapture:
        return cameras.get(f"cam{index}", FakeCapture(opened=False))
    monkeypatch.setattr(cv2, "VideoCapture", capture)


def test_camera_delivers_live_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture()
    fake_cameras(monkeypatch, cam0=fake)
    with open_source("0", camera_size=(640, 480)) as source:
        assert isinstance(source, CameraSource)
        assert source.description == "camera 0"
        assert source.is_live and source.frame_count is None
        assert source.fps == 30.0
        assert source.size == (64, 48)
        frames = [source.read() for _ in range(4)]
    assert fake.released
    assert fake.settings == {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480}
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert_increasing([f.timestamp for f in frames])


def test_camera_fault_opens_but_delivers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture(frames=0)
    fake_cameras(monkeypatch, cam1=fake)
    with pytest.raises(SourceError, match="camera 1: no camera found"):
        open_source(1)
    assert fake.released


def test_camera_fault_stops_mid_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cameras(monkeypatch, cam0=FakeCapture(frames=3))
    with open_source(0) as source:
        assert [source.read().index for _ in range(3)] == [0, 1, 2]
        with pytest.raises(SourceError, match="camera 0: the camera stopped delivering frames"):
            source.read()


def test_camera_fault_tolerates_a_dropped_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cameras(monkeypatch, cam0=FakeCapture(dropped=frozenset({2, 4, 5})))
    with open_source(0) as source:
        frames = [source.read() for _ in range(4)]
    assert [f.image[0, 0, 0] for f in frames] == [1, 3, 6, 7]


def test_camera_fault_opencv_exception_becomes_source_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeCapture(raises=True)
    fake_cameras(monkeypatch, cam0=fake)
    with pytest.raises(SourceError, match="camera 0: cannot be read"):
        open_source(0)
    assert fake.released


def test_list_cameras_keeps_only_cameras_that_deliver(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cameras(monkeypatch, cam0=FakeCapture(frames=0), cam2=FakeCapture(), cam4=FakeCapture())
    assert list_cameras() == [2, 4]
    assert list_cameras(max_index=3) == [2]
