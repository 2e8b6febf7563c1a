# Two commands do all the set-up on a fresh machine (python3, bash, make):
#   make demo   create .venv if missing with the package only, run a sample workflow locally
#   make test   create .venv if missing with the dev extras too, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `make demo` needs only the package (and its runtime dependencies); `make test` adds the dev
# extras (CDK, moto, linters). Editable installs, without setuptools' "Editable installation"
# warning block (it warns about a layout this project does not have).
PKG_STAMP := $(VENV)/.installed-pkg
DEV_STAMP := $(VENV)/.installed-dev
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install \
	--quiet --disable-pip-version-check

.PHONY: demo test lint env clean conformance bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PKG_STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(PKG_STAMP)
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

env: $(DEV_STAMP)

demo: $(PKG_STAMP)
	cd sample_wdl/scatter_gather && ../../$(BIN)/wdl2sfn run scatter_gather.wdl -i inputs.json --dir ../../wdl2sfn_runs

test: $(DEV_STAMP)
	$(BIN)/ruff check wdl2sfn tests cdk_app bench
	$(BIN)/ruff format --check wdl2sfn tests cdk_app bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

conformance: $(DEV_STAMP)
	$(BIN)/python -m pytest -q tests/conformance -ra

bench: $(DEV_STAMP)
	$(BIN)/python bench/local_overhead.py
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) wdl2sfn_runs .pytest_cache .mypy_cache .ruff_cache
