"""Shared fixtures: real media built at run time from the LSPet photos in ../shared.

The dataset is read where it lies and never copied into the repository; clips, images and
folders are made once per session in temporary folders, since building them costs time.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.clips import letterbox

# Before anything imports Qt: tests run on machines without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LSPET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "lspet"

CLIP_SIZE = (320, 240)  # (width, height)
CLIP_FRAMES = 12
CLIP_FPS = 10.0
FOLDER_IMAGES = 5


def _require_lspet() -> Path:
    if not (LSPET / "images").is_dir():
        pytest.skip(f"LSPet dataset not found at {LSPET}")
    return LSPET


def _lspet_images(count: int) -> list[Path]:
    """The first ``count`` LSPet photos by number; the subset withholds every tenth."""
    images = _require_lspet() / "images"
    found = []
    for number in range(1, 10 * count + 1):
        path = images / f"im{number:05d}.jpg"
        if path.is_file():
            found.append(path)
            if len(found) == count:
                return found
    pytest.skip(f"fewer than {count} LSPet images in {images}")


def _write_clip(path: Path, fourcc: str, frames: list[np.ndarray]) -> bool:
    """Writes the clip and says whether OpenCV reads it back: some builds lack an encoder."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), CLIP_FPS, CLIP_SIZE)
    if not writer.isOpened():
        return False
    for frame in frames:
        writer.write(frame)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    readable = capture.isOpened() and capture.read()[0]
    capture.release()
    return bool(readable)


@pytest.fixture
def lspet_dir() -> Path:
    return _require_lspet()


@pytest.fixture(scope="session")
def lspet_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LSPet photo (im00001.jpg) as a JPEG file of its own."""
    source = _require_lspet() / "images" / "im00001.jpg"
    if not source.is_file():
        pytest.skip(f"{source} not found")
    target = tmp_path_factory.mktemp("image") / "person.jpg"
    shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="session")
def lspet_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame, 10 fps, 320x240 clip of consecutive LSPet photos (MP4, else MJPG AVI)."""
    frames = [letterbox(cv2.imread(str(p)), CLIP_SIZE) for p in _lspet_images(CLIP_FRAMES)]
    folder = tmp_path_factory.mktemp("clip")
    for name, fourcc in (("clip.mp4", "mp4v"), ("clip.avi", "MJPG")):
        if _write_clip(folder / name, fourcc, frames):
            return folder / name
    pytest.skip("this OpenCV build can write neither mp4v nor MJPG video")


@pytest.fixture(scope="session")
def lspet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of five LSPet photos, named so that name order is number order."""
    folder = tmp_path_factory.mktemp("folder")
    for source in _lspet_images(FOLDER_IMAGES):
        shutil.copyfile(source, folder / source.name)
    return folder


@pytest.fixture(scope="session", autouse=True)
def own_cache_folder(tmp_path_factory: pytest.TempPathFactory):
    """The app's cache (OpenVINO's converted models, the remembered precision) in a folder of
    the session's: tests neither read what the user's runs kept nor leave anything there."""
    previous = os.environ.get("HOURGLASS_POSE_CACHE")
    os.environ["HOURGLASS_POSE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        del os.environ["HOURGLASS_POSE_CACHE"]
    else:
        os.environ["HOURGLASS_POSE_CACHE"] = previous


@pytest.fixture(autouse=True)
def qt_garbage_freed_in_the_gui_thread(request: pytest.FixtureRequest):
    """Python's cycle collector runs in whichever thread happens to allocate next, and a Qt
    object it frees from a worker thread (a widget a test left in a reference cycle) aborts
    the whole test process; so after each test that drives Qt, collect here, in the GUI
    thread, once pytest-qt has closed and deleted the test's widgets."""
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()


@pytest.fixture(autouse=True)
def subnormals_restored():
    """Training turns on flush-to-zero for the whole process (it makes fp32 steps faster on
    the CPU), which suits its own process; a test that trains in this one must leave subnormal
    floats as it found them, or a later test's hypothesis refuses to draw floats at all."""
    yield
    if "torch" in sys.modules:
        sys.modules["torch"].set_flush_denormal(False)


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread():
    """One intra-op thread: a background training run can hold both cores, and two threads
    that wait on each other then slow a tiny forward pass a hundredfold."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random 2-stack model with LSP joints in our format: fast, and real weights."""
    import torch

    from app.model.architecture import HourglassConfig
    from app.model.checkpoint import save_checkpoint
    from app.model.hourglass import StackedHourglass
    from app.model.spec import ModelSpec
    from app.pose.skeleton import LSP14

    torch.manual_seed(0)
    network = StackedHourglass(HourglassConfig(stacks=2, channels=16, depth=2, stem_channels=8))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_checkpoint(path, network, ModelSpec(network.config, LSP14, input_size=64,
                                             training={"note": "random weights for tests"}))
    return path


@pytest.fixture(scope="session")
def lspet_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An LSPet-layout folder with the first 60 entries of joints.mat and their images,
    less im00003.jpg (so an entry has no image) and the tenths the shared copy withholds."""
    from scipy.io import loadmat, savemat

    joints = loadmat(str(_require_lspet() / "joints.mat"))["joints"][:, :, :60]
    folder = tmp_path_factory.mktemp("lspet")
    (folder / "images").mkdir()
    savemat(folder / "joints.mat", {"joints": joints})
    for number in range(1, 61):
        source = LSPET / "images" / f"im{number:05d}.jpg"
        if source.is_file() and number != 3:
            shutil.copyfile(source, folder / "images" / source.name)
    return folder
