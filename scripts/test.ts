// test.ts: the one test command (`npm test`). Type-checks, then runs every *.test.ts under src/
// and test/ with node's built-in runner. Arguments narrow the run: `npm test -- src/ipam`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** findTests lists *.test.ts files below dir, sorted so runs are reproducible. */
function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const roots =
  args.length > 0
    ? args.map((a) => resolve(a))
    : [join(root, "src"), join(root, "test"), join(root, "bench")];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? findTests(r) : [r]));

if (args.length === 0 || process.env.TYPECHECK === "1") {
  console.log("typecheck: tsc --noEmit");
  const tsc = spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root],
    {
      stdio: "inherit",
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

// bin/portico runs the JS build (scripts/build.sh); building it here keeps that out of the
// timeouts of the tests that start it.
const build = spawnSync("sh", [join(root, "scripts/build.sh")], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log(`tests: ${files.length} files`);
const run = spawnSync(
  process.execPath,
  [
    "--disable-warning=ExperimentalWarning",
    "--test",
    "--test-concurrency=2",
    "--test-timeout=120000",
    ...files,
  ],
  { stdio: "inherit", cwd: root },
);
process.exit(run.status ?? 1);
