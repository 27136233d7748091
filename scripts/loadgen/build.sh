#!/usr/bin/env bash
# build.sh: builds the analytics accuracy test's load generator (test/peers/loadgen, Go standard
# library only: nothing is downloaded) into .cache/loadgen/loadgen. Idempotent and quick: rebuilds
# only when the sources changed (their hash is kept in .cache/loadgen/.version), so a worktree whose
# generator differs from another's never runs a stale binary. Prints the binary's path on stdout.
# Exit 3 when Go is missing, like scripts/*/build.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/test/peers/loadgen"
out="$root/.cache/loadgen"
V=$(cat "$src/go.mod" "$src"/*.go | sha256sum | cut -c1-16)
if [ -x "$out/loadgen" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$V" ]; then echo "$out/loadgen"; exit 0; fi
command -v go >/dev/null || { echo "loadgen/build.sh: Go is not installed; the analytics accuracy test needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out"
echo "loadgen/build.sh: building test/peers/loadgen ($V)" >&2
# Built to a temporary name and renamed: another worktree's test may be running the old binary.
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/loadgen.$$" .)
mv -f "$out/loadgen.$$" "$out/loadgen"
echo "$V" > "$out/.version"
echo "$out/loadgen"
