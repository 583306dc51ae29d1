"""The network through OpenVINO on the CPU: PyTorch's answers, several times sooner.

PyTorch defines, trains and reads the network; on the CPU this module runs it.  The loaded
network is converted once (BatchNorm folded; the uint8 BGR crop's colour order, conversion and
normalisation built into the graph, so a crop goes in as it is), and the converted model is
kept in the cache folder: converting traces the network (5 s on two cores), reading it back
takes 50 ms.  From it, one model per stack count the user picks, whose one output is stacks
1..k: early exit still saves the later stacks' work, and the refinement view still gets every
stack.  Each is compiled when first asked for, and OpenVINO keeps the compiled kernels beside
the converted model, which a second start loads instead of building them (0.2 to 0.4 s a model
here, most of the 0.25 s by which the first pose comes later than through PyTorch).

Batches of 1 (a tracked frame) and 2 (the same with the flip test) are compiled for their exact
shape, about 12% faster than a model of any batch; the search's batches of windows, whose
sizes vary with the frame, share one model of any batch.

Precision: bf16 where OpenVINO finds native bf16 on this CPU (AMX or AVX512-BF16), fp32
elsewhere: a fact of the processor, so the same on every run on one machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from app.model.folding import fold_batchnorm
from app.model.hourglass import StackedHourglass
from app.model.spec import ModelSpec
from app.paths import cache_dir
from app.pose.heatmaps import merge_flipped

# Bump when the graph built here changes: conversions cached under the old scheme are stale.
CONVERSION_SCHEME = 1
STATIC_BATCHES = (1, 2)
# One crop (a followed frame) in bf16 runs on one thread: the network is then so quick that
# two threads wait on each other as often as they share the work (147 frames/s end to end at 4
# stacks on one thread, 142 on two, on a 2-core Xeon with AMX), and the other core is left to
# the reader, the window and the user's other programs.  In fp32 (a CPU without native bf16)
# the network is four times the work and two threads pay (67 against 46 frames/s at 4 stacks),
# as they do for batches (the flip test, a search): those use OpenVINO's own choice.
SINGLE_CROP_THREADS = 1
# Converted models kept in the cache (each with its compiled blobs), the least recently used
# removed beyond this: another checkpoint, or an OpenVINO upgrade, leaves one behind.
KEPT_CONVERSIONS = 6
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}


class OpenVinoError(RuntimeError):
    """OpenVINO is missing, or cannot convert or compile this network; PyTorch can run it."""


def _openvino() -> Any:
    try:
        import openvino
    except (ImportError, OSError) as error:  # not installed, or its libraries do not load
        raise OpenVinoError(f"OpenVINO cannot be loaded ({error})") from error
    return openvino


_core: Any = None


def shared_core() -> Any:
    """The process's one OpenVINO Core, made on first use and never released.

    Its CPU plugin gives the thread that makes it a larger signal stack (for AMX state) and
    unmaps that stack when released, from whichever thread releases it: a Core made on one
    thread and freed on another (the GUI's worker, the garbage collector) leaves the first
    thread's signal stack unmapped, and the next signal there (Ctrl-C, SIGTERM) is a
    segmentation fault.
    """
    global _core
    if _core is None:
        _core = _openvino().Core()
    return _core


def openvino_version() -> str | None:
    """OpenVINO's release (2026.4.1), or None where it cannot be loaded."""
    try:
        return _openvino().__version__.split("-")[0]
    except OpenVinoError:
        return None


def native_bf16() -> bool:
    """Whether OpenVINO's CPU plugin has native bf16 kernels here (AMX or AVX512-BF16)."""
    return "BF16" in shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class _EveryStack(nn.Module):
    """The network with every stack's heatmaps as a tuple, as the converter wants outputs."""

    def __init__(self, network: StackedHourglass) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.network(x))


def conversion_key(network: StackedHourglass, spec: ModelSpec) -> str:
    """What a converted model depends on: the weights, the input's size and normalisation,
    this module's scheme and OpenVINO's version.  Any change is another key, so a stale
    conversion is never read."""
    digest = hashlib.sha256(json.dumps({
        "scheme": CONVERSION_SCHEME, "openvino": _openvino().__version__,
        "architecture": spec.config.to_dict(), "input_size": spec.input_size,
        "mean": list(spec.mean), "std": list(spec.std),
    }, sort_keys=True).encode())
    for name, tensor in network.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:24]


def convert(network: StackedHourglass, spec: ModelSpec) -> Any:
    """An OpenVINO model of the whole network, taking (B, S, S, 3) uint8 BGR crops and giving
    every stack's heatmaps, one output per stack."""
    openvino = _openvino()
    from openvino.preprocess import ColorFormat, PrePostProcessor

    size = spec.input_size
    example = torch.zeros(1, 3, size, size)
    folded = _EveryStack(fold_batchnorm(network).float().cpu().eval())
    # Traced here without the converter's own checks: a third of its time (5 s, not 16).
    # TorchScript is what OpenVINO's PyTorch front end reads; PyTorch calls it deprecated.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(folded, example, check_trace=False)
    model = openvino.convert_model(traced, example_input=example, input=[(-1, 3, size, size)])
    steps = PrePostProcessor(model)
    steps.input().tensor().set_element_type(openvino.Type.u8).set_layout(
        openvino.Layout("NHWC")).set_color_format(ColorFormat.BGR)
    steps.input().model().set_layout(openvino.Layout("NCHW"))
    steps.input().preprocess().convert_color(ColorFormat.RGB).convert_element_type(
        openvino.Type.f32).mean([255 * m for m in spec.mean]).scale([255 * s for s in spec.std])
    return steps.build()


def conversions_dir() -> Path:
    return cache_dir() / "openvino"


def cached_conversion(core: Any, network: StackedHourglass, spec: ModelSpec
                      ) -> tuple[Any, Path | None]:
    """The converted network and its cache folder: read back when a sound copy is kept,
    else converted and kept (the folder is None where the cache cannot be written; the
    network is converted again next time)."""
    folder = conversions_dir() / conversion_key(network, spec)
    kept = _read_kept(core, folder / "network.xml", spec)
    if kept is not None:
        os.utime(folder)  # recently used: kept by the pruning
        return kept, folder
    model = convert(network, spec)
    try:
        _keep(model, folder)
    except OSError:
        return model, None
    _prune(folder.parent, KEPT_CONVERSIONS)
    return model, folder


def _read_kept(core: Any, xml: Path, spec: ModelSpec) -> Any | None:
    """The kept conversion, or None (and the entry removed) when it is missing, unreadable
    or not this network's shape."""
    if not xml.is_file():
        return None
    try:
        model = core.read_model(xml)
        shape = list(model.input(0).get_partial_shape().get_max_shape())[1:]
        if len(model.outputs) == spec.config.stacks and shape == [spec.input_size,
                                                                   spec.input_size, 3]:
            return model
    except RuntimeError:
        pass
    shutil.rmtree(xml.parent, ignore_errors=True)  # corrupt: converted again
    return None


def _keep(model: Any, folder: Path) -> None:
    """Written beside, then renamed into place: a reader never sees half a conversion."""
    openvino = _openvino()
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        openvino.save_model(model, partial / "network.xml", compress_to_fp16=False)
        if folder.exists():  # another process converted it meanwhile: theirs stands
            shutil.rmtree(partial)
        else:
            partial.rename(folder)
    except (OSError, RuntimeError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise OSError(f"cannot keep the converted model: {error}") from error


def _prune(root: Path, keep: int) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def conv_isa(compiled: Any) -> str:
    """The instruction set most of the compiled network's convolutions run on, as OpenVINO's
    kernels name it (``avx512_amx``, ``avx512``, ``avx2``...)."""
    counts: Counter[str] = Counter()
    for node in compiled.get_runtime_model().get_ordered_ops():
        info = node.get_rt_info()
        if "layerType" in info and info["layerType"].astype(str) == "Convolution":
            kernel = info["primitiveType"].astype(str)
            match = re.search(r"(avx512_amx|avx512|avx2_vnni|avx2|avx|sse41|amx|acl|ref)",
                              kernel)
            counts[match.group(1) if match else kernel] += 1
    return counts.most_common(1)[0][0] if counts else "unknown"


class OpenVinoPredictor:
    """The network on the CPU through OpenVINO, answering as :class:`HeatmapPredictor` does."""

    runtime = "openvino"
    note: str | None = None

    def __init__(self, network: StackedHourglass, spec: ModelSpec, precision: str = "bf16"
                 ) -> None:
        """Converts (or reads back) the network and compiles the full model for one crop, so
        that a network OpenVINO cannot run fails here, where PyTorch can take over."""
        if precision not in PRECISION_HINTS:
            raise OpenVinoError(f"OpenVINO runs fp32 or bf16 on the CPU, not {precision}")
        self.spec = spec
        self.device = torch.device("cpu")
        self.precision = precision
        self.flip_permutation = spec.skeleton.flip_permutation()
        self._core = shared_core()
        try:
            self._model, folder = cached_conversion(self._core, network, spec)
        except Exception as error:  # the converter raises many kinds
            raise OpenVinoError(f"OpenVINO could not convert the network ({error})") from error
        self._config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision],
                                        "PERFORMANCE_HINT": "LATENCY"}
        if folder is not None:
            self._config["CACHE_DIR"] = str(folder / "compiled")
        self._requests: dict[tuple[int, int | None], Any] = {}
        self._request(spec.config.stacks, 1)

    @cached_property
    def isa(self) -> str:
        """The instruction set its convolutions run on: asked by `info` and the bench only,
        so not read at every start (a walk over the compiled graph)."""
        return conv_isa(self._request(self.spec.config.stacks, 1).get_compiled_model())

    def _request(self, stacks: int, batch: int) -> Any:
        key = (stacks, batch if batch in STATIC_BATCHES else None)
        request = self._requests.get(key)
        if request is None:
            request = self._compile(*key).create_infer_request()
            self._requests[key] = request
        return request

    def _compile(self, stacks: int, batch: int | None) -> Any:
        openvino = _openvino()
        from openvino import opset13

        model = self._model.clone()  # reshaping one changes the Parameter the others share
        heads = [result.input_value(0) for result in model.get_results()[:stacks]]
        stacked = opset13.concat([opset13.unsqueeze(head, 0) for head in heads], 0)
        model = openvino.Model([stacked], model.get_parameters(), f"hourglass-{stacks}-stacks")
        if batch is not None:
            size = self.spec.input_size
            model.reshape({model.input(0): [batch, size, size, 3]})
        config = dict(self._config)
        if batch == 1 and self.precision == "bf16":
            config["INFERENCE_NUM_THREADS"] = SINGLE_CROP_THREADS
        try:
            return self._core.compile_model(model, "CPU", config)
        except RuntimeError as first:
            if "CACHE_DIR" not in self._config:
                raise OpenVinoError(f"OpenVINO could not compile the network ({first})") from first
        # A damaged compiled blob in the cache: compile afresh, without the cache.
        shutil.rmtree(self._config.pop("CACHE_DIR"), ignore_errors=True)
        return self._compile(stacks, batch)

    def __call__(self, crops: np.ndarray, stacks: int | None = None, flip: bool = False
                 ) -> np.ndarray:
        """Heatmaps (K, B, J, H, W) float32 for (B, S, S, 3) uint8 BGR crops."""
        count = self.spec.config.stacks if stacks is None else stacks
        if not 1 <= count <= self.spec.config.stacks:
            raise ValueError(f"stacks must be in 1..{self.spec.config.stacks}, got {count}")
        batch = np.concatenate([crops, crops[:, :, ::-1]]) if flip else np.ascontiguousarray(
            crops, dtype=np.uint8)
        heatmaps = self._run(batch, count)
        if not flip:
            return heatmaps
        return merge_flipped(heatmaps[:, :len(crops)], heatmaps[:, len(crops):],
                             self.flip_permutation)

    def _run(self, batch: np.ndarray, stacks: int) -> np.ndarray:
        return self._request(stacks, len(batch)).infer({0: batch})[0]
