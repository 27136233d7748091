#!/usr/bin/env bash
# build.sh: builds ghz (github.com/bojand/ghz), a gRPC load generator on grpc-go — a real gRPC
# client, BDP pings and all — from the Go module proxy into .cache/grpc-bench/ghz (~2 minutes the
# first time: grpc-go, protobuf and their dependencies). test/e2e/h2-grpc-pings.test.ts drives it;
# `npm run bench:grpc` uses the same binary and version file. Idempotent and quick when in place.
# Exits 3 when Go is missing (as the other build scripts do).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
V=${GHZ_VERSION:-v0.120.0}
out="$root/.cache/grpc-bench"
if [ -x "$out/ghz" ] && [ "$(cat "$out/.ghz-version" 2>/dev/null)" = "$V" ]; then exit 0; fi
command -v go >/dev/null || { echo "ghz/build.sh: Go is not installed; the gRPC client tests need it" >&2; exit 3; }
export GOTOOLCHAIN=local GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out"
echo "ghz/build.sh: building ghz $V" >&2
CGO_ENABLED=0 GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/bojand/ghz/cmd/ghz@$V"
echo "$V" > "$out/.ghz-version"
