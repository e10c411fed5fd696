#!/usr/bin/env bash
# Makes Debian's Chromium available at /usr/bin/chromium for the browser tests
# (driven by playwright-core with executablePath /usr/bin/chromium). Installs the
# `chromium` package with apt-get when it is missing; fails, with apt's own error,
# when it cannot. Prints the browser's path as its last line.
#   CLOUDIWAY_CHROMIUM=/path/to/chromium   use another binary instead
set -euo pipefail
BIN="${CLOUDIWAY_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
if [ -n "${CLOUDIWAY_CHROMIUM:-}" ]; then
    echo "install-browser: CLOUDIWAY_CHROMIUM=$BIN is not an executable file" >&2; exit 1
fi
# One install at a time (parallel test runs would fight over dpkg's lock).
LOCK="${TMPDIR:-/tmp}/pulumi-cloudiway-install-browser.lock"
exec 9>"$LOCK"
flock 9
if [ ! -x "$BIN" ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
            echo "install-browser: $BIN is missing and installing it needs root (apt-get install -y chromium)" >&2; exit 1
        fi
    fi
    echo "install-browser: installing Debian's chromium package (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update >&2
    $SUDO apt-get install -y --no-install-recommends chromium >&2
fi
if [ ! -x "$BIN" ]; then echo "install-browser: apt-get finished but $BIN is still missing" >&2; exit 1; fi
echo "$BIN"
