#!/usr/bin/env bash
# build.sh: builds h2spec (HTTP/2 conformance, github.com/summerwind/h2spec) from the Go module
# proxy into .cache/h2spec (once per machine; under a minute). The proxy publishes only
# v2.2.1+incompatible (no go.mod: its dependencies resolve to their latest versions).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
V=${H2SPEC_VERSION:-v2.2.1+incompatible}
out="$root/.cache/h2spec"
if [ -x "$out/h2spec" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$V" ]; then exit 0; fi
command -v go >/dev/null || { echo "h2spec/build.sh: Go is not installed; the h2spec test needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out"
echo "h2spec/build.sh: building h2spec $V" >&2
CGO_ENABLED=0 GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/summerwind/h2spec/cmd/h2spec@$V"
echo "$V" > "$out/.version"
