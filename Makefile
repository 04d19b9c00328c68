# Every target creates or reuses .venv and installs what it needs. torch is installed first, from the CPU build
# where no CUDA driver is present, and every later install is held to requirements/constraints.txt so that pip
# never swaps it for a CUDA build.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
CONSTRAINTS := -c requirements/constraints.txt
PYTEST_FLAGS ?=

.PHONY: install install-dev install-sim install-demo install-browser quickstart demo test test-all bench lint format clean

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

# Simulators: MuJoCo renders through EGL on Mesa's llvmpipe; SAPIEN (ManiSkill3) needs Mesa 25 lavapipe from the
# distribution's backports suite. Both scripts are idempotent and need root the first time.
$(VENV)/.installed-sim: $(VENV)/.installed-dev scripts/apt_install_missing.sh scripts/install_sim_deps.sh scripts/install_sim_deps_widowx.sh
	bash scripts/install_sim_deps.sh
	bash scripts/install_sim_deps_widowx.sh
	$(PIP) install --quiet $(CONSTRAINTS) -e '.[dev,sim]'
	touch $@

# The demo: gradio, on top of the simulators (its Action preview rolls policies out in them).
$(VENV)/.installed-demo: $(VENV)/.installed-sim
	$(PIP) install --quiet $(CONSTRAINTS) -e '.[dev,sim,demo]'
	touch $@

# The demo's browser test drives Debian's Chromium with Playwright (idempotent script; root the first time).
$(VENV)/.installed-browser: $(VENV)/.installed-demo scripts/install_browser_deps.sh
	bash scripts/install_browser_deps.sh
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-sim: $(VENV)/.installed-sim
install-demo: $(VENV)/.installed-demo
install-browser: $(VENV)/.installed-browser

quickstart: install-sim
	$(VENV)/bin/vlaser quickstart

demo: install-demo
	$(VENV)/bin/vlaser demo

test: install-browser
	$(PYTHON) -m pytest -m "not slow" $(PYTEST_FLAGS)

test-all: install-browser
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
