#!/usr/bin/env bash
# build.sh: builds what `npm run bench:grpc` drives into .cache/grpc-bench (once per machine):
#   - ghz (github.com/bojand/ghz), the gRPC load generator: scripts/ghz/build.sh, which the tests
#     share;
#   - grpc-echo, the bench's gRPC backend (bench/grpc-echo/main.go, Go standard library only),
#     rebuilt whenever its source changes.
# Exits 3 when Go is missing (as the other build scripts do).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.cache/grpc-bench"
command -v go >/dev/null || { echo "grpc-bench/build.sh: Go is not installed; bench:grpc needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out"
bash "$root/scripts/ghz/build.sh"
src="$root/bench/grpc-echo"
sum=$(cat "$src"/*.go "$src/go.mod" | sha256sum | cut -c1-16)
if [ ! -x "$out/grpc-echo" ] || [ "$(cat "$out/.echo-sum" 2>/dev/null)" != "$sum" ]; then
  echo "grpc-bench/build.sh: building grpc-echo" >&2
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/grpc-echo" .)
  echo "$sum" > "$out/.echo-sum"
fi
