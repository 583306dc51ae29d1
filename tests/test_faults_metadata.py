"""Checkpoint metadata that asks for what no stacked hourglass can be (issue 26): a sigma or an
input size that would allocate terabytes or take seconds a frame, flip pairs the flip test
cannot undo.  Each is refused from the header alone, before anything is sized by it, naming
the field: by ``load_checkpoint``, by ``read_spec`` (what ``info`` reads first) and on the
command line as one line and exit code 2.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from app.cli import main
from app.model.checkpoint import METADATA_KEY, load_checkpoint, read_spec
from app.model.spec import CheckpointError, ModelSpec
from app.pose.codec import HeatmapCodec
from app.pose.skeleton import LSP14, MPII16, Skeleton

LSP = LSP14.to_dict()


def with_metadata(checkpoint: Path, target: Path, **changes: object) -> Path:
    """A copy of ``checkpoint`` (the tiny model: input 64, heatmaps 16, depth 2) whose spec
    fields are changed as given; the weights are untouched."""
    with safe_open(str(checkpoint), framework="pt") as handle:
        spec = json.loads(handle.metadata()[METADATA_KEY])
    save_file(load_file(str(checkpoint)), str(target),
              metadata={METADATA_KEY: json.dumps({**spec, **changes})})
    return target


BAD_FIELDS = {
    "sigma-huge": ({"sigma": 1e6}, "sigma 1e+06 is not between 0.25 and 4"),
    "sigma-2000": ({"sigma": 2000}, "sigma 2000"),
    "sigma-wider-than-a-quarter-map": ({"sigma": 4.5}, "sigma 4.5"),
    "sigma-tiny": ({"sigma": 1e-30}, "sigma 1e-30"),
    "input-4096": ({"input_size": 4096}, "input_size 4096 is beyond any hourglass"),
    "input-100032": ({"input_size": 100032}, "input_size 100032"),
    "input-1024": ({"input_size": 1024}, "at most 512 pixels"),
    "mean-nan": ({"mean": [0.5, float("nan"), 0.5]}, "mean"),
    "mean-outside-pixels": ({"mean": [0.5, 40.0, 0.5]}, "mean"),
    "std-infinite": ({"std": [0.25, float("inf"), 0.25]}, "std"),
    "std-tiny": ({"std": [0.25, 1e-300, 0.25]}, "std"),
    "flip-joint-twice": ({"skeleton": {**LSP, "flip_pairs": [[0, 5], [0, 4], [2, 3]]}},
                         "skeleton.flip_pairs: 'right ankle' is paired more than once"),
    "flip-joint-with-itself": ({"skeleton": {**LSP, "flip_pairs": [[12, 12]]}},
                               "skeleton.flip_pairs: 'neck' is paired"),
    "flip-not-mirror": ({"skeleton": {**LSP, "flip_pairs": [[0, 4], [1, 5]]}},
                        "pairs 'right ankle' with 'left knee', which is not its mirror"),
    "flip-left-with-centre": ({"skeleton": {**LSP, "flip_pairs": [[9, 12]]}},
                              "'left shoulder' with 'neck'"),
    "flip-pair-missing": ({"skeleton": {**LSP, "flip_pairs": LSP["flip_pairs"][1:]}},
                          "'right ankle' is in no pair"),
    "joint-named-twice": ({"skeleton": {**LSP, "joint_names": ["neck"] * 14}},
                          "skeleton.joint_names"),
}


@pytest.mark.parametrize(("changes", "says"), BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_fault_metadata_beyond_any_hourglass_is_refused_naming_the_field(
        tiny_checkpoint, tmp_path, changes, says):
    path = with_metadata(tiny_checkpoint, tmp_path / "bad.safetensors", **changes)
    tracemalloc.start()
    try:
        for read in (read_spec, load_checkpoint):
            with pytest.raises(CheckpointError, match="metadata is incomplete or invalid") as error:
                read(path)
            assert says in str(error.value) and str(path) in str(error.value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20  # the tiny weights at most: nothing sized by the bad field


def test_fault_metadata_sigma_huge_on_the_command_line(tiny_checkpoint, tmp_path, capsys):
    """``info`` read the header, printed and exited 0; ``infer`` ended in a traceback."""
    path = with_metadata(tiny_checkpoint, tmp_path / "wide.safetensors", sigma=1e6)
    assert main(["info", "--checkpoint", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"hourglass-pose: {path}: ") and "sigma 1e+06" in error
    assert len(error.strip().splitlines()) == 1


def test_fault_metadata_inconsistent_flip_pairs_refused_before_a_flip_run(
        tiny_checkpoint, lspet_image, tmp_path, capsys):
    broken = {**LSP, "flip_pairs": [[0, 5], [0, 4], [2, 3]]}
    path = with_metadata(tiny_checkpoint, tmp_path / "flip.safetensors", skeleton=broken)
    output = tmp_path / "poses.jsonl"
    code = main(["infer", "--input", str(lspet_image), "--json", str(output), "--flip",
                 "--checkpoint", str(path)])
    assert code == 2 and not output.exists()
    assert "skeleton.flip_pairs" in capsys.readouterr().err


def test_the_bounds_keep_every_model_this_app_trains_or_ports(tiny_checkpoint, tmp_path):
    """The edges of what is allowed load: sigma a quarter of the heatmap, the widest input."""
    loaded = load_checkpoint(with_metadata(tiny_checkpoint, tmp_path / "edge.safetensors",
                                           sigma=4.0, std=[1.0, 1.0, 1.0], mean=[0, 0, 0]))
    assert loaded.spec.sigma == 4.0
    assert HeatmapCodec(512, 1.0).heatmap_size == 128 and HeatmapCodec(256, 0.25).sigma == 0.25
    spec = ModelSpec(loaded.spec.config, LSP14, input_size=512)
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    for skeleton in (LSP14, MPII16):
        assert Skeleton.from_dict(skeleton.to_dict()) == skeleton
    # Names without a side are taken as the file pairs them.
    assert Skeleton(("l_hip", "r_hip", "Left Eye", "RIGHT EYE"), (), ((0, 1), (3, 2)))
