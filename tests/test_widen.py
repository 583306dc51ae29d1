"""A widened copy of a network computes what the narrow one did (training from one:
tests/test_growth.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from app.model.architecture import HourglassConfig
from app.model.hourglass import StackedHourglass
from app.model.widen import widened, widening_error

# channels == 2 * stem_channels: the narrow stem's last residual has an identity skip
SAME_STEM = HourglassConfig(stacks=2, channels=16, depth=2, stem_channels=8)
OWN_STEM = HourglassConfig(stacks=2, channels=32, depth=2, stem_channels=8)


def trained_looking(config: HourglassConfig) -> StackedHourglass:
    """Random weights with batch-norm statistics that are not the identity."""
    torch.manual_seed(0)
    network = StackedHourglass(config)
    network.train()
    with torch.no_grad():
        network(torch.randn(4, 3, 64, 64) * 2 + 0.5)
    return network


@pytest.mark.parametrize("config", [SAME_STEM, OWN_STEM], ids=["identity-skip", "stem-skip"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_widened_copy_computes_the_same_heatmaps_at_every_stack(config, mode):
    narrow = trained_looking(config)
    wide = widened(narrow, config.channels + 12, noise=0.0)
    assert wide.config == replace(config, channels=config.channels + 12)
    image = torch.randn(2, 3, 64, 64)
    getattr(narrow, mode)()
    getattr(wide, mode)()
    with torch.no_grad():
        for before, after in zip(narrow(image), wide(image), strict=True):
            assert torch.allclose(before, after, atol=1e-4), (before - after).abs().max()


def test_the_noise_parts_the_copies_but_keeps_the_prediction_close():
    narrow = trained_looking(OWN_STEM).eval()
    image = torch.randn(1, 3, 64, 64)
    quiet = widened(narrow, 48, noise=0.0).eval()
    noisy = widened(narrow, 48, noise=0.01).eval()
    with torch.no_grad():
        reference = narrow(image)[-1]
        gap = (noisy(image)[-1] - reference).abs().max()
    assert 0 < gap < 0.05 * reference.abs().max()
    weight = "stacks.0.hourglass.skip.0.conv1.weight"
    assert not torch.equal(quiet.state_dict()[weight], noisy.state_dict()[weight])


@pytest.mark.parametrize(("wide", "reason"), [
    (replace(OWN_STEM, channels=16), "narrower"),
    (replace(OWN_STEM, channels=48, stacks=3), "only the channel count"),
    (replace(OWN_STEM, stem="bearpaw"), "only the channel count"),
])
def test_what_cannot_be_widened_says_why(wide, reason):
    assert reason in widening_error(OWN_STEM, wide)
    if wide.stacks == OWN_STEM.stacks and wide.stem == OWN_STEM.stem:
        with pytest.raises(ValueError, match=reason):
            widened(trained_looking(OWN_STEM), wide.channels)

