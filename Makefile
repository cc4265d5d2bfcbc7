# chaser: `make run` for the whole thing on one machine, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the Temporal CLI and the Java test server are kept, outside the repository.
# Exported: the tests and scripts look there too.
CHASER_CACHE ?= $(HOME)/.cache/chaser
export CHASER_CACHE

.PHONY: setup temporal run test lint migrate clean record-histories freeze-histories bench compose-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Checks the cached servers each time (a second when they are there), builds what is missing.
temporal:
	scripts/setup-temporal.sh

setup: $(VENV)/.installed temporal

migrate: setup
	$(BIN)/alembic upgrade head

run: setup
	scripts/run.sh

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# Re-record tests/histories/ from real runs of every registered path (or HISTORY_PATHS=…).
record-histories: setup
	$(BIN)/python -m scripts.record_histories $(HISTORY_PATHS)

# Before a change made with workflow.patched(PATCH): keep today's recordings, never re-recorded.
freeze-histories: setup
	$(BIN)/python -m scripts.record_histories --freeze $(PATCH) $(HISTORY_PATHS)

# Figures for the whole stack on this machine (BENCH_ARGS="--orders 1000 --concurrency 50").
bench: setup
	$(BIN)/python -m scripts.benchmark $(BENCH_ARGS)

# The real stack under kills, a Temporal restart and racing requests, then every invariant
# (CHAOS_ARGS="--orders 40 --kills 3 --database-url postgresql+psycopg://…"); exits 1 if one broke.
.PHONY: chaos
chaos: setup
	$(BIN)/python -m scripts.chaos $(CHAOS_ARGS)

# docker-compose.yml checked by Docker Compose itself (built with Go if the Docker CLI lacks it).
compose-config:
	scripts/check-compose.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
