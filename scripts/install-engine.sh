#!/usr/bin/env bash
# Makes the Pulumi engine available and prints, as its last line, the folder to put on PATH.
#   1. a suitable `pulumi` already on PATH (with pulumi-language-nodejs and the dynamic provider shim next to it);
#   2. the cached build in ${PULUMI_CLOUDIWAY_ENGINE_CACHE:-~/.cache/pulumi-cloudiway}/engine-v<version>/lang-<hash>
#      (the CLI from engine-v<version>/bin, our language host of this checkout's source);
#   3. a fresh build from Go modules (scripts/engine): the CLI from github.com/pulumi/pulumi/pkg/v3 at the
#      version of the installed @pulumi/pulumi, and our own language host (scripts/engine/langhost).
# Progress goes to stderr; only the folder goes to stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "install-engine: $*" >&2; }

version="$(cd "$root" && node -p "require('@pulumi/pulumi/package.json').version")"
want_mod="$(sed -n 's#^\s*github.com/pulumi/pulumi/pkg/v3 v\(.*\)$#\1#p' "$root/scripts/engine/go.mod" | head -1)"
if [ "$version" != "$want_mod" ]; then
  say "@pulumi/pulumi is $version but scripts/engine/go.mod builds pulumi $want_mod: update go.mod (go get github.com/pulumi/pulumi/pkg/v3@v$version)"
  exit 1
fi

write_shim() { # (re)written only when its text changes, through a rename
  local want='#!/bin/sh
exec node "$(node -p '"'"'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")'"'"')" "$@"'
  if [ "$(cat "$1/pulumi-resource-pulumi-nodejs" 2>/dev/null)" != "$want" ]; then
    printf '%s\n' "$want" > "$1/.shim.$$" && chmod +x "$1/.shim.$$" && mv -f "$1/.shim.$$" "$1/pulumi-resource-pulumi-nodejs"
  fi
}

# 1. already installed
if [ -z "${PULUMI_CLOUDIWAY_FORCE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  dir="$(dirname "$(command -v pulumi)")"
  have="$(pulumi version 2>/dev/null | sed 's/^v//' || true)"
  if [ -x "$dir/pulumi-language-nodejs" ] && [ -x "$dir/pulumi-resource-pulumi-nodejs" ] && [ "${have%%.*}" = "3" ]; then
    say "using pulumi $have on PATH"
    echo "$dir"
    exit 0
  fi
fi

cache="${PULUMI_CLOUDIWAY_ENGINE_CACHE:-$HOME/.cache/pulumi-cloudiway}"
# The CLI and the language host are built (and cached) apart: a change to our language host
# rebuilds it in seconds, not the CLI's several minutes. The CLI is in bin/; each version of the
# language host has a folder of its own, lang-<hash>/, which is the one put on PATH: it holds that
# language host, a hard link to the CLI and the shim. Checkouts with different language hosts
# (branches, worktrees) share the cache without rebuilding over each other's.
cli_dir="$cache/engine-v$version/bin"
cli_hash="$(cat "$root/scripts/engine/go.mod" | sha256sum | cut -c1-16)"
lang_hash="$(cat "$root/scripts/engine/go.mod" "$root/scripts/engine/langhost/"*.go | sha256sum | cut -c1-16)"
bin="$cache/engine-v$version/lang-$lang_hash"
cli_fresh() { [ -x "$cli_dir/pulumi" ] && [ "$(cat "$cli_dir/.source-cli" 2>/dev/null)" = "$cli_hash" ]; }
lang_fresh() { [ -x "$bin/pulumi-language-nodejs" ]; }
link_cli() { # bin/pulumi is the CLI of cli_dir (a hard link: the CLI finds its bundled plugins beside itself)
  if ! [ "$bin/pulumi" -ef "$cli_dir/pulumi" ]; then
    ln -f "$cli_dir/pulumi" "$bin/.pulumi.$$" 2>/dev/null || cp "$cli_dir/pulumi" "$bin/.pulumi.$$"
    mv -f "$bin/.pulumi.$$" "$bin/pulumi"
  fi
}
ready() { cli_fresh && lang_fresh && [ "$bin/pulumi" -ef "$cli_dir/pulumi" ]; }
if ready; then
  write_shim "$bin"
  say "using cached engine $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { say "Go is needed to build the Pulumi engine (no npm or Debian package ships it)"; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# another caller may have built it while we waited
if cli_fresh && lang_fresh; then mkdir -p "$bin"; link_cli; write_shim "$bin"; echo "$bin"; exit 0; fi

tmp="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
targets=()
cli_fresh || targets+=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
lang_fresh || targets+=(./langhost)
say "building ${targets[*]} (pulumi v$version; the CLI takes several minutes the first time)..."
(
  cd "$root/scripts/engine"
  export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
  go build -tags osusergo \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    -o "$tmp/" "${targets[@]}"
) >&2
mkdir -p "$cli_dir" "$bin"
# Each binary is renamed into place (atomic), the CLI's marker written after it: an interrupted
# build never leaves a binary that claims to be fresh.
if [ -x "$tmp/pulumi" ]; then mv -f "$tmp/pulumi" "$cli_dir/pulumi"; echo "$cli_hash" > "$cli_dir/.source-cli"; fi
if [ -x "$tmp/langhost" ]; then mv -f "$tmp/langhost" "$bin/pulumi-language-nodejs"; fi
link_cli
write_shim "$bin"
rm -rf "$tmp"
trap - EXIT
say "engine ready in $bin"
echo "$bin"
