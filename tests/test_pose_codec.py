"""The pure-numpy pose codec: crops, heatmap targets and decoding, skeletons, smoothing, PCK."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.pose.affine import (
    CropBox,
    apply_affine,
    box_from_keypoints,
    crop_matrix,
    crop_to_frame,
    frame_box,
    invert_affine,
    warp_crop,
)
from app.pose.codec import DEFAULT_SIGMA, HeatmapCodec
from app.pose.heatmaps import decode_heatmaps, flip_back, gaussian_heatmaps, merge_flipped
from app.pose.metrics import mirrored_hits, pck_hits, pck_percent, torso_diameters
from app.pose.skeleton import LSP14, MPII16, Skeleton
from app.pose.smoothing import OneEuroFilter

# The background training job can slow any one example down: no deadlines.
FAST = settings(max_examples=60, deadline=None)

coordinates = st.floats(-2000, 2000, allow_nan=False)
boxes = st.builds(CropBox, coordinates, coordinates, st.floats(1.0, 4000.0))
rotations = st.floats(-180.0, 180.0)
point_sets = hnp.arrays(np.float64, st.tuples(st.integers(1, 8), st.just(2)), elements=coordinates)


# --- affine.py ------------------------------------------------------------------------------


@FAST
@given(box=boxes, size=st.integers(1, 512), rotation=rotations, points=point_sets)
def test_crop_then_uncrop_returns_the_frame_points(box, size, rotation, points):
    in_crop = apply_affine(crop_matrix(box, size, rotation), points)
    np.testing.assert_allclose(
        crop_to_frame(in_crop, box, size, rotation), points, rtol=1e-9, atol=1e-6
    )


@FAST
@given(box=boxes, size=st.integers(1, 256), rotation=rotations)
def test_invert_affine_composes_to_the_identity(box, size, rotation):
    matrix = crop_matrix(box, size, rotation)
    inverse = invert_affine(matrix)
    square = np.vstack([matrix, [0, 0, 1]])
    square_inverse = np.vstack([inverse, [0, 0, 1]])
    np.testing.assert_allclose(square @ square_inverse, np.eye(3), atol=1e-9)


@FAST
@given(box=boxes, quarter=st.integers(1, 128), rotation=rotations, points=point_sets)
def test_heatmap_pixels_are_input_pixels_at_stride_four(box, quarter, rotation, points):
    size = 4 * quarter
    on_input = apply_affine(crop_matrix(box, size, rotation), points)
    on_heatmap = apply_affine(crop_matrix(box, size // 4, rotation), points)
    np.testing.assert_allclose(on_heatmap, (on_input + 0.5) / 4 - 0.5, rtol=1e-9, atol=1e-6)


def test_box_centre_lands_on_the_crop_centre():
    box = CropBox(123.4, -56.7, 80.0)
    for rotation in (0.0, 33.0, -170.0):
        centre = apply_affine(crop_matrix(box, 64, rotation), np.array([box.cx, box.cy]))
        np.testing.assert_allclose(centre, [31.5, 31.5], atol=1e-9)


def test_positive_rotation_turns_the_image_counter_clockwise_like_opencv():
    box = CropBox(50.0, 50.0, 64.0)
    right_of_centre = apply_affine(crop_matrix(box, 64, 90.0), np.array([60.0, 50.0]))
    # y points down: the point to the right of the centre is now above it.
    np.testing.assert_allclose(right_of_centre, [31.5, 21.5], atol=1e-9)
    # Same sense and scale as cv2.getRotationMatrix2D, which documents +angle as counter-clockwise.
    opencv = cv2.getRotationMatrix2D((50.0, 50.0), 37.0, 2.0)
    np.testing.assert_allclose(crop_matrix(CropBox(50.0, 50.0, 32.0), 64, 37.0)[:, :2],
                               opencv[:, :2], atol=1e-12)


@pytest.mark.parametrize("rotation", [0.0, 90.0, 180.0, -90.0])
def test_warp_crop_puts_a_bright_pixel_exactly_where_crop_matrix_says(rotation):
    frame = np.zeros((40, 60), np.uint8)
    frame[13, 41] = 255
    box = CropBox(30.5, 20.5, 32.0)  # side == size, centre on a pixel corner: pixels to pixels
    crop, matrix = warp_crop(frame, box, 32, rotation)
    x, y = np.rint(apply_affine(matrix, np.array([41.0, 13.0]))).astype(int)
    assert crop[y, x] == 255
    assert crop.sum() == 255  # and nowhere else


@FAST
@given(
    offset=st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)),
    rotation=rotations,
    side=st.floats(60.0, 140.0),
)
def test_warp_crop_moves_a_blob_where_crop_matrix_says(offset, rotation, side):
    height, width, size, sigma = 120, 160, 64, 4.0
    box = CropBox(80.0, 60.0, side)
    # A blob well inside both the frame and the (turned) crop, so none of it is cut off.
    point = np.array([box.cx + offset[0] * side, box.cy + offset[1] * side])
    ys, xs = np.mgrid[0:height, 0:width]
    frame = np.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma**2))
    crop, matrix = warp_crop(frame.astype(np.float32), box, size, rotation)
    expected = apply_affine(matrix, point)
    ys, xs = np.mgrid[0:size, 0:size]
    weight = crop.astype(np.float64)
    centroid = np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()
    np.testing.assert_allclose(centroid, expected, atol=0.1)


def test_warp_crop_is_black_outside_the_frame():
    frame = np.full((10, 10, 3), 200, np.uint8)
    crop, _ = warp_crop(frame, CropBox(4.5, 4.5, 40.0), 40)
    assert crop[0, 0].tolist() == [0, 0, 0]
    assert crop[20, 20].tolist() == [200, 200, 200]


@pytest.mark.parametrize(("width", "height"), [(640, 480), (480, 640), (100, 100)])
def test_frame_box_letterboxes_the_whole_frame_into_the_crop(width, height):
    box = frame_box(width, height)
    size = 256
    matrix = crop_matrix(box, size)
    # Outer pixel edges of the frame, in frame coordinates.
    corners = np.array([[-0.5, -0.5], [width - 0.5, height - 0.5]])
    low, high = apply_affine(matrix, corners)
    long_axis = 0 if width >= height else 1
    assert low[long_axis] == pytest.approx(-0.5)
    assert high[long_axis] == pytest.approx(size - 0.5)
    short_axis = 1 - long_axis
    assert (low[short_axis] + high[short_axis]) / 2 == pytest.approx((size - 1) / 2)
    assert -0.5 - 1e-9 <= low[short_axis] <= high[short_axis] <= size - 0.5 + 1e-9


def test_box_from_keypoints_centres_on_valid_points_with_margin():
    points = np.array([[10.0, 20.0], [110.0, 60.0], [5000.0, -5000.0]])
    valid = np.array([True, True, False])
    box = box_from_keypoints(points, valid, margin=1.3)
    assert box is not None
    assert (box.cx, box.cy) == pytest.approx((60.0, 40.0))
    assert box.side == pytest.approx(130.0)  # 1.3 x the longer extent (100 px)


def test_box_from_keypoints_without_valid_points_is_none():
    assert box_from_keypoints(np.zeros((14, 2)), np.zeros(14, bool)) is None


def test_box_from_a_single_keypoint_has_the_minimum_side():
    box = box_from_keypoints(np.array([[3.0, 4.0]]), np.array([True]), min_side=48.0)
    assert box == CropBox(3.0, 4.0, 48.0)


# --- heatmaps.py: targets --------------------------------------------------------------------


def test_gaussian_heatmap_peaks_at_one_on_the_joint():
    maps = gaussian_heatmaps(np.array([[5.0, 9.0], [20.0, 3.0]]), 32, sigma=2.0)
    assert maps.shape == (2, 32, 32)
    assert maps.dtype == np.float32
    assert maps[0, 9, 5] == pytest.approx(1.0)
    assert maps[1, 3, 20] == pytest.approx(1.0)
    assert maps.max() == pytest.approx(1.0)
    # One sigma away along an axis: exp(-1/2).
    assert maps[0, 9, 7] == pytest.approx(math.exp(-0.5), rel=1e-6)


def test_gaussian_heatmap_is_zero_for_weight_zero_and_outside_the_map():
    joints = np.array([[10.0, 10.0], [10.0, 10.0], [-0.6, 10.0], [10.0, 32.6], [31.5, -0.5]])
    weights = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    maps = gaussian_heatmaps(joints, 32, sigma=2.0, weights=weights)
    assert maps[0].max() == pytest.approx(1.0)
    assert not maps[1].any()
    assert not maps[2].any()
    assert not maps[3].any()
    assert maps[4].max() > 0  # the outer edge of the border pixels still counts as inside


# --- heatmaps.py: decoding -------------------------------------------------------------------

joints_away_from_border = hnp.arrays(
    np.float64, st.tuples(st.integers(1, 4), st.just(2)), elements=st.floats(2.0, 29.0)
)


@settings(max_examples=150, deadline=None)
@given(joints=joints_away_from_border)
def test_dark_decodes_encoded_joints_within_a_tenth_of_a_pixel(joints):
    decoded, confidences = decode_heatmaps(gaussian_heatmaps(joints, 32, 2.0), "dark")
    np.testing.assert_allclose(decoded, joints, atol=0.1)
    assert np.all(confidences > 0.75)  # the peak pixel is at most 0.5 px off on each axis


def test_dark_near_the_border_is_not_pulled_toward_it():
    # A mirrored border in the blur folds the peak back on itself; this case erred by 0.14 px.
    for edge in (2.0, 29.0):
        joints = np.array([[edge, 15.0], [15.0, edge], [edge, edge]])
        decoded, _ = decode_heatmaps(gaussian_heatmaps(joints, 32, 2.0), "dark")
        np.testing.assert_allclose(decoded, joints, atol=0.1)


@FAST
@given(joints=joints_away_from_border)
def test_quarter_and_none_decoding_error_bounds(joints):
    maps = gaussian_heatmaps(joints, 32, 2.0)
    quarter, _ = decode_heatmaps(maps, "quarter")
    none, _ = decode_heatmaps(maps, "none")
    assert np.abs(quarter - joints).max() <= 0.25 + 1e-6
    assert np.abs(none - joints).max() <= 0.5 + 1e-6
    assert np.array_equal(none, np.round(none))  # no refinement: integer pixels


def test_quarter_offset_moves_toward_the_higher_neighbour():
    joints = np.array([[10.3, 20.8], [10.7, 5.2], [12.0, 12.0]])
    decoded, _ = decode_heatmaps(gaussian_heatmaps(joints, 32, 2.0), "quarter")
    np.testing.assert_allclose(decoded, [[10.25, 20.75], [10.75, 5.25], [12.0, 12.0]])


@pytest.mark.parametrize("refinement", ["dark", "quarter", "none"])
def test_confidence_is_the_peak_height(refinement):
    joints = np.array([[8.0, 9.0], [20.0, 14.0], [16.0, 16.0]])
    heights = np.array([0.3, 0.9, 0.0])
    maps = gaussian_heatmaps(joints, 32, 2.0) * heights[:, None, None]
    decoded, confidences = decode_heatmaps(maps, refinement)
    np.testing.assert_allclose(confidences, heights, atol=1e-6)
    np.testing.assert_allclose(decoded[:2], joints[:2], atol=1e-6)


def test_confidence_is_clipped_to_0_1_when_a_peak_overshoots():
    joints = np.array([[8.0, 9.0], [20.0, 14.0]])
    maps = gaussian_heatmaps(joints, 32, 2.0) * np.array([1.4, 0.5])[:, None, None]
    maps[1] -= 0.7  # the whole map below zero
    decoded, confidences = decode_heatmaps(maps)
    np.testing.assert_allclose(confidences, [1.0, 0.0])
    np.testing.assert_allclose(decoded, joints, atol=1e-6)  # the positions are unchanged


LSP_FLIP = LSP14.flip_permutation()


@FAST
@given(maps=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.just(14), st.integers(1, 6),
                                              st.integers(1, 6)),
                       elements=st.floats(-10, 10, width=32)))
def test_flip_back_twice_is_the_identity(maps):
    np.testing.assert_array_equal(flip_back(flip_back(maps, LSP_FLIP), LSP_FLIP), maps)


def test_flip_back_mirrors_a_left_joint_into_the_right_joint():
    width = 16
    joints = np.zeros((14, 2))
    wrist = LSP14.index("left wrist")
    joints[wrist] = [3.0, 7.0]  # seen in the mirrored image
    weights = np.zeros(14)
    weights[wrist] = 1
    maps = gaussian_heatmaps(joints, width, 1.5, weights)
    back = flip_back(maps, LSP_FLIP)
    decoded, confidences = decode_heatmaps(back, "none")
    right = LSP14.index("right wrist")
    assert confidences[right] == pytest.approx(1.0)
    np.testing.assert_allclose(decoded[right], [width - 1 - 3.0, 7.0])
    assert confidences[wrist] == 0


@FAST
@given(maps=hnp.arrays(np.float32, (2, 14, 8, 8), elements=st.floats(0, 1, width=32)))
def test_merge_flipped_of_a_map_and_its_exact_mirror_is_the_map(maps):
    mirror = maps[:, LSP_FLIP, :, ::-1]
    np.testing.assert_allclose(merge_flipped(maps, mirror, LSP_FLIP), maps, atol=1e-7)


# --- skeleton.py -----------------------------------------------------------------------------


@pytest.mark.parametrize("skeleton", [LSP14, MPII16], ids=["LSP14", "MPII16"])
def test_flip_permutation_is_an_involution_swapping_left_and_right(skeleton):
    permutation = skeleton.flip_permutation()
    assert sorted(permutation) == list(range(skeleton.num_joints))
    np.testing.assert_array_equal(permutation[permutation], np.arange(skeleton.num_joints))
    swap = {"left": "right", "right": "left", "centre": "centre"}
    for joint, mirror in enumerate(permutation):
        assert skeleton.side(mirror) == swap[skeleton.side(joint)]
        name = skeleton.joint_names[joint]
        expected = name.replace("left", "#").replace("right", "left").replace("#", "right")
        assert skeleton.joint_names[mirror] == expected


def test_sides_come_from_joint_names():
    assert LSP14.side(LSP14.index("right ankle")) == "right"
    assert LSP14.side(LSP14.index("left shoulder")) == "left"
    assert LSP14.side(LSP14.index("neck")) == "centre"
    assert MPII16.side(MPII16.index("pelvis")) == "centre"
    assert Skeleton(("Left Eye",), (), ()).side(0) == "left"


@pytest.mark.parametrize("skeleton", [LSP14, MPII16], ids=["LSP14", "MPII16"])
def test_skeleton_dict_round_trip(skeleton):
    data = skeleton.to_dict()
    assert Skeleton.from_dict(data) == skeleton

    assert Skeleton.from_dict(json.loads(json.dumps(data))) == skeleton


@pytest.mark.parametrize(
    ("edges", "flip_pairs"),
    [(((0, 3),), ()), (((-1, 0),), ()), ((), ((1, 3),)), (((0, 1), (2, 5)), ())],
)
def test_skeleton_rejects_joint_indices_outside_its_joints(edges, flip_pairs):
    with pytest.raises(ValueError, match="outside"):
        Skeleton(("a", "b", "c"), edges, flip_pairs)


# --- smoothing.py ----------------------------------------------------------------------------

FPS = 30.0


def run_filter(filter_: OneEuroFilter, track: np.ndarray, confidences: np.ndarray) -> np.ndarray:
    return np.stack([
        filter_(points, conf, index / FPS)
        for index, (points, conf) in enumerate(zip(track, confidences, strict=True))
    ])


def test_one_euro_keeps_a_constant_signal_constant():
    track = np.broadcast_to(np.array([[12.5, -3.0], [40.0, 80.0]]), (60, 2, 2))
    out = run_filter(OneEuroFilter(), track, np.ones((60, 2)))
    np.testing.assert_allclose(out, track, atol=1e-9)


def test_one_euro_reduces_jitter_around_a_still_point():
    rng = np.random.default_rng(3)
    track = np.array([100.0, 50.0]) + rng.normal(0, 1.0, (300, 3, 2))
    out = run_filter(OneEuroFilter(), track, np.ones((300, 3)))
    raw_variance = track[30:].var(axis=0)
    smoothed_variance = out[30:].var(axis=0)
    assert np.all(smoothed_variance < 0.5 * raw_variance)
    np.testing.assert_allclose(out[30:].mean(axis=0), [[100.0, 50.0]] * 3, atol=0.5)


def test_one_euro_follows_a_step():
    track = np.zeros((90, 1, 2))
    track[30:] = [50.0, -20.0]
    out = run_filter(OneEuroFilter(), track, np.ones((90, 1)))
    assert 0 < out[30, 0, 0] < 50  # smoothed, not jumped ...
    np.testing.assert_allclose(out[-1], track[-1], atol=0.1)  # ... but it gets there
    assert np.all(np.diff(out[30:, 0, 0]) >= -1e-9)  # without turning back


def test_one_euro_passes_an_unsure_joint_through_and_restarts_it():
    still, lost = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [60.0, 60.0]])
    filter_ = OneEuroFilter(confidence_threshold=0.2)
    for index in range(30):
        filter_(still, np.array([1.0, 1.0]), index / FPS)
    out = filter_(lost, np.array([1.0, 0.05]), 30 / FPS)
    np.testing.assert_array_equal(out[1], [60.0, 60.0])  # unsmoothed
    # Seen again, right there: it starts from there instead of sliding in from (0, 0).
    out = filter_(lost, np.array([1.0, 1.0]), 31 / FPS)
    np.testing.assert_allclose(out[1], [60.0, 60.0])


def test_one_euro_restarts_when_time_goes_back():
    filter_ = OneEuroFilter()
    filter_(np.zeros((1, 2)), np.ones(1), 1.0)
    jumped = np.array([[30.0, 30.0]])
    np.testing.assert_array_equal(filter_(jumped, np.ones(1), 0.5), jumped)


# --- metrics.py ------------------------------------------------------------------------------

LEFT_SHOULDER, RIGHT_HIP = LSP14.index("left shoulder"), LSP14.index("right hip")


def lsp_pose(torso: float) -> np.ndarray:
    """A pose whose left shoulder is ``torso`` px above its right hip; other joints spread."""
    pose = np.stack([np.arange(14) * 10.0, np.zeros(14)], axis=-1)
    pose[LEFT_SHOULDER] = [0.0, 0.0]
    pose[RIGHT_HIP] = [0.0, torso]
    return pose


def test_torso_diameter_is_left_shoulder_to_right_hip():
    truth = np.stack([lsp_pose(100.0), lsp_pose(0.0)])
    np.testing.assert_allclose(torso_diameters(truth, LEFT_SHOULDER, RIGHT_HIP), [100.0, 0.0])


def test_pck_hits_within_and_misses_beyond_a_fifth_of_the_torso():
    truth = lsp_pose(100.0)[None]
    predicted = truth.copy()
    predicted[0, 0] += [20.0, 0.0]  # exactly on the threshold: a hit
    predicted[0, 1] += [0.0, 20.001]  # just beyond: a miss
    predicted[0, 2] += [12.0, 16.0]  # 20 px diagonally: a hit
    visible = np.ones((1, 14), bool)
    reference = torso_diameters(truth, LEFT_SHOULDER, RIGHT_HIP)
    hits, counted = pck_hits(predicted, truth, visible, reference)
    assert counted.all()
    assert hits[0].tolist() == [True, False] + [True] * 12
    mean, per_joint = pck_percent(hits, counted)
    assert mean == pytest.approx(100.0 * 13 / 14)
    assert per_joint[1] == 0.0
    assert per_joint[0] == 100.0


def test_pck_ignores_invisible_joints_and_poses_without_a_torso():
    truth = np.stack([lsp_pose(100.0), lsp_pose(0.0)])
    predicted = truth + 1000.0  # every joint badly missed
    predicted[0, 3] = truth[0, 3]  # except one
    visible = np.zeros((2, 14), bool)
    visible[0, 3:6] = True
    visible[1] = True  # visible, but its torso is zero: nothing to measure against
    reference = torso_diameters(truth, LEFT_SHOULDER, RIGHT_HIP)
    hits, counted = pck_hits(predicted, truth, visible, reference)
    assert counted.sum() == 3
    assert not counted[1].any()
    assert hits.sum() == 1
    mean, per_joint = pck_percent(hits, counted)
    assert mean == pytest.approx(100.0 / 3)
    assert per_joint[3] == 100.0
    assert per_joint[4] == per_joint[5] == 0.0
    assert np.isnan(per_joint[[0, 1, 2, *range(6, 14)]]).all()  # never seen: NaN, not 0


def test_a_pose_with_left_and_right_exchanged_is_found_and_forgiven():
    truth = np.stack([lsp_pose(100.0), lsp_pose(100.0)])
    truth[:, :, 1] += np.arange(14) * 50.0  # every joint far from every other
    permutation = LSP14.flip_permutation()
    predicted = truth.copy()
    predicted[0] = truth[0, permutation]  # every side named the other way round
    predicted[1, 0] += 1000.0  # right, but for one joint
    visible = np.ones((2, 14), bool)
    reference = torso_diameters(truth, LEFT_SHOULDER, RIGHT_HIP)
    mirrored, hits = mirrored_hits(predicted, truth, visible, reference, permutation)
    assert mirrored.tolist() == [True, False]
    assert hits[0].all()  # read mirrored, the first pose is perfect
    assert hits[1].sum() == 13  # the second keeps its own reading and its one miss
    plain, _ = pck_hits(predicted, truth, visible, reference)
    assert plain[0].sum() == 2  # neck and head top have no side


def test_pck_of_nothing_counted_is_nan():
    hits = counted = np.zeros((3, 14), bool)
    mean, per_joint = pck_percent(hits, counted)
    assert math.isnan(mean)
    assert np.isnan(per_joint).all()


# --- codec.py ---------------------------------------------------------------------------------


def test_the_codec_sizes_its_heatmaps_by_the_stems_stride():
    codec = HeatmapCodec(128)
    assert (codec.heatmap_size, codec.sigma, codec.dark_kernel) == (32, DEFAULT_SIGMA, 5)
    assert HeatmapCodec(256, sigma=1.0).heatmap_size == 64


def test_the_dark_blur_widens_with_sigma():
    assert [HeatmapCodec(64, sigma).dark_kernel for sigma in (1.0, 1.5, 2.0, 3.0)] == [3, 5, 5, 7]


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.nan, math.inf])
def test_the_codec_refuses_a_sigma_that_is_no_positive_number(sigma):
    with pytest.raises(ValueError, match="sigma"):
        HeatmapCodec(64, sigma)


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_the_codec_decodes_what_it_encodes(sigma):
    codec = HeatmapCodec(128, sigma)
    joints = np.array([[10.3, 12.7], [20.6, 8.2], [15.0, 15.0]])
    decoded, confidences = codec.decode(codec.encode(joints))
    np.testing.assert_allclose(decoded, joints, atol=0.05)
    assert (confidences > 0.9).all()


def test_the_codec_decodes_as_the_default_kernel_always_has():
    maps = gaussian_heatmaps(np.array([[7.4, 9.8], [3.2, 20.1]]), 32, 2.0) ** 1.3
    ours, _ = HeatmapCodec(128).decode(maps)
    np.testing.assert_array_equal(ours, decode_heatmaps(maps, "dark", 5)[0])


@FAST
@given(box=boxes, rotation=rotations, points=point_sets)
def test_the_codec_maps_frame_points_to_its_heatmap_and_back(box, rotation, points):
    codec = HeatmapCodec(64)
    on_heatmap = codec.from_frame(points, box, rotation)
    np.testing.assert_allclose(on_heatmap, apply_affine(crop_matrix(box, 16, rotation), points))
    unturned = codec.from_frame(points, box)
    np.testing.assert_allclose(codec.to_frame(unturned, box), points, atol=1e-6)
