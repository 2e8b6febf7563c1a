# Two commands do all the set-up on a fresh machine (python3, bash, make):
#   make demo   create .venv if missing with the package only, run a sample workflow locally
#   make test   create .venv if missing with the dev extras too, run the whole test suite
# Both install the versions CI passed with, from the committed locks in requirements/
# (`make lock` regenerates them; `make test-latest` tries the newest allowed versions instead).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK_RUNTIME := requirements/runtime.txt
LOCK_DEV := requirements/dev.txt
# The tool that writes the locks, pinned like everything else.
UV_VERSION := 0.13.9
PKG_STAMP := $(VENV)/.installed-pkg
DEV_STAMP := $(VENV)/.installed-dev
# Editable installs, without setuptools' "Editable installation" warning block (it warns about a
# layout this project does not have).
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install \
	--quiet --disable-pip-version-check
# -n auto: one worker per core; --dist worksteal: an idle worker takes queued tests from a busy
# one, so the long rehearsal tests started first do not all stay on one worker (tests must hold in
# any order); --durations: the slowest tests, to keep the suite in budget.
PYTEST := $(BIN)/python -m pytest -q -ra -n auto --dist worksteal --durations=25
# The fast tier: no moto server, no CDK synth, no rehearsal, no conformance or scale runs.
FAST := -m "not slow"

.PHONY: demo test test-fast test-latest lint lock env clean conformance bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The lock holds every package with its hashes, so --no-deps: pip installs exactly the lock.
$(PKG_STAMP): $(LOCK_RUNTIME) pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) --require-hashes --no-deps -r $(LOCK_RUNTIME)
	$(PIP_INSTALL) --no-deps -e .
	rm -f $(DEV_STAMP)
	touch $@

$(DEV_STAMP): $(LOCK_DEV) $(PKG_STAMP)
	$(PIP_INSTALL) --require-hashes --no-deps -r $(LOCK_DEV)
	touch $@

env: $(DEV_STAMP)

# --container host: the sample's tasks name no image (ubuntu:22.04 by default, from Docker Hub) and
# its `sum` uses the host's python3; `run` alone would use docker or podman where one answers.
demo: $(PKG_STAMP)
	cd sample_wdl/scatter_gather && ../../$(BIN)/wdl2sfn run scatter_gather.wdl -i inputs.json --dir ../../wdl2sfn_runs --container host

lint: $(DEV_STAMP)
	$(BIN)/ruff check wdl2sfn tests cdk_app bench
	$(BIN)/ruff format --check wdl2sfn tests cdk_app bench
	$(BIN)/mypy

test: lint
	$(PYTEST)

test-fast: $(DEV_STAMP)
	$(PYTEST) $(FAST)

# Drift on purpose: a throwaway venv with the newest versions pyproject.toml allows, fast tier.
LATEST_VENV ?= $(or $(TMPDIR),/tmp)/wdl2sfn-latest
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(LATEST_VENV)/bin/python -m pip list --format=freeze | grep -iE '^(moto|boto3|aws-cdk-lib|miniwdl)=='
	$(LATEST_VENV)/bin/python -m pytest -q -ra -n auto $(FAST)

# Regenerate both locks from pyproject.toml (newest allowed versions; hashes for every platform).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade -q -o $(LOCK_DEV)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes -c $(LOCK_DEV) -q -o $(LOCK_RUNTIME)

conformance: $(DEV_STAMP)
	$(BIN)/python -m pytest -q tests/conformance -ra

bench: $(DEV_STAMP)
	$(BIN)/python bench/local_overhead.py
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) wdl2sfn_runs .pytest_cache .mypy_cache .ruff_cache
