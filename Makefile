# Every target sets up .venv on first use (standard venv + pip, pinned by constraints.txt).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: venv test lint train report bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

test: venv
	$(BIN)/python -m pytest -q $(ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

train: venv
	$(BIN)/mnistlab train --dataset fashion-mnist $(ARGS)

report: venv
	$(BIN)/mnistlab report $(ARGS)

bench: venv
	$(BIN)/mnistlab bench $(ARGS)

clean:
	rm -rf $(VENV) mnistlab-out .pytest_cache .ruff_cache
