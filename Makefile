# One place for every developer and CI command. Everything installs from the committed locks in
# requirements/ (Airflow's constraints URL is unreachable from our machines).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
VENV := .venv
VENV_FLOOR := .venv-3.1
PY := $(VENV)/bin/python
PY_FLOOR := $(VENV_FLOOR)/bin/python
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
# Tests must never reach the real service nor be slowed down by pip's version check.
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help env env-floor test test-floor lint docs demo airflow bench lock clean emulator

help:
	@echo "make demo       build the environment, start the emulator, run one edit end to end"
	@echo "make airflow    local Airflow (UI on :8080) + emulator, example DAGs loaded; Ctrl-C stops all"
	@echo "make test       build the environment, lint, run the whole suite (Airflow 3.3.2)"
	@echo "make test-floor run the suite on the Airflow 3.1 floor (second environment)"
	@echo "make lint       ruff + mypy"
	@echo "make docs       build the Sphinx docs (warnings are errors)"
	@echo "make lock       regenerate requirements/airflow-*.txt from pyproject.toml"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

# The venv is rebuilt whenever the lock or the project metadata changes.
$(VENV)/.installed: requirements/airflow-3.3.txt pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync -q --compile-bytecode --python $(PY) requirements/airflow-3.3.txt
	$(UV) pip install -q --compile-bytecode --no-deps --python $(PY) -e .
	touch $@

$(VENV_FLOOR)/.installed: requirements/airflow-3.1.txt pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV_FLOOR)
	$(UV) pip sync -q --compile-bytecode --python $(PY_FLOOR) requirements/airflow-3.1.txt
	$(UV) pip install -q --compile-bytecode --no-deps --python $(PY_FLOOR) -e .
	touch $@

env: $(VENV)/.installed
env-floor: $(VENV_FLOOR)/.installed

LINT_PATHS := $(wildcard airflow_provider_wanxiang tests dags benchmarks scripts)

lint: env
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q -p no:cacheprovider

test-floor: env-floor
	$(PY_FLOOR) -m pytest -q -p no:cacheprovider

docs: env
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

demo: env
	$(PY) scripts/demo.py

airflow: env
	$(PY) scripts/airflow_stack.py

emulator: env
	$(VENV)/bin/wanxiang-emulator --task-seconds 5

bench: env
	$(PY) benchmarks/run.py

lock: $(UV)
	$(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	  --extra test --extra lint --extra docs -c requirements/pin-3.3.txt -o requirements/airflow-3.3.txt
	$(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	  --extra test --extra lint --extra docs -c requirements/pin-3.1.txt -o requirements/airflow-3.1.txt

clean:
	rm -rf $(VENV) $(VENV_FLOOR) $(TOOLS) .cache .mypy_cache .ruff_cache
