"""A deeper copy of a network keeps what its stacks learnt, and training can start from a
copy grown deeper, wider or both (``train --init`` with more ``--stacks`` or ``--channels``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from app.cli import main
from app.model.architecture import HourglassConfig
from app.model.checkpoint import load_checkpoint
from app.model.deepen import deepened, deepening_error
from app.model.growth import grown, growth_error
from app.model.hourglass import StackedHourglass

SMALL = HourglassConfig(stacks=2, channels=32, depth=2, stem_channels=8)


def trained_looking(config: HourglassConfig) -> StackedHourglass:
    """Random weights with batch-norm statistics that are not the identity."""
    torch.manual_seed(0)
    network = StackedHourglass(config)
    network.train()
    with torch.no_grad():
        network(torch.randn(4, 3, 64, 64) * 2 + 0.5)
    return network.eval()


def weights_of(network: StackedHourglass, prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in network.state_dict().items()
            if key.startswith(prefix)}


def test_a_deepened_copy_keeps_every_trained_stack_count_exactly():
    shallow = trained_looking(SMALL)
    deep = deepened(shallow, 4).eval()
    assert deep.config == replace(SMALL, stacks=4)
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for count in (1, 2):
            for before, after in zip(shallow(image, count), deep(image, count), strict=True):
                assert torch.equal(before, after)
        assert len(deep(image)) == 4


def test_each_new_stack_starts_as_the_last_trained_stack_and_its_reinjection():
    shallow = trained_looking(SMALL)
    deep = deepened(shallow, 4)
    for new_stack in (2, 3):
        copied, source = weights_of(deep, f"stacks.{new_stack}."), weights_of(shallow, "stacks.1.")
        assert copied.keys() == source.keys()
        assert all(torch.equal(copied[key], source[key]) for key in source)
    for new_reinjection in (1, 2):
        copied = weights_of(deep, f"reinjections.{new_reinjection}.")
        source = weights_of(shallow, "reinjections.0.")
        assert all(torch.equal(copied[key], source[key]) for key in source)
    # copies, not shared tensors: training one stack leaves its source alone
    deep.state_dict()["stacks.3.head.weight"].add_(1.0)
    assert not torch.equal(deep.state_dict()["stacks.3.head.weight"],
                           deep.state_dict()["stacks.1.head.weight"])


@pytest.mark.parametrize(("small", "big", "reason"), [
    (SMALL, replace(SMALL, stacks=1), "fewer"),
    (replace(SMALL, stacks=1), replace(SMALL, stacks=3), "single stack"),
    (SMALL, replace(SMALL, stacks=3, depth=3), "only the stack count"),
])
def test_what_cannot_be_deepened_says_why(small, big, reason):
    assert reason in deepening_error(small, big)
    assert reason in growth_error(small, big)
    with pytest.raises(ValueError, match=reason):
        grown(trained_looking(small), big)


def test_a_copy_grown_wider_and_deeper_keeps_the_trained_stacks_close():
    small = trained_looking(SMALL)
    big, how = grown(small, replace(SMALL, stacks=3, channels=48))
    assert how == "a copy (widened from 32 channels, deepened from 2 stacks)"
    assert big.config == replace(SMALL, stacks=3, channels=48)
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = small(image)[-1]
        gap = (big.eval()(image, 2)[-1] - reference).abs().max()
    assert gap < 0.05 * reference.abs().max()


@pytest.mark.parametrize(("small", "big", "how"), [
    (["--stacks", "2", "--channels", "16"], ["--stacks", "3", "--channels", "16"],
     "a copy (deepened from 2 stacks)"),
    (["--stacks", "2", "--channels", "16"], ["--stacks", "2", "--channels", "24"],
     "a copy (widened from 16 channels)"),
], ids=["deeper", "wider"])
def test_training_starts_from_a_grown_copy_of_smaller_weights(lspet_subset, tmp_path, capsys,
                                                              small, big, how):
    common = ["--data", str(lspet_subset), "--depth", "2", "--input-size", "64",
              "--batch-size", "4", "--held-out", "8", "--eval-every", "2", "--max-steps", "2"]
    small_run, big_run = tmp_path / "small", tmp_path / "big"
    assert main(["train", "--run", str(small_run), "--init", str(tmp_path / "none"),
                 *small, *common]) == 0
    assert main(["train", "--run", str(big_run), "--init", str(small_run / "best.safetensors"),
                 *big, *common]) == 0
    assert f"started from {how} of the weights in" in capsys.readouterr().out
    config = load_checkpoint(big_run / "last.safetensors").spec.config
    assert (config.stacks, config.channels) == (int(big[1]), int(big[3]))
