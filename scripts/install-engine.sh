#!/usr/bin/env bash
# Makes the Pulumi engine available and prints, as its last line, the folder to put on PATH.
#   1. a suitable `pulumi` already on PATH (with pulumi-language-nodejs and the dynamic provider shim next to it);
#   2. the cached build in ${PULUMI_CLOUDIWAY_ENGINE_CACHE:-~/.cache/pulumi-cloudiway}/engine-v<version>/bin;
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

write_shim() {
  cat > "$1/pulumi-resource-pulumi-nodejs" <<'SHIM'
#!/bin/sh
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")')" "$@"
SHIM
  chmod +x "$1/pulumi-resource-pulumi-nodejs"
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
bin="$cache/engine-v$version/bin"
src_hash="$(cat "$root/scripts/engine/go.mod" "$root/scripts/engine/langhost/"*.go | sha256sum | cut -c1-16)"
if [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ "$(cat "$bin/.source" 2>/dev/null)" = "$src_hash" ]; then
  say "using cached engine $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { say "Go is needed to build the Pulumi engine (no npm or Debian package ships it)"; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# another caller may have built it while we waited
if [ -x "$bin/pulumi" ] && [ "$(cat "$bin/.source" 2>/dev/null)" = "$src_hash" ]; then echo "$bin"; exit 0; fi

tmp="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
say "building pulumi v$version and pulumi-language-nodejs from Go modules (first time: several minutes)..."
(
  cd "$root/scripts/engine"
  export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
  go build -tags osusergo \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    -o "$tmp/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./langhost
) >&2
mv "$tmp/langhost" "$tmp/pulumi-language-nodejs" 2>/dev/null || true
write_shim "$tmp"
echo "$src_hash" > "$tmp/.source"
rm -rf "$bin.old"
[ -d "$bin" ] && mv "$bin" "$bin.old"
mkdir -p "$(dirname "$bin")"
mv "$tmp" "$bin"
rm -rf "$bin.old"
trap - EXIT
say "engine ready in $bin"
echo "$bin"
