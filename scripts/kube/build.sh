#!/usr/bin/env bash
# build.sh: builds kube-apiserver, kubectl and etcd from the Go module proxy into .cache/k8sbin/bin
# (once per machine; reused after), then kube-controller-manager from the same release (checked on
# its own, so a machine that already has the first three only builds it; test/node needs it). Why a wrapper module: k8s.io/kubernetes replaces every k8s.io/*
# staging module with ./staging/..., which `go install` refuses; we pin each to its published
# v0.<minor>.<patch> instead. Progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
K8S=${K8S_VERSION:-1.35.4}
ETCD=${ETCD_VERSION:-3.6.16}
GWAPI=${GATEWAY_API_VERSION:-1.6.3}
out="$root/.cache/k8sbin/bin"
crds="$root/.cache/k8sbin/gateway-api-crds"
core_ok() {
  [ -x "$out/kube-apiserver" ] && [ -x "$out/kubectl" ] && [ -x "$out/etcd" ] &&
    [ "$(cat "$out/.version" 2>/dev/null)" = "$K8S/$ETCD" ]
}
kcm_ok() { [ -x "$out/kube-controller-manager" ] && [ "$(cat "$out/.kcm-version" 2>/dev/null)" = "$K8S" ]; }
if core_ok && kcm_ok && [ "$(cat "$crds/.version" 2>/dev/null)" = "$GWAPI" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go is not installed; the Kubernetes tests need it" >&2; exit 3; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GOPATH="${GOPATH:-$root/.cache/gopath}" GOCACHE="${GOCACHE:-$root/.cache/gocache}"
MINOR=$(echo "$K8S" | cut -d. -f2)
STAGING=0.${K8S#1.}
mkdir -p "$out" "$root/.cache/k8sbin/src" "$root/.cache/etcdbin"
cd "$root/.cache/k8sbin/src"
[ -f go.mod ] || go mod init local/k8sbin >/dev/null 2>&1
# Gateway API standard-channel CRDs ship in the Go module; copy them next to the binaries so the
# test environment needs no Go at run time.
if [ "$(cat "$crds/.version" 2>/dev/null)" != "$GWAPI" ]; then
  echo "build.sh: fetching Gateway API v$GWAPI CRDs" >&2
  GWDIR=$(go mod download -json "sigs.k8s.io/gateway-api@v$GWAPI" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$crds" && mkdir -p "$crds"
  cp "$GWDIR"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$crds/"
  rm -f "$crds"/*vap*.yaml
  echo "$GWAPI" > "$crds/.version"
fi
# wrapper_module pins every k8s.io staging module k8s.io/kubernetes replaces (see the header).
wrapper_module() {
  cd "$root/.cache/k8sbin/src"
  [ -f go.mod ] || go mod init local/k8sbin >/dev/null 2>&1
  echo "build.sh: resolving k8s.io/kubernetes@v$K8S" >&2
  KMOD=$(go mod download -json "k8s.io/kubernetes@v$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$KMOD"); do
    go mod edit -replace="$m=$m@v$STAGING"
  done
}
LDF="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR"
if ! core_ok; then
  wrapper_module
  for c in kube-apiserver kubectl; do go get -tool "k8s.io/kubernetes/cmd/$c@v$K8S" >&2; done
  for c in kube-apiserver kubectl; do
    echo "build.sh: building $c v$K8S (several minutes on 2 cores)" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "$LDF" -o "$out/$c" "k8s.io/kubernetes/cmd/$c"
  done
  cd "$root/.cache/etcdbin"
  if [ ! -f go.mod ]; then
    go mod init local/etcdbin >/dev/null 2>&1
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
  fi
  echo "build.sh: building etcd v$ETCD" >&2
  go get "go.etcd.io/etcd/server/v3@v$ETCD" >&2 && go mod tidy >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd" .
  echo "$K8S/$ETCD" > "$out/.version"
fi
# kube-controller-manager: Deployments, ReplicaSets and EndpointSlices for test/node's agent.
if ! kcm_ok; then
  wrapper_module
  go get -tool "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S" >&2
  echo "build.sh: building kube-controller-manager v$K8S (several minutes on 2 cores)" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "$LDF" -o "$out/kube-controller-manager" \
    "k8s.io/kubernetes/cmd/kube-controller-manager"
  echo "$K8S" > "$out/.kcm-version"
fi
echo "build.sh: done: $out" >&2
