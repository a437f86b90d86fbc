# Every target sets up .venv on first use (standard venv + pip, pinned by constraints.txt).
# Python 3.11, 3.12 or 3.13: `make venv PYTHON=python3.12` picks one.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
# Test processes (pytest-xdist): one per core; make test WORKERS=0 runs the suite in one process
WORKERS ?= auto
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: venv test test-kernels lint train report bench notebook clean

venv: $(VENV)/.installed

# The version is checked before pip runs (pip's own answer on 3.10 is a dependency conflict),
# a half-made environment is never reused (it is removed before and after a failed install),
# and the stamp is written last, only when everything installed.
$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
	  echo "mnistlab needs Python 3.11, 3.12 or 3.13, but PYTHON=$(PYTHON) is $$($(PYTHON) -V 2>&1 || echo missing); run: make venv PYTHON=python3.11 (or python3.12, python3.13)" >&2; \
	  exit 2; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev]' || { rm -rf $(VENV); \
	  echo "pip could not install mnistlab's environment (see above); the half-made $(VENV) is removed: fix the cause and run make again" >&2; \
	  exit 2; }
	$(BIN)/python -c 'import mnistlab'  # gives Keras a keras.json naming JAX, where it has none
	touch $@

test: venv
	$(BIN)/python -m pytest -q -n $(WORKERS) $(ARGS)

# The numerical tests once per OpenBLAS kernel the CPU can run (tools/test_kernels.sh): a test
# that asserts more than float32 promises fails on one of them. CI runs the plain `make test`.
KERNEL_TESTS ?= tests/models/test_numpy_forward.py tests/uncertainty/test_members.py tests/uncertainty/test_weight_dropout.py \
  tests/uncertainty/test_detectors.py tests/uncertainty/test_laplace.py tests/uncertainty/test_paired.py tests/uncertainty/test_metrics.py \
  tests/uncertainty/test_scores.py tests/uncertainty/test_conformal.py tests/studies/test_conformal_promise.py \
  tests/models/test_predict.py tests/data/test_shifts.py tests/uncertainty/test_abstention.py tests/uncertainty/test_odin.py \
  tests/models/test_layers.py tests/test_api.py tests/studies/test_shift_verdict.py tests/studies/test_replicates.py \
  tests/explore/test_explore.py tests/studies/test_seeds.py
test-kernels: venv
	tools/test_kernels.sh $(BIN)/python $(KERNEL_TESTS) $(ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

train: venv
	$(BIN)/mnistlab train --dataset fashion-mnist $(ARGS)

report: venv
	$(BIN)/mnistlab report $(ARGS)

bench: venv
	$(BIN)/mnistlab bench $(ARGS)

# The exercise notebook in JupyterLab, from the project's environment (JupyterLab is installed
# on first use: the `notebook` extra). ARGS go to `jupyter lab`, e.g. ARGS=--no-browser.
# As root (a container), Jupyter refuses to start without --allow-root: it is added there.
notebook: $(VENV)/.notebook
	$(BIN)/jupyter lab src/mnistlab/examples/exercise.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(ARGS)

$(VENV)/.notebook: $(VENV)/.installed
	$(PIP) -e '.[dev,notebook]'
	touch $@

clean:
	rm -rf $(VENV) mnistlab-out .pytest_cache .ruff_cache
