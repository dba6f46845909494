# raccord — developer tasks. `make run` and `make test` set everything up on a fresh machine.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run test lint typecheck check bench clean

$(BIN)/raccord: pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "python 3.11 is needed (set PY=…)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/raccord

run: venv  ## serve the example territory (gateway, scheduler, workers) on SQLite
	$(BIN)/raccord --config instances.toml serve --host $(HOST) --port $(PORT)

test: venv  ## lint, type-check, then the whole test suite
	$(BIN)/ruff check framework connectors contrib tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadgroup

lint: venv
	$(BIN)/ruff check framework connectors contrib tests bench

typecheck: venv
	$(BIN)/mypy

check: venv
	$(BIN)/raccord --config instances.toml check

bench: venv  ## every benchmark; each writes its table under docs/benchmarks/
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	for b in check_territory csv_memory dispatch gateway outbound_overhead queue_throughput scheduler_spread serve_faults soap_memory startup; do \
	  $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
