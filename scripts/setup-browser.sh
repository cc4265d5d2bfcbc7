#!/usr/bin/env bash
# Installs Chromium from Debian's packages for the browser tests (tests/web/), as .ci/run does
# for PostgreSQL: the tests drive /usr/bin/chromium with Playwright and never download a browser.
# Needs root (apt-get); a machine that already has Chromium skips it in a second.
set -euo pipefail

CHROMIUM="${CHASER_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing and apt-get needs root: run 'sudo $0'" >&2
  exit 1
fi
echo "installing chromium from Debian's packages (first time only)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $CHROMIUM"
