#!/usr/bin/env bash
# Validates docker-compose.yml with Docker Compose itself (`config --quiet`), which needs no
# Docker engine. Uses the Docker CLI's compose plugin when there is one; otherwise builds
# Compose from source with Go into the cache outside the repository (first time only).
set -euo pipefail

CACHE="${CHASER_CACHE:-$HOME/.cache/chaser}"
COMPOSE_VERSION="v2.29.7"
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  bin="$CACHE/bin/docker-compose"
  if [ ! -x "$bin" ] && ! command -v go >/dev/null 2>&1; then
    echo "no 'docker compose' and no Go to build it: cannot validate docker-compose.yml" >&2
    exit 1
  fi
  if [ ! -x "$bin" ]; then
    echo "building Docker Compose $COMPOSE_VERSION with Go (first time only)..."
    build="$(mktemp -d)"
    GOBIN="$build" GOFLAGS=-mod=mod go install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
    mkdir -p "$CACHE/bin"
    mv "$build/cmd" "$bin"
    rmdir "$build"
  fi
  compose=("$bin")
fi

"${compose[@]}" -f docker-compose.yml config --quiet
echo "docker-compose.yml: valid (${compose[*]} config)"
