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

test: $(STAMP)
	$(VENV)/bin/ruff check app tests
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests

bench: $(STAMP)
	$(VENV)/bin/hourglass-pose bench

package: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean build.spec

clean:
	rm -rf build dist $(VENV)
