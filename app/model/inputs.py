"""From uint8 BGR crops (what OpenCV gives) to the normalised tensor the network takes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def normalise_batch(
    crops: np.ndarray | torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """(B, S, S, 3) uint8 BGR to (B, 3, S, S) RGB, (x / 255 - mean) / std.

    The uint8 batch crosses to the device before conversion (a quarter of the bytes), and the
    result keeps the NHWC memory order, i.e. channels_last, which the CPU kernels prefer.
    """
    batch = torch.as_tensor(crops).to(device, non_blocking=True)
    batch = batch.flip(-1).to(dtype).permute(0, 3, 1, 2)
    scale = torch.tensor([255.0 * s for s in std], device=batch.device, dtype=dtype)
    shift = torch.tensor(mean, device=batch.device, dtype=dtype) / torch.tensor(
        std, device=batch.device, dtype=dtype
    )
    return batch / scale.view(1, 3, 1, 1) - shift.view(1, 3, 1, 1)
