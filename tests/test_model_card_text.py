"""The About-the-model accuracy line, from what a checkpoint says of itself."""

from __future__ import annotations

from app.gui.model_card import accuracy_text


def test_weights_measured_on_several_slices_name_each_judge_first():
    training = {"validation_pck": 82.75, "validation_per_stack": [67.7, 78.9, 81.7, 82.75],
                "judge": "lsp", "validation_slices": {"lspet": 66.48, "lsp": 82.75}}
    assert accuracy_text(training) == ("PCK@0.2 on held-out images: lsp 82.8%, lspet 66.5% "
                                       "(per stack on lsp: 67.7 / 78.9 / 81.7 / 82.8)")


def test_weights_measured_on_one_dataset_name_it():
    training = {"validation_pck": 68.55, "validation_per_stack": [57.6, 68.55],
                "dataset": "LSPet (../shared/datasets/lspet), 500 images held out"}
    assert accuracy_text(training) == ("PCK@0.2 68.5% on LSPet (../shared/datasets/lspet), 500 "
                                       "images held out (per stack: 57.6 / 68.5)")
