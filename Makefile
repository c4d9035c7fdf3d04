# cvtools: the two Quickstart commands are `make run` and `make test`; both set everything up first.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: its CPU build is on local disk; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

setup: $(STAMP)

# The main job on samples/: batch-process the sample folder, then detect faces in it.
run: setup
	$(BIN)/cvtools batch samples/images out/batch --pipeline "resize:scale=0.5 | gaussian:sigma=1 | equalize"
	$(BIN)/cvtools detect samples/images --detector face --json out/faces.jsonl --annotate out/detect
	@echo "outputs in out/: batch/ (processed images), detect/ (annotated), faces.jsonl"

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf out .pytest_cache
