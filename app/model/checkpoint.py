"""Checkpoints: our safetensors format, and the public PyTorch layouts.

Our format is a ``.safetensors`` file whose header metadata (key ``hourglass_pose``, JSON)
holds the :class:`ModelSpec`: architecture sizes, the heatmap codec's input size and sigma,
normalisation, the joint set and the training summary.  A checkpoint is untrusted input:
safetensors cannot run code, and pickled files go through ``torch.load(weights_only=True)``
only.  A file's format is told by its first bytes, never its name, and weights that are not
all finite numbers are refused at load.  Every failure is a :class:`CheckpointError` whose
message says what is wrong with which file, and what the file is when it is no checkpoint.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from app.filekinds import FOLDER, MISSING, not_a_file
from app.model.hourglass import StackedHourglass
from app.model.public_layouts import convert_public_checkpoint
from app.model.spec import CheckpointError, ModelSpec

METADATA_KEY = "hourglass_pose"


@dataclass
class LoadedModel:
    """A network in eval mode with the spec that explains it, and where it came from."""

    network: StackedHourglass
    spec: ModelSpec
    source: Path


def check_state_dict(network: StackedHourglass, state: dict[str, torch.Tensor]) -> None:
    """Raise a CheckpointError listing missing, unexpected and mis-shaped tensors."""
    expected = {k: v.shape for k, v in network.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{k}: file {tuple(state[k].shape)}, model {tuple(expected[k])}"
        for k in sorted(set(expected) & set(state))
        if tuple(state[k].shape) != tuple(expected[k])
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected),
                         ("wrong shape", mismatched)):
        if items:
            shown = ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
            problems.append(f"{len(items)} {label} ({shown})")
    if problems:
        raise CheckpointError(
            "its weights do not fit the architecture in its metadata: " + "; ".join(problems)
        )


def check_finite(state: dict[str, torch.Tensor]) -> None:
    """Raise a CheckpointError naming the tensors that hold NaN or infinite numbers: such a
    network answers NaN, which is no pose (and not JSON)."""
    broken = [k for k, v in state.items()
              if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        shown = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        raise CheckpointError(
            f"its weights hold NaN or infinite numbers in {len(broken)} tensor"
            f"{'s' * (len(broken) > 1)} ({shown}), so it cannot give a pose (did its training "
            "diverge? an earlier checkpoint of the run may be sound)")


def build_network(spec: ModelSpec, state: dict[str, torch.Tensor]) -> StackedHourglass:
    """A float32 network in eval mode holding ``state``, after checking every tensor.

    The check runs on a weightless ("meta") copy first, so metadata claiming absurd sizes
    cannot make us allocate them.
    """
    with torch.device("meta"):
        check_state_dict(StackedHourglass(spec.config), state)
    check_finite(state)
    network = StackedHourglass(spec.config)
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return network.eval()


def stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    """A tensor as a checkpoint keeps it: floats in half precision when ``half`` and every
    value fits it, else in single.  A BatchNorm's running variance passes half precision's
    largest number (65504) after long training (68,840 in the last stack of a 192 px run),
    and would be saved as infinity: a checkpoint that no longer loads."""
    if not tensor.is_floating_point():
        return tensor
    if half and bool((tensor.abs() <= torch.finfo(torch.float16).max).all()):
        return tensor.to(torch.float16)
    return tensor.to(torch.float32)


def save_checkpoint(
    path: str | Path, network: StackedHourglass, spec: ModelSpec, half: bool = True
) -> None:
    """Write weights (half precision by default: the shipped size) and the spec."""
    tensors = {k: stored(v.detach(), half).contiguous().cpu()
               for k, v in network.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(spec.to_dict())})


def read_spec(path: str | Path) -> ModelSpec:
    """The spec alone, from the safetensors header (cheap: no weights are read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error
    if METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file without Hourglass Pose metadata "
            "(it was not written by this app, or is for another architecture)"
        )
    try:
        data = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its metadata is not valid JSON ({error})") from error
    try:
        return ModelSpec.from_dict(data)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from error


def load_checkpoint(path: str | Path) -> LoadedModel:
    """Load our safetensors format or a public PyTorch layout, whichever ``path`` holds."""
    path = Path(path)
    what = not_a_file(path)
    if what == MISSING:
        raise CheckpointError(f"{path}: no such checkpoint file")
    if what == FOLDER:
        raise CheckpointError(f"{path}: is a folder; name the checkpoint file in it "
                              "(.safetensors, .pt or .pth)")
    if what is not None:  # a pipe or a device: reading it could wait forever
        raise CheckpointError(f"{path}: {what}, not a checkpoint file")
    if checkpoint_format(path) == "safetensors":
        spec = read_spec(path)
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{path}: its weights cannot be read ({error})") from error
    else:
        spec, state = convert_public_checkpoint(read_pickled_checkpoint(path), path)
    try:
        network = build_network(spec, state)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from error
    return LoadedModel(network, spec, path)


def load_model(path: str | Path | None = None) -> LoadedModel:
    """The given checkpoint, else the embedded default model."""
    from app.paths import default_checkpoint

    chosen = path or default_checkpoint()
    if chosen is None:
        raise CheckpointError("no checkpoint given, and this copy has no default model in models/")
    return load_checkpoint(chosen)


# torch.save's own formats: a zip archive (since PyTorch 1.6), or before that a pickle that
# starts with this magic number (pickle protocol 2, a 10-byte integer).
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
_PICKLE_PROTOCOLS = range(2, 6)
_SAFETENSORS_MAX_HEADER = 100 * 2**20  # safetensors' own limit
# Files people pick by mistake, by their first bytes.
_OTHER_FORMATS = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
    b"\x89HDF": "an HDF5 file (Keras or TensorFlow weights?)", b"\x1f\x8b": "a gzip archive",
}


def checkpoint_format(path: Path) -> str:
    """``safetensors``, ``zip`` (torch.save) or ``pickle`` (torch.save's legacy format), told
    by the file's first bytes; anything else is a CheckpointError saying what the file is."""
    try:
        with open(path, "rb") as file:
            head = file.read(512)
            size = file.seek(0, 2)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from error
    header_length = int.from_bytes(head[:8], "little")
    if len(head) > 8 and head[8:9] == b"{" and 2 <= header_length <= min(
            size - 8, _SAFETENSORS_MAX_HEADER):
        return "safetensors"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_LEGACY_TORCH_MAGIC):
        return "pickle"
    raise CheckpointError(f"{path}: {_what_else(head)}")


def _what_else(head: bytes) -> str:
    """What a file that is no checkpoint is, as far as its first bytes tell."""
    if not head:
        return "the file is empty, so it holds no checkpoint (EOFError)"
    if head[0] == 0x80 and len(head) > 1 and head[1] in _PICKLE_PROTOCOLS:
        return ("a plain Python pickle, not a PyTorch checkpoint (torch.save writes a zip "
                "archive); refused unread, since unpickling it could run code")
    for magic, name in _OTHER_FORMATS.items():
        if head.startswith(magic):
            return f"{name}, not a checkpoint"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # a character cut at the end of what was read is fine
        text = head[:error.start].decode("utf-8") if error.start > len(head) - 4 else ""
    if text.strip() and all(c.isprintable() or c.isspace() for c in text):
        first_line = text.strip().splitlines()[0]
        return f"a text file, not a checkpoint (it begins {first_line[:40]!r})"
    return ("not a checkpoint: its first bytes are none of safetensors, a PyTorch zip "
            "archive or a PyTorch pickle")


def read_pickled_checkpoint(path: Path) -> dict[str, Any]:
    """``torch.load`` restricted to tensors and plain containers: a pickle cannot run code."""
    try:
        # An open file, not a name: torch.load goes by the name's ending too.
        with warnings.catch_warnings(), open(path, "rb") as file:
            warnings.simplefilter("ignore")  # torch's advice on pickle versions: not the user's
            loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types here: pickle, zip, runtime errors
        raise CheckpointError(
            f"{path}: not a loadable PyTorch checkpoint, or it holds more than weights "
            f"(refused for safety) ({_load_failure(error)})"
        ) from error
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{path}: expected a dict of weights, found {type(loaded).__name__}")
    return loaded


def _load_failure(error: Exception) -> str:
    """Why torch.load refused, in one line for the user.

    The weights-only refusal is reworded: torch's own text is terminal-coloured and goes on to
    explain how to load the file unsafely, which is no advice for a file from anywhere.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    if isinstance(error, pickle.UnpicklingError) and "Weights only load failed" in text:
        return "it holds Python objects besides tensors, and loading those could run code"
    detail = next(iter(text.splitlines()), "")  # an empty file's EOFError has none
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
