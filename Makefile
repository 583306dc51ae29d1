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

# The one-folder app dist/hourglass-pose/ (build.spec says what it holds and leaves out), the
# archive users download, and a size report that fails past the limit (for the CPU build; a
# CUDA build is several GiB: `make package SIZE_LIMIT_MIB=6000`).
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
ARCHIVE := dist/hourglass-pose-$(VERSION)-linux-$(shell uname -m).tar.gz
SIZE_LIMIT_MIB ?= 800

package: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean build.spec
	tar -C dist -czf $(ARCHIVE) hourglass-pose
	$(PY) packaging/size_report.py dist/hourglass-pose --archive $(ARCHIVE) \
	    --limit-mib $(SIZE_LIMIT_MIB)

clean:
	rm -rf build dist $(VENV)

# Everything that needs a GPU, in one table: the CUDA tests, the self-test on CUDA, and the
# bench on CUDA at every stack count (fp16), also for a paper-size 8x256 network at 256 px.
# Without CUDA it says so and passes.
.PHONY: gpu-check
gpu-check: $(STAMP)
	$(PY) -m app.engine.gpu_check
