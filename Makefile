# One place for every developer and CI command. Everything installs from the committed locks in
# requirements/ (Airflow's constraints URL is unreachable from our machines).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
PACKAGING_VERSION := 26.3
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
# scripts/floor_pins.py parses pyproject's requirements with packaging (in the tools venv, beside uv).
PACKAGING := $(TOOLS)/.packaging-$(PACKAGING_VERSION)
VENV := .venv
VENV_FLOOR := .venv-3.1
VENV_LOWEST := .venv-lowest
PY := $(VENV)/bin/python
PY_FLOOR := $(VENV_FLOOR)/bin/python
PY_LOWEST := $(VENV_LOWEST)/bin/python
# Python versions tested besides the default 3.11, each on Airflow 3.3.2 with its own lock
# (requirements/airflow-3.3-pyX.Y.txt, same versions as the 3.11 lock where they exist) and its own venv
# (.venv-pyX.Y): `make test-py3.12`, `make test-py3.13`. The interpreters come from the machine image's pyenv
# (3.12.1 and 3.13.0 beside 3.11.7): uv's own CPython download is on GitHub, which our machines cannot
# reach, and Debian bookworm packages only 3.11.
EXTRA_PYTHONS := 3.12 3.13
# The interpreter for X.Y: PYTHON_X.Y if set (make test-py3.12 PYTHON_3.12=/path/to/python3.12), else
# the newest X.Y.* under pyenv's root (no pyenv command or shim needed), else pythonX.Y on PATH.
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
python_for = $(or $(PYTHON_$(1)),$(lastword $(wildcard $(PYENV_VERSIONS)/$(1).*/bin/python$(1))),python$(1))
# Pinned to their floors besides the runtime dependencies (user-facing promises, unlike the test tools).
FLOOR_EXTRAS := --extra s3
# The suites the floors job runs: everything but e2e (real Airflow processes, minutes; the two other
# environments run it). Conformance is cheap (the official SDK against the emulator) and kept.
LOWEST_SUITES := tests/unit tests/integration tests/emulator tests/plugin tests/conformance tests/examples
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
# Tests must never reach the real service nor be slowed down by pip's version check.
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help env env-floor env-lowest test test-floor test-lowest test-pythons lint docs docs-images docs-images-smoke demo airflow bench bench-smoke lock clean emulator \
	e2e-celery e2e-celery-deps

help:
	@echo "make demo       build the environment, start the emulator, run one edit end to end and show"
	@echo "                its remote task id, status changes and the PNG it wrote as they happen"
	@echo "make airflow    local Airflow (UI on :8080, no login) + emulator, example DAGs loaded, the"
	@echo "                connection in the DB (testable in the UI); Ctrl-C stops all"
	@echo "make test       build the environment, lint, run the whole suite (Airflow 3.3.2)"
	@echo "make test-floor run the suite on the Airflow 3.1 floor (second environment)"
	@echo "make test-lowest every direct dependency at its declared floor (Airflow 3.1.0): unit,"
	@echo "                integration, emulator, plugin, conformance and example suites"
	@echo "make test-py3.12, test-py3.13  the suite on Airflow 3.3.2 under that Python (test-pythons: both)"
	@echo "make lint       ruff + mypy"
	@echo "make docs       build the Sphinx docs (warnings are errors)"
	@echo "make docs-images redraw the docs' pictures: the gallery (from the emulator) and the diagrams"
	@echo "make bench      run every benchmark (~70 min on 2 cores, 50 of them the batch runs on Airflow): benchmarks/results.md, .json, plots"
	@echo "make bench-smoke every benchmark end to end with tiny N, one repeat (CI; no timing asserts)"
	@echo "make e2e-celery the production topology under faults: CeleryExecutor, PostgreSQL, Redis, two"
	@echo "                workers, two triggerers, 20 % injected faults (installs PostgreSQL and Redis)"
	@echo "make lock       regenerate requirements/airflow-*.txt and floors.txt from pyproject.toml"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

$(PACKAGING): | $(UV)
	$(TOOLS)/bin/pip install -q packaging==$(PACKAGING_VERSION)
	touch $@

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

# Every direct dependency pinned to the floor pyproject.toml declares (requirements/floors.txt).
$(VENV_LOWEST)/.installed: requirements/floors.txt pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV_LOWEST)
	$(UV) pip sync -q --compile-bytecode --python $(PY_LOWEST) requirements/floors.txt
	$(UV) pip install -q --compile-bytecode --no-deps --python $(PY_LOWEST) -e .
	touch $@

# .venv-py3.12/.installed, .venv-py3.13/.installed: the same environment as .venv under another Python.
$(VENV)-py%/.installed: requirements/airflow-3.3-py%.txt pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(call python_for,$*) $(VENV)-py$*
	$(UV) pip sync -q --compile-bytecode --python $(VENV)-py$*/bin/python requirements/airflow-3.3-py$*.txt
	$(UV) pip install -q --compile-bytecode --no-deps --python $(VENV)-py$*/bin/python -e .
	touch $@

env: $(VENV)/.installed
env-floor: $(VENV_FLOOR)/.installed
env-lowest: $(VENV_LOWEST)/.installed

LINT_PATHS := $(wildcard airflow_provider_wanxiang tests dags benchmarks scripts)

lint: env
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy

# tests/e2e_celery needs PostgreSQL and Redis and has its own target (make e2e-celery).
# The suites spend most of their time waiting (emulated edits, Airflow processes starting, deadlines), not
# computing: three pytest-xdist workers, a test file each at a time (every worker has its own AIRFLOW_HOME,
# DB and servers; tests/conftest.py), halve the wall time on 2 cores. PYTEST_WORKERS=0 runs them serially.
PYTEST_WORKERS ?= 3
PYTEST := -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

test: lint
	$(PY) $(PYTEST) --ignore=tests/e2e_celery

test-floor: env-floor
	$(PY_FLOOR) $(PYTEST) --ignore=tests/e2e_celery

test-py%: $(VENV)-py%/.installed
	$(VENV)-py$*/bin/python $(PYTEST) --ignore=tests/e2e_celery

test-pythons: $(addprefix test-py,$(EXTRA_PYTHONS))

# A floor declared too low fails here (an ImportError, a missing keyword...), not at a user's install.
test-lowest: env-lowest
	$(PY_LOWEST) scripts/floor_pins.py $(FLOOR_EXTRAS) --check
	$(PY_LOWEST) $(PYTEST) $(LOWEST_SUITES)

docs: env
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# docs/_static/gallery/*.png (the gallery's before/after pictures, made by the emulator through the client)
# and docs/_static/{waiting,batch-slots}.png (timing diagrams, matplotlib from the bench extra); committed.
docs-images: env
	$(PY) scripts/docs_images.py
	$(PY) scripts/docs_diagrams.py

# CI: both scripts still run, into a temporary folder (the committed pictures are left alone);
# tests/integration/test_docs_images.py compares the gallery with what its script makes.
docs-images-smoke: env
	tmp=$$(mktemp -d) && $(PY) scripts/docs_images.py --out $$tmp/gallery && \
	  $(PY) scripts/docs_diagrams.py --out $$tmp && rm -rf $$tmp

demo: env
	$(PY) scripts/demo.py

airflow: env
	$(PY) scripts/airflow_stack.py

emulator: env
	$(VENV)/bin/wanxiang-emulator --task-seconds 5

# Writes benchmarks/results.md, results.json and benchmarks/plots/*.png (docs/benchmarks.md shows them).
bench: env
	$(PY) benchmarks/run.py

# Every benchmark end to end with tiny N into a temporary directory: fails only if one produced no figures.
bench-smoke: env
	$(PY) benchmarks/run.py --smoke

# PostgreSQL and Redis from Debian's packages for tests/e2e_celery (CI runs as root on a fresh machine).
# Idempotent: nothing is installed when both servers are already there. The servers are not started here
# (the test fixture starts its own on loopback ports, data in a temporary directory, PostgreSQL as the
# unprivileged user `nobody` since it refuses to run as root).
PG_BINDIR = $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))
e2e-celery-deps:
	@if [ -x "$(PG_BINDIR)/initdb" ] && command -v redis-server >/dev/null; then \
	  echo "PostgreSQL ($(PG_BINDIR)) and redis-server already installed"; \
	else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server; \
	fi

# The Celery topology under faults (tests/e2e_celery: the mapped and the batch campaign, each on its own
# deployment, ~6 min on 2 cores). -s: the run's figures (the
# CAMPAIGN lines docs/reliability.md quotes) are printed.
e2e-celery: env e2e-celery-deps
	$(PY) -m pytest -q -s -p no:cacheprovider tests/e2e_celery

# Compiles over the existing locks (no --upgrade): versions already pinned stay unless pyproject forces a
# change. floors.txt: the runtime dependencies and the s3 extra pinned ==floor (floor-pins.txt, generated
# from pyproject.toml) on Airflow 3.1.0 with its compatibility pins, plus the test extra.
lock: $(UV) $(PACKAGING)
	$(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	  --extra test --extra lint --extra docs --extra bench -c requirements/pin-3.3.txt -o requirements/airflow-3.3.txt
	$(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	  --extra test --extra lint --extra docs -c requirements/pin-3.1.txt -o requirements/airflow-3.1.txt
	$(TOOLS)/bin/python scripts/floor_pins.py $(FLOOR_EXTRAS) -o requirements/floor-pins.txt
	$(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	  --extra test -c requirements/pin-3.1.txt -c requirements/floor-pins.txt -o requirements/floors.txt
	for v in $(EXTRA_PYTHONS); do \
	  $(UV) pip compile -q --python-version $$v --python-platform x86_64-unknown-linux-gnu pyproject.toml \
	    --extra test -c requirements/pin-3.3.txt -c requirements/airflow-3.3.txt \
	    -o requirements/airflow-3.3-py$$v.txt || exit 1; \
	done

clean:
	rm -rf $(VENV) $(VENV_FLOOR) $(VENV_LOWEST) $(addprefix $(VENV)-py,$(EXTRA_PYTHONS)) $(TOOLS) .cache .mypy_cache .ruff_cache
