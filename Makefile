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
.PHONY: gpu-check
gpu-check: $(STAMP)
	$(PY) -m app.engine.gpu_check
