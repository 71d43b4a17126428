# medallion: `make run` sets up, starts the embedded stack and runs the whole pipeline;
# `make test` sets up and runs the test suite. `make help` lists every target.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MEDALLION := $(BIN)/medallion
SCALE ?= 0.1
DAYS ?= 3
SEED ?= 42
DATA ?= data/olist-sf$(SCALE)-d$(DAYS)-s$(SEED)
PYTEST_ARGS ?=
# make test's pytest-xdist workers: the local cluster's tests on one, the embedded stack's modules on
# the other (tests/conftest.py groups them); 0 runs everything in the one pytest process
TEST_WORKERS ?= 2
PY_DIRS := $(wildcard src tests spark-apps scripts)

##@ Help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"' \
	  || { echo "error: Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

##@ Embedded stack

.PHONY: venv
venv: $(BIN)/.installed ## Create .venv with the pinned dependencies

.PHONY: setup
setup: venv ## Install everything: the venv, then the engines and the chart tools into the cache (idempotent)
	$(MEDALLION) setup
	$(MEDALLION) k8s tools

.PHONY: up
up: setup ## Start the embedded stack
	$(MEDALLION) stack up

.PHONY: down
down: ## Stop the embedded stack
	$(MEDALLION) stack down

.PHONY: status
status: ## Show the embedded stack's components
	$(MEDALLION) stack status

.PHONY: run
run: up ## Set up, start the stack, generate and load data, run all layers, show the result
	$(MEDALLION) demo --scale $(SCALE) --days $(DAYS) --seed $(SEED) --data $(DATA)

##@ Quality and tests

.PHONY: lint
lint: venv sqlfluff ## ruff: lint and format check, sqlfluff on dbt/ (hadolint runs in tests/k8s)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

.PHONY: sqlfluff
sqlfluff: venv ## sqlfluff: lint the dbt project's SQL (dbt/.sqlfluff)
	cd dbt && $(abspath $(BIN))/sqlfluff lint . --processes 2

.PHONY: typecheck
typecheck: venv ## mypy --strict
	$(BIN)/mypy $(PY_DIRS)

.PHONY: fmt
fmt: venv ## Format the Python code
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

.PHONY: test-unit
test-unit: venv ## Unit tests (no services)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

.PHONY: test
test: setup lint typecheck cluster-prereqs ## Install everything and run the whole test suite, the local cluster's included (what CI runs)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=30 $(PYTEST_ARGS)

.PHONY: bench
bench: setup ## Benchmarks: scale curve, incremental share, DuckDB floor; writes bench/results/ (bench/README.md)
	$(BIN)/python scripts/bench.py

include scripts/k8s.mk
include scripts/cluster.mk

##@ Housekeeping

.PHONY: clean
clean: ## Remove the venv, caches of the tools and generated data (not the engine cache)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dbt/target dbt/logs data reports
