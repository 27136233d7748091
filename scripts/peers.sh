#!/usr/bin/env bash
# peers.sh: installs and builds the real peers the tests drive, so `npm test` on a fresh machine
# runs every suite instead of skipping some. Idempotent and quick when all is in place:
#   - Debian packages (curl, openssl, iproute2, nghttp2-client, wrk, bird2, iputils-arping, ndisc6,
#     ipv6toolkit, dnsutils, knot, knot-dnsutils, dnsperf, pebble — the ACME test CA, chromium — the
#     console's browser tests drive it with playwright-core, python3 — the BGP tests' packet watcher,
#     test/e2e/announce-flows.py), when root and apt-get exist;
#   - kube-apiserver, kubectl and etcd (scripts/kube/build.sh) and h2spec (scripts/h2spec/build.sh),
#     built from the Go module proxy into .cache when Go is installed;
#   - ghz, a grpc-go load generator (scripts/ghz/build.sh), into .cache/grpc-bench for the gRPC
#     client test (test/e2e/h2-grpc-pings.test.ts) and bench:grpc;
#   - the analytics accuracy test's load generator (scripts/loadgen/build.sh: test/peers/loadgen,
#     Go's standard library only) into .cache/loadgen;
#   - the OWASP Core Rule Set v4 (scripts/crs/fetch.sh), from the Go module proxy into .cache/crs;
#   - cert-manager's controller and CRDs (scripts/cert-manager/build.sh) into .cache/cert-manager;
#   - the Gateway API conformance suite and its backends (scripts/conformance/build.sh) into
#     .cache/conformance (about 8 minutes the first time).
# Writes one line per peer that could not be had to .cache/peers.skipped ("name: why"), which
# scripts/test.ts prints in the last lines of its summary. Exit 0 unless a build started and failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.cache"
skipped="$root/.cache/peers.skipped"
: > "$skipped"
status=0

# Debian packages: command → package.
declare -A pkgs=([curl]=curl [openssl]=openssl [ip]=iproute2 [h2load]=nghttp2-client [wrk]=wrk
  [bird]=bird2 [birdc]=bird2 [arping]=iputils-arping [ndisc6]=ndisc6 [na6]=ipv6toolkit [dig]=dnsutils [knotd]=knot [kdig]=knot-dnsutils
  [dnsperf]=dnsperf [pebble]=pebble [pebble-challtestsrv]=pebble [chromium]=chromium [python3]=python3)
# A new CI machine's first minutes see Debian mirrors and the Go module proxy fail now and then (a
# reset, a 502, apt's lock held by the image's own unattended upgrade): each install or build is
# tried three times, 10 s then 30 s apart, before its peer counts as missing. All are idempotent.
pause() { # attempt
  echo "peers: attempt $1 of 3 failed; trying again in $(($1 == 1 ? 10 : 30)) s" >&2
  sleep $(($1 == 1 ? 10 : 30))
}

need=()
for cmd in "${!pkgs[@]}"; do command -v "$cmd" >/dev/null || need+=("${pkgs[$cmd]}"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "peers: installing ${need[*]} (apt-get)" >&2
    ok=0
    for n in 1 2 3; do
      { apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 "${need[@]}"; } >&2 &&
        { ok=1; break; }
      [ $n -lt 3 ] && pause $n
    done
    [ $ok = 1 ] || { echo "apt packages ${need[*]}: apt-get failed 3 times" >> "$skipped"; status=1; }
  else
    echo "apt packages ${need[*]}: not installed and not root (install them to run the tests that use them)" >> "$skipped"
  fi
fi

# Go-built peers. build.sh exits 3 when Go is missing; any other failure is a failed build.
build() { # name script
  local rc n
  for n in 1 2 3; do
    bash "$root/$2"
    rc=$?
    { [ $rc = 0 ] || [ $rc = 3 ]; } && break
    [ $n -lt 3 ] && pause $n
  done
  case $rc in
    0) ;;
    3) echo "$1: Go is not installed (needed to build it from the Go module proxy)" >> "$skipped" ;;
    *) echo "$1: $2 failed 3 times (see its output above)" >> "$skipped"; status=1 ;;
  esac
}
build "Kubernetes control plane (kube-apiserver, etcd)" scripts/kube/build.sh
build "h2spec" scripts/h2spec/build.sh
build "load generator (test/e2e/analytics-accuracy.test.ts)" scripts/loadgen/build.sh
build "ghz (test/e2e/h2-grpc-pings.test.ts)" scripts/ghz/build.sh
build "OWASP CRS (the WAF rx tests)" scripts/crs/fetch.sh
build "cert-manager (test/kube/cert-manager.test.ts)" scripts/cert-manager/build.sh
build "Gateway API conformance suite (test/kube/conformance.test.ts)" scripts/conformance/build.sh
exit $status
