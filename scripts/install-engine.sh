#!/usr/bin/env bash
# Makes the Pulumi engine available and prints, as its last line, the folder to put on PATH.
#   1. a suitable `pulumi` already on PATH (with pulumi-language-nodejs and the dynamic provider shim next to it);
#   2. the cached build in ${PULUMI_CLOUDIWAY_ENGINE_CACHE:-~/.cache/pulumi-cloudiway}/engine-v<version>/lang-<hash>
#      (the CLI from engine-v<version>/bin, our language host of this checkout's source);
#   3. a fresh build from Go modules (scripts/engine): the CLI from github.com/pulumi/pulumi/pkg/v3 at the
#      version of the installed @pulumi/pulumi, and our own language host (scripts/engine/langhost).
# Another version of the CLI: `install-engine.sh 3.248.0` (or PULUMI_CLOUDIWAY_ENGINE_VERSION), e.g. the
# oldest release the package supports. It is cached beside the others (engine-v<that version>/) and built
# from a module generated for that version (pulumi's go.mod at that tag); our language host is the same.
# Progress goes to stderr; only the folder goes to stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "install-engine: $*" >&2; }

want_mod="$(sed -n 's#^\s*github.com/pulumi/pulumi/pkg/v3 v\(.*\)$#\1#p' "$root/scripts/engine/go.mod" | head -1)"
asked="${1:-${PULUMI_CLOUDIWAY_ENGINE_VERSION:-}}"
asked="${asked#v}"
if [ -n "$asked" ]; then
  [[ "$asked" =~ ^3\.[0-9]+\.[0-9]+$ ]] || { say "not a pulumi v3 release: $asked"; exit 1; }
  version="$asked"
else
  version="$(cd "$root" && node -p "require('@pulumi/pulumi/package.json').version")"
  if [ "$version" != "$want_mod" ]; then
    say "@pulumi/pulumi is $version but scripts/engine/go.mod builds pulumi $want_mod: update go.mod (go get github.com/pulumi/pulumi/pkg/v3@v$version)"
    exit 1
  fi
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
  if [ -x "$dir/pulumi-language-nodejs" ] && [ -x "$dir/pulumi-resource-pulumi-nodejs" ] && [ "${have%%.*}" = "3" ] &&
     { [ -z "$asked" ] || [ "$have" = "$asked" ]; }; then
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
# The CLI of go.mod's version is rebuilt when go.mod changes; one of another version is built once
# from pulumi's own go.mod of that release, so any build of it will do (its marker is not empty).
cli_hash="$(cat "$root/scripts/engine/go.mod" | sha256sum | cut -c1-16)"
[ "$version" = "$want_mod" ] || cli_hash="v$version"
lang_hash="$(cat "$root/scripts/engine/go.mod" "$root/scripts/engine/langhost/"*.go | sha256sum | cut -c1-16)"
bin="$cache/engine-v$version/lang-$lang_hash"
cli_fresh() {
  [ -x "$cli_dir/pulumi" ] || return 1
  if [ "$version" = "$want_mod" ]; then [ "$(cat "$cli_dir/.source-cli" 2>/dev/null)" = "$cli_hash" ]; else [ -s "$cli_dir/.source-cli" ]; fi
}
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
export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
if [ "$version" != "$want_mod" ] && ! cli_fresh; then
  # A module of its own for that release: pulumi's go.mod at that tag gives the replace lines (its
  # "=> ../sdk" is the monorepo's own) and `go mod tidy` the dependencies it was released with.
  (
    set -e
    mkdir "$tmp/mod" && cd "$tmp/mod"
    modfile="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
    [ -f "$modfile" ] || { say "cannot download github.com/pulumi/pulumi/pkg/v3@v$version"; exit 1; }
    { echo "module github.com/pulumi-cloudiway/engine-cli"; echo
      sed -n 's/^go \(.*\)$/go \1/p' "$modfile" | head -1; echo
      grep '^replace ' "$modfile" | grep -v '=> \.' || true
      echo "require github.com/pulumi/pulumi/pkg/v3 v$version"
      echo "require github.com/pulumi/pulumi/sdk/v3 v$version"; } > go.mod
    cp "$root/scripts/engine/tools.go" .
    go mod tidy
    go build -tags osusergo -ldflags "$ldflags" -o "$tmp/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  ) >&2
  targets=()
  lang_fresh || targets+=(./langhost)
fi
if [ "${#targets[@]}" -gt 0 ]; then
  (
    cd "$root/scripts/engine"
    go build -tags osusergo -ldflags "$ldflags" -o "$tmp/" "${targets[@]}"
  ) >&2
fi
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
