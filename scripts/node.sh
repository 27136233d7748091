#!/bin/sh
# node.sh SCRIPT [ARGS...]: runs SCRIPT on the Node.js LTS this repo pins (package.json "node"),
# installing dependencies first when node_modules is missing or older than package-lock.json.
# Why: machines here ship Node 20 (end-of-life); the npm package `node` carries the Node 24 build,
# which has node:sqlite for the state store and runs TypeScript by type stripping.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/scripts/setup.sh" >&2
exec "$root/node_modules/node/bin/node" --disable-warning=ExperimentalWarning "$@"
