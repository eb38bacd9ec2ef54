#!/usr/bin/env bash
# Installs Debian's headless browser for the UI test (tests/e2e/test_local_airflow.py): the `chromium` and
# `chromium-driver` packages (/usr/bin/chromium, /usr/bin/chromedriver). Idempotent: a no-op when both are
# there. Run as root, or as a user that may use sudo.
#   bash scripts/setup_browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CHROMIUM="${CHROMIUM_BIN:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No $CHROMIUM or $CHROMEDRIVER, and no apt-get to install them: install Chromium and its" \
    "driver, and point CHROMIUM_BIN and CHROMEDRIVER_BIN at them." >&2
  exit 1
fi
SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo)
log "installing chromium and chromium-driver (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
"$CHROMIUM" --version
