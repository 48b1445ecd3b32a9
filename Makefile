# The two commands a new user needs: `make run` and `make test`.
# Both create .venv and install on first use; nothing else is needed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit system-deps benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

# Serves the dashboard at http://127.0.0.1:8050 on the embedded SQLite store
# (knelpunt.db), recording the demo year first when the store is empty.
run: $(STAMP)
	$(BIN)/knelpunt-dashboard --demo

# Installs the system packages the tests need (PostgreSQL), then lints,
# type-checks and runs the whole suite.
test: $(STAMP) system-deps lint typecheck unit

system-deps:
	bash scripts/setup-system.sh

lint: $(STAMP)
	$(BIN)/ruff check knelpunt tests benchmarks dashboards notebooks
	$(BIN)/ruff format --check knelpunt tests benchmarks dashboards notebooks

typecheck: $(STAMP)
	$(BIN)/mypy knelpunt dashboards

# The slowest tests are listed at the end, to keep CI within its 30 minutes.
unit: $(STAMP)
	$(BIN)/pytest --durations=30

# The benchmarks also need the bench extra.
benchmark: $(STAMP) system-deps
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
