"""The architecture's picture, kept true by reading every module's imports.

Layers, lowest first: the project-wide helpers at the top of the package, ``pose`` (the
math), ``model`` (the network and how it runs), ``engine`` (frames to poses), then ``gui`` and
``train`` side by side, and the command line over everything.  A module imports only its own
layer and those below; the GUI and training never import each other; the GUI sees models only
through the engine, so it never imports torch or ``app.model``; nothing below the GUI imports
Qt.  Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "app"

BASE = 0
LAYERS = {"pose": 1, "model": 2, "engine": 3, "gui": 4, "train": 4, "cli": 5, "__main__": 5}
PEERS_APART = {("gui", "train"), ("train", "gui")}
# Third-party packages a layer must not reach for, and why: the math stays testable without
# a framework, the GUI without a tensor, and no worker thread can touch a widget.
FORBIDDEN = {
    "base": {"torch", "openvino", "PySide6"},
    "pose": {"torch", "openvino", "PySide6"},
    "model": {"PySide6"},
    "engine": {"PySide6"},
    "gui": {"torch", "openvino"},
    "train": {"PySide6"},
    "cli": set(),
    "__main__": set(),
}


def layer_of(module: str) -> str:
    """``app.engine.sources`` -> ``engine``; the package's own top-level helpers are ``base``."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS):
        return parts[1]
    return "base"


def rank(layer: str) -> int:
    return BASE if layer == "base" else LAYERS[layer]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(part for part in relative.parts if part != "__init__")


def imported_names(source: str, module: str) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, at the top or inside a
    function; relative imports made absolute."""
    package = module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def breaches(source: str, module: str) -> list[str]:
    """What ``module`` imports against the rules, each said in words."""
    own = layer_of(module)
    found = []
    for name in sorted(imported_names(source, module)):
        top = name.split(".")[0]
        if top == "app" and "." in name:
            other = layer_of(name)
            if rank(other) > rank(own) or (own, other) in PEERS_APART:
                found.append(f"{own} imports {name} ({other} is not below it)")
            elif own == "gui" and other == "model":
                found.append(f"gui imports {name}: the GUI reaches models through the engine")
        elif top in FORBIDDEN[own]:
            found.append(f"{own} imports {name}")
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_placed_in_a_layer() -> None:
    assert len(MODULES) > 40, PACKAGE
    for path in MODULES:
        assert layer_of(module_name(path)) in FORBIDDEN  # a new top folder needs a layer


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_keep_to_the_layers(path: Path) -> None:
    assert breaches(path.read_text(encoding="utf-8"), module_name(path)) == []


def test_the_rule_notices_each_kind_of_breach() -> None:
    """The check itself, on snippets: an import upwards (lazy, inside a function), between the
    GUI and training, from the GUI into the model layer, and of a forbidden framework."""
    upwards = "def f():\n    from app.engine.pipeline import PosePipeline\n"
    assert breaches(upwards, "app.model.hourglass") == [
        "model imports app.engine.pipeline (engine is not below it)"]
    assert breaches("import app.train.data\n", "app.gui.window") == [
        "gui imports app.train.data (train is not below it)"]
    assert breaches("from app.model import spec\n", "app.gui.worker") == [
        "gui imports app.model: the GUI reaches models through the engine"]
    assert breaches("from ..engine import pipeline\n", "app.model.hourglass") == [
        "model imports app.engine (engine is not below it)"]
    assert breaches("from .compose import ViewState\n", "app.gui.window") == []
    assert breaches("import torch.nn\n", "app.gui.compose") == ["gui imports torch.nn"]
    assert breaches("from PySide6.QtCore import Qt\n", "app.engine.sources") == [
        "engine imports PySide6.QtCore"]
    assert breaches("import numpy\nfrom app.pose.affine import CropBox\n",
                    "app.engine.pipeline") == []
