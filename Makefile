# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,backend,bench,research
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

## System packages that integration tests run as real servers (mosquitto, postgresql, redis).
system-deps:
	bash scripts/ensure-system-packages.sh

run: $(STAMP)
	$(BIN)/edgeqi run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: $(STAMP) system-deps lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m experiments.bench_sim

clean:
	rm -rf $(VENV) outputs multirun .mypy_cache .ruff_cache .pytest_cache
