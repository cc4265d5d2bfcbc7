#!/usr/bin/env bash
# Installs the two Temporal servers the project runs, into a cache outside the
# repository, reusing what is already there:
#   - the Temporal CLI (dev server + web UI), built from source with Go;
#   - Temporal's Java time-skipping test server, fetched from Maven Central,
#     with an executable wrapper that the Python SDK starts as `<exe> <port>`.
# With neither Go nor TEMPORAL_CLI, tests fall back to the SDK's own download.
set -euo pipefail

CACHE="${CHASER_CACHE:-$HOME/.cache/chaser}"
CLI_VERSION="v1.5.1"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$CACHE/bin"

cli="$CACHE/bin/temporal"
if [ -n "${TEMPORAL_CLI:-}" ]; then
  echo "temporal CLI: $TEMPORAL_CLI (from TEMPORAL_CLI)"
elif [ -x "$cli" ]; then
  echo "temporal CLI: $cli (cached)"
elif command -v go >/dev/null 2>&1; then
  echo "building the temporal CLI $CLI_VERSION with Go (first time only, a few minutes)..."
  GOBIN="$CACHE/bin" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$CLI_VERSION"
  echo "temporal CLI: $cli"
else
  echo "no Go and no TEMPORAL_CLI: the SDK will download its dev server" >&2
fi

lib="$CACHE/test-server/lib"
wrapper="$CACHE/bin/temporal-test-server"
if [ -x "$wrapper" ] && ls "$lib"/temporal-test-server-*.jar >/dev/null 2>&1; then
  echo "time-skipping test server: $wrapper (cached)"
elif command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
  echo "fetching Temporal's Java test server from Maven Central..."
  (cd "$ROOT/tools/test-server" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$lib")
  # `exec` so that the SDK's SIGKILL on shutdown reaches the JVM itself.
  cat > "$wrapper" <<WRAP
#!/bin/sh
exec java -XX:+UseSerialGC -Xss512k -cp "$lib/*" io.temporal.testserver.TestServer "\$@"
WRAP
  chmod +x "$wrapper"
  echo "time-skipping test server: $wrapper"
else
  echo "no Maven/Java: the SDK will download its time-skipping test server" >&2
fi
