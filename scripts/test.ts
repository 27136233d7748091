// test.ts: the one test command (`npm test`). Installs and builds the real peers the suites drive
// (scripts/peers.sh: Debian clients, the Go-built control plane and h2spec), type-checks, then runs
// every *.test.ts under src/, test/ and bench/ with node's built-in runner. Arguments narrow the
// run (`npm test -- src/ipam`) and skip the peers and the type check. The last lines say which
// suites were skipped and why, then one closing count line.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
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

// The whole run brings its peers: without them the Kubernetes and h2spec suites would skip, and a
// fresh machine would pass by testing less. A narrowed run is a developer's loop: no builds.
const skippedFile = join(root, ".cache/peers.skipped");
if (args.length === 0 || process.env.PORTICO_PEERS === "1") {
  console.log("peers: scripts/peers.sh");
  spawnSync("bash", [join(root, "scripts/peers.sh")], { stdio: "inherit" });
}

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
  // Lint and formatting too: a whole run is what CI runs, and a formatting slip that only
  // `npm run lint` saw once reached main unnoticed.
  console.log("lint: eslint + prettier --check");
  const lint = spawnSync("npm", ["run", "--silent", "lint"], { cwd: root, stdio: "inherit" });
  if (lint.status !== 0) process.exit(lint.status ?? 1);
}

// bin/portico runs the JS build (scripts/build.sh); building it here keeps that out of the
// timeouts of the tests that start it.
const build = spawnSync("sh", [join(root, "scripts/build.sh")], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

// Files that run alone, after the others: the Gateway API conformance run binds the Gateways'
// ports on 127.50.0.x and keeps both cores busy for minutes, which would starve timing-sensitive
// neighbours (and theirs it) under --test-concurrency=2.
const ALONE = new Set([join(root, "test/kube/conformance.test.ts")]);
const batches = [
  { files: files.filter((f) => !ALONE.has(f)), concurrency: 2 },
  { files: files.filter((f) => ALONE.has(f)), concurrency: 1 },
].filter((b) => b.files.length > 0);

/** FailureLog keeps each failing test's TAP report ("not ok" and its YAML block: error, location,
 * stack), so the run can repeat them at its end: CI shows only the output's tail, and one flaky
 * test among ~2,400 was otherwise unnamed there. */
class FailureLog {
  readonly reports: string[] = [];
  private open: { indent: string; lines: string[] } | undefined;
  private partial = "";

  feed(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (this.open) {
      this.open.lines.push(line);
      // The YAML block ends with "..." at the test's own indentation plus two.
      if (line === `${this.open.indent}  ...` || this.open.lines.length > 60) {
        // A suite's own report only counts its failing subtests, which are kept already.
        const report = this.open.lines.join("\n");
        if (!report.includes("failureType: 'subtestsFailed'")) this.reports.push(report);
        this.open = undefined;
      }
      return;
    }
    const m = /^(\s*)not ok \d+ - /.exec(line);
    if (m) this.open = { indent: m[1] ?? "", lines: [line] };
  }
}

/** runFiles runs one batch with node's runner, passing its output through; returns its exit code,
 * the output's tail, where the counts are, and the failing tests' reports. */
async function runFiles(
  batch: string[],
  concurrency: number,
): Promise<{ code: number; tail: string; failures: string[] }> {
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      "--test",
      `--test-concurrency=${concurrency}`,
      "--test-timeout=120000",
      // Piping the output would switch the runner to TAP; keep what a terminal would show.
      `--test-reporter=${process.stdout.isTTY ? "spec" : "tap"}`,
      ...batch,
    ],
    { stdio: ["inherit", "pipe", "inherit"], cwd: root },
  );
  let tail = "";
  const failures = new FailureLog();
  // Decoded as a stream: a character split across two chunks stays whole.
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text: string) => {
    process.stdout.write(text);
    tail = (tail + text).slice(-8192);
    failures.feed(text);
  });
  const code: number = await new Promise((done) => child.on("close", (c) => done(c ?? 1)));
  return { code, tail, failures: failures.reports };
}

console.log(`tests: ${files.length} files`);
const results: { code: number; tail: string; failures: string[] }[] = [];
for (const b of batches) {
  if (b.concurrency === 1) console.log(`tests: ${b.files.length} file(s) alone`);
  results.push(await runFiles(b.files, b.concurrency));
}
const code = results.find((r) => r.code !== 0)?.code ?? 0;

/** count adds up one of the runners' closing counts ("ℹ pass 12"). */
const count = (name: string): number =>
  results.reduce((n, r) => n + Number(new RegExp(`^\\S* ?${name} (\\d+)$`, "m").exec(r.tail)?.[1] ?? 0), 0);
const skips = existsSync(skippedFile) ? readFileSync(skippedFile, "utf8").trim() : "";
if (skips) {
  console.log("\nSuites skipped or reduced, and why (install or build what is named, then run again):");
  for (const line of skips.split("\n")) console.log(`  - ${line}`);
}
const failed = results.flatMap((r) => r.failures);
if (failed.length > 0) {
  console.log(`\nFailed tests, repeated from above (${failed.length}):`);
  for (const report of failed) console.log(report);
}
console.log(`tests: ${count("pass")} passed, ${count("fail")} failed, ${count("skipped")} skipped`);
process.exit(code);
