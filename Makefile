# Two commands do all the set-up on a fresh machine (python3, bash, make):
#   make demo   create .venv if missing, run a sample workflow locally through `wdl2sfn run`
#   make test   create .venv if missing, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint env clean conformance bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	cd sample_wdl/scatter_gather && ../../$(BIN)/wdl2sfn run scatter_gather.wdl -i inputs.json --dir ../../wdl2sfn_runs

test: $(STAMP)
	$(BIN)/ruff check wdl2sfn tests cdk_app bench
	$(BIN)/ruff format --check wdl2sfn tests cdk_app bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

conformance: $(STAMP)
	$(BIN)/python -m pytest -q tests/conformance -ra

bench: $(STAMP)
	$(BIN)/python bench/local_overhead.py
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) wdl2sfn_runs .pytest_cache .mypy_cache .ruff_cache
