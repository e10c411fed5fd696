#!/usr/bin/env bash
# Makes actionlint (the GitHub Actions workflow checker) available and prints its path as the last
# line of stdout. Built from Go modules (github.com/rhysd/actionlint, like the engine: no prebuilt
# binary is downloaded) into ${PULUMI_CLOUDIWAY_ENGINE_CACHE:-~/.cache/pulumi-cloudiway}/actionlint-v<version>/,
# and reused from there. Progress goes to stderr.
set -euo pipefail
version="${ACTIONLINT_VERSION:-1.7.12}"
say() { echo "install-actionlint: $*" >&2; }

cache="${PULUMI_CLOUDIWAY_ENGINE_CACHE:-$HOME/.cache/pulumi-cloudiway}"
dir="$cache/actionlint-v$version"
if [ -x "$dir/actionlint" ]; then
  say "using cached $dir/actionlint"
  echo "$dir/actionlint"
  exit 0
fi

command -v go >/dev/null 2>&1 || { say "Go is needed to build actionlint"; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock-actionlint"
flock 9
# another caller may have built it while we waited
if [ -x "$dir/actionlint" ]; then echo "$dir/actionlint"; exit 0; fi

tmp="$(mktemp -d "$cache/actionlint-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
say "building github.com/rhysd/actionlint v$version..."
# GOSUMDB=off: the checksum database is not reachable here (as for the engine, scripts/engine/README.md).
GOBIN="$tmp" GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
  go install "github.com/rhysd/actionlint/cmd/actionlint@v$version" >&2
# Renamed into place: an interrupted build never leaves a binary behind.
mkdir -p "$dir"
mv -f "$tmp/actionlint" "$dir/actionlint"
say "actionlint ready: $dir/actionlint"
echo "$dir/actionlint"
