#!/bin/sh
# build.sh: emits Portico's sources as plain JavaScript into .cache/dist (types stripped by tsc,
# `.ts` import specifiers rewritten to `.js`), when any source is newer than the last build.
# Why: running .ts directly loads Node's type stripper (a WebAssembly heap, ~38 MiB RSS with our
# modules) into every process; the data plane's memory budget cannot carry it. Tests and
# development still run the .ts sources; bin/portico and the benchmark's Portico run this build.
# Safe to run concurrently: a lock serialises builders, and the new tree replaces the old one by
# an atomic rename of a symlink, so a starting process never sees a half-written tree.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p .cache
stamp=.cache/dist/.built
fresh() {
  [ -f "$stamp" ] && [ -z "$(find src bench/*.ts tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print 2>/dev/null | head -n 1)" ]
}
fresh && exit 0
exec 9>.cache/dist.lock
flock 9
fresh && exit 0
next=.cache/dist.$$
rm -rf .cache/dist.next "$next"
# Type errors are reported by `npm test`/`npm run typecheck`; here they must not stop a build,
# just as they would not stop Node running the .ts files.
node_modules/node/bin/node node_modules/typescript/bin/tsc -p tsconfig.build.json >/dev/null || true
[ -f .cache/dist.next/src/cli/main.js ] || { echo "portico: build failed; run: npm run typecheck" >&2; exit 1; }
# The console's files are served as they are (src/api/ui-routes.ts reads them beside src/api).
cp -R src/ui .cache/dist.next/src/ui
mv .cache/dist.next "$next"
touch "$next/.built"
old=$(readlink .cache/dist 2>/dev/null || true)
ln -sfn "$(basename "$next")" .cache/dist.link
mv -T .cache/dist.link .cache/dist
# Running processes resolve the link once (their modules and forked workers use the real path),
# so the previous tree stays for a process started before this build; older ones go.
for d in .cache/dist.[0-9]*; do
  case "$d" in ".cache/$(basename "$next")" | ".cache/$old") ;; *) rm -rf "$d" ;; esac
done
exit 0
