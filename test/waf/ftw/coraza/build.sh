#!/bin/sh
# build.sh: builds Coraza's side of the corpus comparison (main.go) from the Go module proxy into
# .cache/ftw-coraza/ftw-coraza; `npm run waf:corpus -- --target coraza` runs it. Exit 3: no Go.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
command -v go >/dev/null || { echo "ftw-coraza: Go is not installed (needed to build Coraza from the Go module proxy)" >&2; exit 3; }
out="$root/.cache/ftw-coraza"
mkdir -p "$out"
cd "$here"
go build -o "$out/ftw-coraza" .
echo "$out/ftw-coraza"
