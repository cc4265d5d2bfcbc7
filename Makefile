# chaser: `make run` for the whole thing on one machine, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE ?= $(HOME)/.cache/chaser

.PHONY: setup run test lint migrate clean record-histories freeze-histories

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(CACHE)/.temporal-ready: scripts/setup-temporal.sh tools/test-server/pom.xml
	CHASER_CACHE=$(CACHE) scripts/setup-temporal.sh
	touch $@

setup: $(VENV)/.installed $(CACHE)/.temporal-ready

migrate: setup
	$(BIN)/alembic upgrade head

run: setup
	CHASER_CACHE=$(CACHE) scripts/run.sh

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# Re-record tests/histories/ from real runs of every registered path (or HISTORY_PATHS=…).
record-histories: setup
	$(BIN)/python -m scripts.record_histories $(HISTORY_PATHS)

# Before a change made with workflow.patched(PATCH): keep today's recordings, never re-recorded.
freeze-histories: setup
	$(BIN)/python -m scripts.record_histories --freeze $(PATCH) $(HISTORY_PATHS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
