"""Property tests: checkpoints and images damaged at random load or raise only the project's own
error, and any heatmap values (NaN, infinities) decode and draw without an exception.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.engine.drawing import draw_pose, overlay_heatmap
from app.engine.open_media import open_source
from app.engine.sources import SourceError
from app.model.checkpoint import load_checkpoint
from app.model.spec import CheckpointError
from app.pose.heatmaps import decode_heatmaps
from app.pose.skeleton import LSP14


def mutate(data: bytes, draw) -> bytes:
    """Flip, overwrite, cut or insert bytes anywhere in ``data``."""
    damaged = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["set", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(damaged) - 1)))
        if operation == "set" and damaged:
            damaged[position] = draw(st.integers(0, 255))
        elif operation == "truncate":
            del damaged[position:]
        elif operation == "insert":
            damaged[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del damaged[position:position + draw(st.integers(1, 64))]
    return bytes(damaged)


@pytest.fixture(scope="module")
def pickled_public_checkpoint(tmp_path_factory) -> Path:
    """A princeton-vl layout checkpoint, as torch.save writes it (a zip holding a pickle)."""
    from test_public_layouts import PoseNet, princeton_checkpoint, randomised

    path = tmp_path_factory.mktemp("public") / "princeton.pth.tar"
    net = randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=16, stem=8))
    torch.save(princeton_checkpoint(net), path)
    return path


def test_corrupt_empty_pickled_checkpoint_is_a_checkpoint_error(tmp_path):
    """Found by the mutation test below: an empty file's EOFError has no message."""
    path = tmp_path / "empty.pth.tar"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"\(EOFError\)"):
        load_checkpoint(path)


def load_or_checkpoint_error(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            loaded = load_checkpoint(path)
        except CheckpointError:
            return
        # A harmless change (inside a tensor's values, say) may load, and then fully.
        assert loaded.network is not None and loaded.spec.skeleton.num_joints > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupt_safetensors_mutated_anywhere_raise_only_checkpoint_error(tiny_checkpoint,
                                                                          data):
    load_or_checkpoint_error(mutate(tiny_checkpoint.read_bytes(), data.draw),
                             "mutated.safetensors")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupt_pickled_checkpoints_mutated_anywhere_raise_only_checkpoint_error(
        pickled_public_checkpoint, data):
    load_or_checkpoint_error(mutate(pickled_public_checkpoint.read_bytes(), data.draw),
                             "mutated.pth.tar")


@pytest.fixture(scope="module")
def encoded_images(lspet_image) -> dict[str, bytes]:
    photo = cv2.resize(cv2.imread(str(lspet_image)), (96, 72))
    return {suffix: cv2.imencode(suffix, photo)[1].tobytes() for suffix in (".jpg", ".png")}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), suffix=st.sampled_from([".jpg", ".png"]))
def test_corrupt_images_mutated_anywhere_open_or_raise_only_source_error(encoded_images, data,
                                                                         suffix):
    damaged = mutate(encoded_images[suffix], data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mutated{suffix}"
        path.write_bytes(damaged)
        try:
            with open_source(path) as source:
                frame = source.read()
        except SourceError:
            return
    assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
    assert frame.image.shape[2] == 3 and frame.image.flags.c_contiguous


# No subnormals: training turns on flush-to-zero for the process, and hypothesis then refuses.
hostile_floats = st.floats(allow_nan=True, allow_infinity=True, width=32, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(maps=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 9),
                                             st.integers(1, 9)), elements=hostile_floats))
def test_robust_heatmap_decoding_of_any_values_stays_on_the_map(maps):
    """NaN, infinities, flat and negative maps (a diverged or fp16-overflowed network) still
    decode to a point on each map, without an exception."""
    with np.errstate(all="ignore"):
        points, confidences = decode_heatmaps(maps)
    height, width = maps.shape[-2:]
    assert points.shape == (len(maps), 2) and confidences.shape == (len(maps),)
    assert np.isfinite(points).all()
    assert (points[:, 0] >= -1).all() and (points[:, 0] <= width).all()
    assert (points[:, 1] >= -1).all() and (points[:, 1] <= height).all()


@settings(max_examples=60, deadline=None)
@given(heatmaps=hnp.arrays(np.float32, (14, 8, 8), elements=hostile_floats),
       confidences=hnp.arrays(np.float32, 14, elements=hostile_floats))
def test_robust_drawing_of_a_pose_with_any_values(heatmaps, confidences):
    """What a broken checkpoint computes is drawn (or not) without an exception."""
    image = np.zeros((60, 80, 3), np.uint8)
    with np.errstate(all="ignore"):
        points, _ = decode_heatmaps(heatmaps)
        draw_pose(image, points * 5, confidences, LSP14, threshold=0.0)
        overlay_heatmap(image, heatmaps.max(axis=0), np.array([[5.0, 0, 0], [0, 5.0, 0]]))
