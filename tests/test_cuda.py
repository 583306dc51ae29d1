"""The CUDA path: run with `pytest -m cuda` on a machine with a GPU; skipped elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine.open_media import open_source
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.model.checkpoint import load_checkpoint
from app.model.devices import DeviceError, resolve_device
from app.model.predictors import create_predictor

pytestmark = pytest.mark.cuda
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


@needs_cuda
def test_cuda_runs_fp16_and_agrees_with_the_cpu(tiny_checkpoint, lspet_image):
    loaded = load_checkpoint(tiny_checkpoint)
    gpu = PosePipeline(create_predictor(loaded, "cuda"))
    assert gpu.predictor.precision == "fp16"
    cpu = PosePipeline(create_predictor(load_checkpoint(tiny_checkpoint), "cpu"))
    with open_source(lspet_image) as source:
        frame = source.read()
    options = PipelineOptions(keep_heatmaps=True, smoothing=False)
    on_gpu, on_cpu = gpu.process(frame, options), cpu.process(frame, options)
    np.testing.assert_allclose(on_gpu.heatmaps, on_cpu.heatmaps, atol=2e-2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_a_clear_fault():
    with pytest.raises(DeviceError, match="CUDA"):
        resolve_device("cuda")
