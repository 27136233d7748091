#!/usr/bin/env bash
# build.sh: builds cert-manager's controller (with its HTTP-01 acmesolver as the `acmesolver`
# subcommand) from the github.com/cert-manager/cert-manager module on the Go module proxy into
# .cache/cert-manager/bin/cert-manager, and copies the module's CRDs (deploy/crds, no conversion
# webhook) to .cache/cert-manager/crds. Once per machine; reused after. Exit 3 when Go is missing.
# Why scripts/cert-manager/main.go: cert-manager's cmd/* modules are never tagged, so the proxy has
# no controller main; ours wires the module's controllers as cmd/controller does (see main.go).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CM=${CERT_MANAGER_VERSION:-1.21.2}
dir="$root/.cache/cert-manager"
out="$dir/bin/cert-manager"
stamp="$CM/$(cksum < "$root/scripts/cert-manager/main.go" | cut -d' ' -f1)"
if [ -x "$out" ] && [ "$(cat "$dir/.version" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
command -v go >/dev/null || { echo "build.sh: Go is not installed; the cert-manager test needs it" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
src="$dir/src"
rm -rf "$src" && mkdir -p "$src" "$dir/bin"
cp "$root/scripts/cert-manager/main.go" "$src/main.go"
cd "$src"
# Under cert-manager's module path so Go lets main.go import its internal packages.
go mod init github.com/cert-manager/cert-manager/portico-local >/dev/null 2>&1
echo "build.sh: resolving github.com/cert-manager/cert-manager@v$CM" >&2
go get "github.com/cert-manager/cert-manager@v$CM" >&2
go mod tidy >&2
MOD=$(go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)
echo "build.sh: building cert-manager v$CM (a few minutes on 2 cores)" >&2
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=v$CM" -o "$out" .
rm -rf "$dir/crds" && mkdir -p "$dir/crds"
cp "$MOD"/deploy/crds/*.yaml "$dir/crds/"
echo "$stamp" > "$dir/.version"
echo "build.sh: done: $out" >&2
