#!/usr/bin/env bash
# The whole thing on one machine: Temporal's dev server (SQLite file, web UI),
# the worker and the API, with emails written to files. Ctrl-C stops all three;
# the next run resumes every open chase from data/.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL="${TEMPORAL_CLI:-.venv/bin/temporal}"
DATA="${DATA_DIR:-data}"
API_PORT="${API_PORT:-8000}"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
UI_PORT="${TEMPORAL_UI_PORT:-8233}"
export WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9464}"
export TEMPORAL_ADDRESS="localhost:$TEMPORAL_PORT"
export DATA_DIR="$DATA"
export DATABASE_URL="${DATABASE_URL:-sqlite+aiosqlite:///$DATA/chaser.db}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:$API_PORT}"
mkdir -p "$DATA/mail"

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  # TERM, not INT: a non-interactive shell starts its background jobs with SIGINT ignored.
  # API and worker first, so that the Temporal server outlives its clients.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap stop INT TERM EXIT

# WAL and synchronous=normal: the dev server's SQLite file takes starts and signals two to
# three times as fast (a crash of the machine may lose its last moments of history).
"$TEMPORAL" server start-dev --db-filename "$DATA/temporal.db" \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  --ui-port "$UI_PORT" --port "$TEMPORAL_PORT" --log-level warn &
pids+=($!)
until "$TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  sleep 0.5
done

# The chases' search attributes (OrderStatus, ChaseStage, ...): added once per namespace.
.venv/bin/chaser search-attributes register
.venv/bin/alembic upgrade head
.venv/bin/python worker.py &
pids+=($!)
.venv/bin/uvicorn --factory api.main:app_from_env --host 127.0.0.1 --port "$API_PORT" \
  --log-level warning &
pids+=($!)

cat <<INFO

  chaser is running.
    Temporal web UI  http://localhost:$UI_PORT
    API docs         http://localhost:$API_PORT/docs
    API metrics      http://localhost:$API_PORT/metrics
    worker metrics   http://localhost:$WORKER_METRICS_PORT/metrics
    managers' app    http://localhost:$API_PORT/app/
    mail folder      $DATA/mail/
  Ctrl-C stops everything; open chases resume on the next 'make run'.

INFO
wait
