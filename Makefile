# Two commands set everything up from nothing: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The CPU build of PyTorch; users with a GPU install their CUDA build into .venv first
# (see README) and this step keeps it.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test lint bench package clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hourglass-pose

test: lint
	$(PY) -m pytest

# Python style; the release workflow (.github/jactionlint.yaml says what it allows) with the
# shell scripts in it; CI's script.
lint: $(STAMP)
	$(VENV)/bin/ruff check app tests packaging assets
	$(VENV)/bin/jactionlint --shellcheck=$(VENV)/bin/shellcheck .github/workflows/*.yml
	$(VENV)/bin/shellcheck .ci/run

bench: $(STAMP)
	$(VENV)/bin/hourglass-pose bench

# The one-folder app dist/hourglass-pose/ (build.spec says what it holds and leaves out), the
# archive users download, and a size report that fails past the limit (for the CPU build; a
# CUDA build is several GiB: `make package SIZE_LIMIT_MIB=6000`).  packaging/build.py does it
# all, the same on every system (CI and the release workflow run it too).
SIZE_LIMIT_MIB ?= 800

package: $(STAMP)
	$(PY) packaging/build.py --limit-mib $(SIZE_LIMIT_MIB)

clean:
	rm -rf build dist $(VENV)

# Everything that needs a GPU, in one table: the CUDA tests, the self-test on CUDA, and the
# bench on CUDA at every stack count (fp16), also for a paper-size 8x256 network at 256 px.
# Without CUDA it says so and passes.
.PHONY: gpu-check gpu-data gpu-train gpu-finetune
gpu-check: $(STAMP)
	$(PY) -m app.engine.gpu_check

# Training on a lent GPU, in three steps (README, "Training on a GPU").  Here, first: the
# teacher's targets, and compact copies of both datasets with them, which travel with the
# working tree (the GPU machine cannot see ../shared and runs no TFLite).
GPU_DATA   := .cache/gpu
# The best recipe measured so far (CHANGELOG, issue 13); the GPU and the CPU fine-tune share it.
RECIPE     ?= --repeats 1 3 --augment scale=0.65,1.35
GPU_FLAGS  := --device cuda --batch-size 256 --lr 2e-3 --warmup-steps 100 --epochs 40 \
              --eval-every 200 --save-every 200

gpu-data: $(STAMP)
	$(PY) -m pip install -e ".[teacher]"
	$(VENV)/bin/hourglass-pose teach --data ../shared/datasets/lspet ../shared/datasets/lsp
	for set in lspet lsp; do \
	    $(VENV)/bin/hourglass-pose pack-data --data ../shared/datasets/$$set \
	        --out $(GPU_DATA)/$$set --box-pixels 112 --teacher .cache/teacher $(GPU_DATA)/teacher; \
	done
	du -sh $(GPU_DATA)

# On the GPU machine (its python3 holds PyTorch), carrying $(GPU_DATA): about 8 minutes of
# batch 256 from the shipped weights; the weights and log go to $(OUT) when it is set.
gpu-train:
	PYTHONPATH=. python3 -m app train $(GPU_FLAGS) --run runs/gpu --new-schedule \
	    --init models/hourglass-lsp.safetensors --data $(GPU_DATA)/lspet $(GPU_DATA)/lsp \
	    $(RECIPE)
	if [ -n "$(OUT)" ]; then cp runs/gpu/best.safetensors runs/gpu/log.jsonl "$(OUT)/"; fi

# Back here: the GPU's best weights (copied to runs/gpu/) fine-tuned on the original images.
gpu-finetune: $(STAMP)
	$(VENV)/bin/hourglass-pose train --run runs/gpu-finetune --new-schedule \
	    --init runs/gpu/best.safetensors --lr 3e-4 --epochs 6 $(RECIPE)
