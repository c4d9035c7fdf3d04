# cvtools: the two Quickstart commands are `make run` and `make test`; both set up .venv first.
# `make run` installs only the core (what the main job uses); `make test` adds every extra and the test tools.
# `make test-core` runs the suite in a separate core-only environment (.venv-core): no extra, only test tools.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-core
CORE_VENV ?= .venv-core
CORE_BIN := $(CORE_VENV)/bin
CORE_STAMP := $(CORE_VENV)/.installed
# The dev extra's tools that the suite itself runs on (pycocotools, notebooks: their tests skip, saying so).
TEST_TOOLS := "pytest>=8" "pytest-timeout>=2.2" "hypothesis>=6.100"
# Where torch comes from; e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU-only build on a
# machine whose package index only has the multi-GB CUDA build.
TORCH_INDEX ?=
# Editable installs put the clone on sys.path (a .pth file): the default mode's import hook would lose to a
# folder named cvtools/ (the clone itself) when Python runs in the folder that holds it.
EDITABLE := --config-settings editable_mode=compat

.PHONY: setup run test test-fast test-core bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: its CPU build is on local disk; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q $(EDITABLE) -e ".[all,dev]"
	touch $(STAMP) $(RUN_STAMP)

setup: $(STAMP)

# The main job needs the core only (the `face` detector is YuNet run by OpenCV).
$(RUN_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(EDITABLE) -e .
	touch $(RUN_STAMP)

# The main job on samples/: batch-process the sample folder, then detect faces in it.
run: $(RUN_STAMP)
	$(BIN)/cvtools batch samples/images out/batch --pipeline "resize:scale=0.5 | gaussian:sigma=1 | equalize"
	$(BIN)/cvtools detect samples/images --detector face --json -o out/detect > out/faces.jsonl
	@echo "outputs in out/: batch/ (processed images), detect/ (annotated), faces.jsonl"

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

$(CORE_STAMP): pyproject.toml
	$(PY) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install -q --upgrade pip
	$(CORE_BIN)/python -m pip install -q $(EDITABLE) -e . $(TEST_TOOLS)
	touch $(CORE_STAMP)

# The suite in a core-only install: tests that need an extra skip, naming it; everything else must pass.
test-core: $(CORE_STAMP)
	@$(CORE_BIN)/python -c "from cvtools._shared import EXTRAS, is_available; \
	  extra = sorted(m for m in EXTRAS if is_available(m)); \
	  assert not extra, f'$(CORE_VENV) must hold no optional backend; found {extra}'"
	$(CORE_BIN)/python -m pytest

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf out .pytest_cache
