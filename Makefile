# Every target sets up what it needs: `.venv` is created and the package installed on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= ccstats.duckdb
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck bench bench-quick demo clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## demo data on first run, then serve on $(HOST):$(PORT)
	test -f $(DB) || $(BIN)/ccstats demo --db $(DB) || (rm -f $(DB) $(DB).wal; exit 1)
	$(BIN)/ccstats serve --db $(DB) --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/ccstats demo --db $(DB)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## DuckDB alone at 100k, 1M, 10M; then both engines side by side at 1M and 10M
	$(BIN)/python -m bench.run --sizes 100000,1000000,10000000 --layout compact
	$(BIN)/python -m bench.engines --sizes 1000000,10000000

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --sizes 20000,100000 --quick

clean:
	rm -rf $(VENV) *.egg-info src/*.egg-info
