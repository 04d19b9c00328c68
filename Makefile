# Every target creates or reuses .venv and installs what it needs. torch is installed first, from the CPU build
# where no CUDA driver is present, and every later install is held to requirements/constraints.txt so that pip
# never swaps it for a CUDA build.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
CONSTRAINTS := -c requirements/constraints.txt
PYTEST_FLAGS ?=

.PHONY: install install-dev quickstart test test-all bench lint format clean

$(PYTHON):
	python3 -m venv $(VENV)

$(VENV)/.torch: | $(PYTHON)
	$(PIP) install --quiet torch==2.13.0 $(CONSTRAINTS)
	touch $@

$(VENV)/.installed: setup.cfg pyproject.toml requirements/constraints.txt $(VENV)/.torch
	$(PIP) install --quiet $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet $(CONSTRAINTS) -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

quickstart: install
	$(VENV)/bin/vlaser quickstart

test: install-dev
	$(PYTHON) -m pytest -m "not slow" $(PYTEST_FLAGS)

test-all: install-dev
	$(PYTHON) -m pytest $(PYTEST_FLAGS)

bench: install
	$(PYTHON) eval/perf/bench_inference.py --preset tiny

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
