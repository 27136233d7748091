#!/usr/bin/env bash
# fetch.sh: fetches the OWASP Core Rule Set v4 into .cache/crs/<version>/ from the Go module proxy
# (module github.com/corazawaf/coraza-coreruleset/v4, which embeds the unmodified CRS release, its
# data files, crs-setup.conf.example and the CRS regression tests in go-ftw's YAML format).
# Idempotent and quick when present. Prints the directory on stdout. Layout:
#   .cache/crs/<version>/rules/*.conf, rules/*.data   (the CRS rules directory, @owasp_crs upstream)
#   .cache/crs/<version>/crs-setup.conf.example
#   .cache/crs/<version>/coraza.conf-recommended
#   .cache/crs/<version>/tests/<RULE-FILE>/<rule id>.yaml
#   .cache/crs/<version>/VERSION                     (module version; the CRS version it embeds)
#   .cache/crs/current -> <version>
# CRS_VERSION selects another module version (`go list -m -versions github.com/corazawaf/coraza-coreruleset/v4`).
# Exit 3 when Go is missing (nothing fetched), like scripts/*/build.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
V=${CRS_VERSION:-v4.25.0}
M=github.com/corazawaf/coraza-coreruleset/v4
base="$root/.cache/crs"
out="$base/$V"
if [ -f "$out/VERSION" ] && [ -d "$out/rules" ]; then
  ln -sfn "$V" "$base/current"
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "crs/fetch.sh: Go is not installed; the CRS is fetched from the Go module proxy" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
echo "crs/fetch.sh: fetching $M@$V" >&2
# Outside any module so the project's (absent) go.mod does not matter.
dir=$(cd /tmp && go mod download -json "$M@$V" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$dir/rules/@owasp_crs" ] || { echo "crs/fetch.sh: $M@$V has no rules/@owasp_crs (layout changed?)" >&2; exit 1; }
tmp="$base/.tmp.$$"
rm -rf "$tmp" && mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp -r "$dir/rules/@owasp_crs" "$tmp/rules"
cp "$dir/rules/@crs-setup.conf.example" "$tmp/crs-setup.conf.example"
cp "$dir/rules/@coraza.conf-recommended" "$tmp/coraza.conf-recommended"
[ -d "$dir/tests" ] && cp -r "$dir/tests" "$tmp/tests"
rm -f "$tmp/rules/LICENSE" && cp "$dir/rules/LICENSE" "$tmp/LICENSE" 2>/dev/null || true
crs=$(sed -n 's/^SecComponentSignature "OWASP_CRS\/\(.*\)"$/\1/p' "$tmp/rules/REQUEST-901-INITIALIZATION.conf" | head -1)
printf 'module %s@%s\ncrs %s\n' "$M" "$V" "${crs:-unknown}" > "$tmp/VERSION"
chmod -R u+w "$tmp"
rm -rf "$out" && mv "$tmp" "$out"
trap - EXIT
ln -sfn "$V" "$base/current"
echo "crs/fetch.sh: CRS ${crs:-unknown} in $out" >&2
echo "$out"
