#!/bin/sh
# node.sh SCRIPT [ARGS...]: runs SCRIPT on the Node.js LTS this repo pins (package.json "node"),
# installing dependencies first when node_modules is missing or older than package-lock.json.
# Why: machines here ship Node 20 (end-of-life); the npm package `node` carries the Node 24 build,
# which has node:sqlite for the state store and runs TypeScript by type stripping.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/scripts/setup.sh" >&2
# V8 grows the young generation up to 64 MiB under a proxy's allocation rate and keeps it
# resident; 8 MiB semi-spaces cost no measurable throughput (docs/performance.md, Memory) and
# keep ~30 MiB off every engine. NODE_OPTIONS, so that worker processes and tools inherit it.
export NODE_OPTIONS="--max-semi-space-size=8${NODE_OPTIONS:+ $NODE_OPTIONS}"
# glibc gives each thread that mallocs its own arena, and memory freed in an arena stays resident
# while anything above it lives: with V8's helper threads that left ~8 MiB more resident at 10,000
# idle connections and after an HTTP/2 load (docs/performance.md, Memory). Two arenas: the main
# thread's and one the helper threads share.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec "$root/node_modules/node/bin/node" --disable-warning=ExperimentalWarning "$@"
