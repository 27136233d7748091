#!/usr/bin/env bash
# build.sh: builds the analytics accuracy test's load generator (test/peers/loadgen, Go standard
# library only: nothing is downloaded) into .cache/loadgen/HASH/loadgen, HASH being its sources'
# hash. Idempotent and quick: builds only when no binary of these sources exists, so checkouts that
# share .cache with different versions of the generator each run their own, never a stale one.
# Prints the binary's path on stdout.
# Exit 3 when Go is missing, like scripts/*/build.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/test/peers/loadgen"
out="$root/.cache/loadgen"
V=$(cat "$src/go.mod" "$src"/*.go | sha256sum | cut -c1-16)
bin="$out/$V/loadgen"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "loadgen/build.sh: Go is not installed; the analytics accuracy test needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out/$V"
echo "loadgen/build.sh: building test/peers/loadgen ($V)" >&2
# Built to a temporary name and renamed, so a binary that exists is a whole one.
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.$$" .)
mv -f "$bin.$$" "$bin"
echo "$bin"
