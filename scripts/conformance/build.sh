#!/usr/bin/env bash
# build.sh: builds the official Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance,
# unmodified, as a `go test -c` binary) and the backends its manifests run, from the Go module
# proxy, into .cache/conformance/bin, and writes .cache/conformance/images.json: each container
# image the suite's manifests name -> the binary built from that image's source (a path relative to
# images.json's directory), which the test node agent runs in place of the image. Once per
# machine; exits at once when built.
#
# Why a wrapper module: the conformance module replaces sigs.k8s.io/gateway-api with "../" (its
# own repository checkout), which Go ignores in a dependency; we pin that to the same release.
# Images and their sources (read from conformance/base and conformance/tests of the release):
#   registry.k8s.io/gateway-api/echo-basic:*  -> conformance/echo-basic (HTTP, TLS, gRPC, TCP, UDP
#       echo; every tag the manifests use is served by the release's own source)
#   registry.k8s.io/coredns/coredns:v1.12.2   -> github.com/coredns/coredns@v1.12.2 with only the
#       plugins the suite's Corefile uses (forward, log, errors, whoami) — the UDPRoute backend
#   registry.k8s.io/gateway-api/echo-advanced -> not built: only the MESH profiles use it.
# Exit 3 when Go is missing (like scripts/kube/build.sh). Progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
GWAPI=${GATEWAY_API_VERSION:-1.6.3}
COREDNS=${COREDNS_VERSION:-1.12.2}
dir="$root/.cache/conformance"
out="$dir/bin"
stamp="$GWAPI/coredns$COREDNS"
if [ -x "$out/conformance.test" ] && [ -x "$out/echo-basic" ] && [ -x "$out/coredns" ] &&
  [ -f "$dir/images.json" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go is not installed; the conformance suite needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
mkdir -p "$out" "$dir/src/suite" "$dir/src/coredns"

echo "build.sh: conformance suite v$GWAPI" >&2
cd "$dir/src/suite"
if [ ! -f go.mod ] || ! grep -q "gateway-api/conformance v$GWAPI" go.mod; then
  rm -f go.mod go.sum
  go mod init local/conformance >/dev/null 2>&1
  go mod edit -replace="sigs.k8s.io/gateway-api=sigs.k8s.io/gateway-api@v$GWAPI"
  go mod edit -require="sigs.k8s.io/gateway-api/conformance@v$GWAPI"
  # A file importing both packages keeps `go mod tidy` from dropping what `go test -c` needs.
  printf 'package suite\n\nimport (\n\t_ "sigs.k8s.io/gateway-api/conformance"\n\t_ "sigs.k8s.io/gateway-api/conformance/echo-basic"\n)\n' > deps.go
  go mod tidy >&2
fi
go test -c -trimpath -o "$out/conformance.test" sigs.k8s.io/gateway-api/conformance
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic
SUITE=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)

echo "build.sh: coredns v$COREDNS (UDPRoute backend)" >&2
cd "$dir/src/coredns"
if [ ! -f go.mod ] || ! grep -q "coredns/coredns v$COREDNS" go.mod; then
  rm -f go.mod go.sum
  go mod init local/coredns >/dev/null 2>&1
  # coredns's own main with only the plugins the suite's Corefile names: the full plugin set pulls
  # in cloud SDKs this test never uses and triples the build time.
  printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n\n\t_ "github.com/coredns/coredns/plugin/errors"\n\t_ "github.com/coredns/coredns/plugin/forward"\n\t_ "github.com/coredns/coredns/plugin/log"\n\t_ "github.com/coredns/coredns/plugin/whoami"\n)\n\nfunc main() { coremain.Run() }\n' > main.go
  go get "github.com/coredns/coredns@v$COREDNS" >&2
  go mod tidy >&2
fi
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/coredns" .

# images.json: every image the suite's Gateway manifests name, mapped to its binary.
{
  echo "{"
  grep -rhoE 'image: *[^ ]+' "$SUITE/base" "$SUITE/tests" | sed 's/image: *//' | sort -u |
    while read -r img; do
      case "$img" in
        registry.k8s.io/gateway-api/echo-basic:*) bin=echo-basic ;;
        registry.k8s.io/coredns/coredns:v$COREDNS) bin=coredns ;;
        *) echo "build.sh: no binary for image $img; add its source here" >&2; exit 1 ;;
      esac
      echo "  \"$img\": \"bin/$bin\","
    done | sed '$ s/,$//'
  echo "}"
} > "$dir/images.json.tmp"
mv "$dir/images.json.tmp" "$dir/images.json"
echo "$stamp" > "$out/.version"
echo "build.sh: done: $out, $dir/images.json" >&2
