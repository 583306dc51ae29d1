"""The Stacked Hourglass network, its input normalisation, and the heatmap predictor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from networks import random_network

from app.model.architecture import HourglassConfig
from app.model.hourglass import StackedHourglass
from app.model.inputs import normalise_batch
from app.model.predictors import HeatmapPredictor
from app.model.spec import ModelSpec
from app.pose.heatmaps import merge_flipped
from app.pose.skeleton import LSP14

TINY = HourglassConfig(stacks=3, channels=16, depth=2, joints=14, stem_channels=8)


@pytest.fixture(scope="module")
def network() -> StackedHourglass:
    return random_network(TINY)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(1))


# --- shapes and early exit -------------------------------------------------------------------


def test_every_stack_gives_quarter_size_heatmaps(network, images):
    with torch.no_grad():
        outputs = network(images)
    assert len(outputs) == TINY.stacks
    for heatmaps in outputs:
        assert heatmaps.shape == (2, TINY.joints, 16, 12)
        assert torch.isfinite(heatmaps).all()
    # The stacks differ: each refines the last one's answer.
    assert not torch.allclose(outputs[0], outputs[1])


@pytest.mark.parametrize("stacks", [1, 2, 3])
def test_early_exit_equals_the_first_stacks_of_the_full_forward(network, images, stacks):
    with torch.no_grad():
        full = network(images)
        early = network(images, stacks=stacks)
    assert len(early) == stacks
    for ours, reference in zip(early, full[:stacks], strict=True):
        torch.testing.assert_close(ours, reference, rtol=0, atol=0)


@pytest.mark.parametrize("stacks", [1, 2])
def test_early_exit_never_runs_the_later_stacks(network, images, stacks):
    ran: list[str] = []
    hooks = [
        module.register_forward_hook(lambda *_, name=name: ran.append(name))
        for name, module in [
            *((f"stacks.{i}", m) for i, m in enumerate(network.stacks)),
            *((f"reinjections.{i}", m) for i, m in enumerate(network.reinjections)),
        ]
    ]
    try:
        with torch.no_grad():
            network(images, stacks=stacks)
    finally:
        for hook in hooks:
            hook.remove()
    expected = [f"stacks.{i}" for i in range(stacks)]
    expected += [f"reinjections.{i}" for i in range(stacks - 1)]
    assert sorted(ran) == sorted(expected)
    assert f"stacks.{stacks}" not in ran
    assert f"reinjections.{stacks - 1}" not in ran


@pytest.mark.parametrize("stacks", [0, -1, TINY.stacks + 1])
def test_forward_rejects_a_stack_count_outside_the_network(network, images, stacks):
    with pytest.raises(ValueError, match="stacks"):
        network(images, stacks=stacks)


# --- configuration and state_dict keys -------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        {"stacks": 0},
        {"channels": -16},
        {"channels": 15},  # the bottleneck halves it
        {"depth": 0},
        {"joints": 0},
        {"blocks": 0},
        {"stem_channels": 0},
        {"channels": 16.0},
        {"depth": "2"},
    ],
)
def test_invalid_config_raises(sizes):
    with pytest.raises(ValueError, match="HourglassConfig"):
        HourglassConfig(**sizes)


def test_config_dict_round_trip():
    assert HourglassConfig(**TINY.to_dict()) == TINY


def test_state_dict_keys_are_stable(network):
    keys = set(network.state_dict())
    for key in (
        "stem.conv.0.weight",
        "stem.conv.1.running_var",
        "stem.res1.skip.weight",
        "stem.res3.conv2.weight",
        "stacks.0.hourglass.skip.0.conv1.weight",
        "stacks.0.hourglass.down.0.bn1.weight",
        "stacks.0.hourglass.inner.inner.0.conv3.bias",
        "stacks.0.hourglass.inner.up.0.bn3.running_mean",
        "stacks.0.residuals.0.conv2.weight",
        "stacks.0.features.0.weight",
        "stacks.0.head.weight",
        "stacks.2.head.bias",
        "reinjections.0.features.weight",
        "reinjections.0.heatmaps.weight",
        "reinjections.1.heatmaps.bias",
    ):
        assert key in keys, key
    # One reinjection between each pair of stacks, and no skip conv where widths agree.
    assert not any(k.startswith("reinjections.2.") for k in keys)
    assert not any(k.startswith("stacks.0.hourglass.skip.0.skip.") for k in keys)
    assert network.state_dict()["stacks.0.head.weight"].shape == (14, 16, 1, 1)
    assert network.state_dict()["reinjections.0.heatmaps.weight"].shape == (16, 14, 1, 1)


def test_blocks_adds_residuals_per_slot():
    network = StackedHourglass(HourglassConfig(stacks=1, channels=16, depth=1, joints=3,
                                               blocks=2, stem_channels=8))
    keys = set(network.state_dict())
    assert "stacks.0.hourglass.skip.1.conv1.weight" in keys
    assert "stacks.0.hourglass.inner.1.conv1.weight" in keys
    assert "stacks.0.hourglass.skip.2.conv1.weight" not in keys
    assert not network.reinjections  # one stack: nothing to re-inject


# --- inputs.py -------------------------------------------------------------------------------

MEAN, STD = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)


def test_normalise_batch_turns_bgr_uint8_into_normalised_rgb():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    batch = normalise_batch(crops, MEAN, STD)
    assert batch.shape == (2, 3, 8, 8)
    assert batch.dtype == torch.float32
    rgb = crops[..., ::-1].transpose(0, 3, 1, 2).astype(np.float64) / 255
    expected = (rgb - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    np.testing.assert_allclose(batch.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_normalise_batch_maps_known_pixels():
    crop = np.zeros((1, 2, 2, 3), np.uint8)
    crop[0, 0, 0] = [255, 0, 0]  # pure blue in BGR
    batch = normalise_batch(crop, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert batch[0, :, 0, 0].tolist() == [-1.0, -1.0, 1.0]  # R, G, B
    assert batch[0, :, 1, 1].tolist() == [-1.0, -1.0, -1.0]


def test_normalise_batch_keeps_channels_last_and_the_requested_dtype():
    crops = np.zeros((3, 16, 16, 3), np.uint8)
    batch = normalise_batch(torch.from_numpy(crops), MEAN, STD, dtype=torch.float64)
    assert batch.dtype == torch.float64
    assert batch.is_contiguous(memory_format=torch.channels_last)


# --- the PyTorch predictor (predictors.py) ----------------------------------------------------


@pytest.fixture(scope="module")
def predictor() -> HeatmapPredictor:
    config = HourglassConfig(stacks=2, channels=16, depth=2, joints=14, stem_channels=8)
    spec = ModelSpec(config, LSP14, input_size=64, mean=MEAN, std=STD)
    return HeatmapPredictor(random_network(config, seed=5), spec)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)


def manual_heatmaps(network: StackedHourglass, crops: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        outputs = network(normalise_batch(crops, MEAN, STD))
    return torch.stack(outputs).numpy()


def test_predictor_gives_every_stack_as_numpy(predictor, crops):
    heatmaps = predictor(crops)
    assert heatmaps.shape == (2, 2, 14, 16, 16)  # (K, B, J, H, W)
    assert heatmaps.dtype == np.float32
    np.testing.assert_allclose(heatmaps, manual_heatmaps(predictor.network, crops),
                               rtol=1e-4, atol=1e-5)
    assert predictor(crops, stacks=1).shape == (1, 2, 14, 16, 16)


def test_predictor_flip_test_equals_the_manual_merge(predictor, crops):
    merged = predictor(crops, flip=True)
    assert merged.shape == (2, 2, 14, 16, 16)
    plain = manual_heatmaps(predictor.network, crops)
    mirrored = manual_heatmaps(predictor.network, np.ascontiguousarray(crops[:, :, ::-1]))
    expected = merge_flipped(plain, mirrored, LSP14.flip_permutation())
    np.testing.assert_allclose(merged, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(merged, plain, atol=1e-3)  # the mirror really took part


def test_predictor_restores_the_training_mode(predictor, crops):
    predictor.network.train()
    try:
        predictor(crops[:1])
        assert predictor.network.training
    finally:
        predictor.network.eval()


@pytest.mark.parametrize("config", [
    TINY,
    HourglassConfig(stacks=2, channels=16, depth=2, blocks=2, stem_channels=8, stem="bearpaw"),
], ids=["newell", "bearpaw-two-blocks"])
@torch.no_grad()
def test_folding_batchnorm_keeps_every_stacks_output(config):
    from app.model.folding import fold_batchnorm

    network = random_network(config, seed=3)
    folded = fold_batchnorm(network)
    image = torch.randn(2, 3, 64, 64)
    for expected, got in zip(network(image), folded(image), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    remaining = sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    residuals = sum(type(m).__name__ == "Residual" for m in folded.modules())
    assert remaining == residuals  # only each residual's first BN (after a sum) stays
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())  # a copy
