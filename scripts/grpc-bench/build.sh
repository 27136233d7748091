#!/usr/bin/env bash
# build.sh: builds what `npm run bench:grpc` drives into .cache/grpc-bench (once per machine):
#   - ghz (github.com/bojand/ghz), the gRPC load generator, from the Go module proxy (~2 minutes
#     the first time: grpc-go, protobuf and their dependencies);
#   - grpc-echo, the bench's gRPC backend (bench/grpc-echo/main.go, Go standard library only),
#     rebuilt whenever its source changes.
# Exits 3 when Go is missing (as the other build scripts do).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
V=${GHZ_VERSION:-v0.120.0}
out="$root/.cache/grpc-bench"
command -v go >/dev/null || { echo "grpc-bench/build.sh: Go is not installed; bench:grpc needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out"
if [ ! -x "$out/ghz" ] || [ "$(cat "$out/.ghz-version" 2>/dev/null)" != "$V" ]; then
  echo "grpc-bench/build.sh: building ghz $V" >&2
  CGO_ENABLED=0 GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/bojand/ghz/cmd/ghz@$V"
  echo "$V" > "$out/.ghz-version"
fi
src="$root/bench/grpc-echo"
sum=$(cat "$src"/*.go "$src/go.mod" | sha256sum | cut -c1-16)
if [ ! -x "$out/grpc-echo" ] || [ "$(cat "$out/.echo-sum" 2>/dev/null)" != "$sum" ]; then
  echo "grpc-bench/build.sh: building grpc-echo" >&2
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/grpc-echo" .)
  echo "$sum" > "$out/.echo-sum"
fi
