// conformance.test.ts: CI's run of the official Gateway API conformance suite — all five Gateway
// profiles through scripts/conformance/run.ts, exactly as docs/conformance.md runs it, with the
// report written under .cache/conformance/ci (never over the committed one). It fails when a
// profile fails a test, passes fewer tests than conformance/reports/v1.6.3/gateway.yaml, or claims
// other features than that report (report.ts regressions), and then names the failed tests and
// where the run's logs were kept. scripts/test.ts runs this file alone, after the others: the run
// binds ports 80/443 on 127.50.0.x and loads both cores for a couple of minutes.
// Needs root and the conformance build (scripts/conformance/build.sh, which scripts/peers.sh
// runs); skips loudly without them, and fails instead under PORTICO_REQUIRE_KUBE=1 (CI).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { kcmMissing } from "../../scripts/kube/kcm.ts";
import { regressions, summarizeReport } from "../../scripts/conformance/report.ts";
import { BUILD_STAMP } from "../../scripts/conformance/versions.ts";
import { kubeSkip } from "./helper.ts";

const root = resolve(import.meta.dirname, "../..");
const CACHE = join(root, ".cache/conformance");
const COMMITTED = join(root, "conformance/reports/v1.6.3/gateway.yaml");
// Per pid: two worktrees sharing .cache (or a rerun) never read each other's report.
const OUT = join(CACHE, "ci", `gateway-${process.pid}.yaml`);
// The whole run is 1.5–2 min on a quiet 2-core machine and about 6 under load; the suite's own
// timeouts end a hung test well before this.
const DEADLINE_MS = 20 * 60_000;

/** staleBuild says why the built suite is not the one to run (build.sh writes bin/.version last, so an
 * old stamp means a rebuild for another GATEWAY_API_VERSION failed or never ran). */
function staleBuild(): string {
  const file = join(CACHE, "bin/.version");
  const built = existsSync(file) ? readFileSync(file, "utf8").trim() : "(no bin/.version)";
  return built === BUILD_STAMP
    ? ""
    : `the conformance suite built is ${built}, not ${BUILD_STAMP} (bash scripts/conformance/build.sh rebuilds it; needs Go)`;
}

function why(): string | false {
  const missing =
    kubeSkip() ||
    kcmMissing() ||
    (process.getuid?.() !== 0 ? "not root (network namespaces, the Gateways' ports 80 and 443)" : "") ||
    (["bin/conformance.test", "bin/echo-basic", "bin/coredns", "images.json"].some(
      (f) => !existsSync(join(CACHE, f)),
    )
      ? "the conformance suite is not built (bash scripts/conformance/build.sh; needs Go)"
      : staleBuild());
  if (!missing) return false;
  if (process.env.PORTICO_REQUIRE_KUBE === "1")
    throw new Error(`PORTICO_REQUIRE_KUBE=1 but the conformance run cannot start: ${missing}`);
  process.stderr.write(`\n*** SKIPPING the Gateway API conformance run: ${missing} ***\n\n`);
  return missing;
}
const skip = why();

test(
  "the Gateway API conformance suite passes every Gateway profile as the committed report does",
  {
    skip,
    timeout: DEADLINE_MS,
  },
  async (t) => {
    mkdirSync(join(CACHE, "ci"), { recursive: true });
    rmSync(OUT, { force: true });
    const started = Date.now();
    let output = "";
    const code = await new Promise<number>((done, fail) => {
      const p = spawn(
        process.execPath,
        [
          "--disable-warning=ExperimentalWarning",
          join(root, "scripts/conformance/run.ts"),
          `--report=${OUT}`,
          "--keep-logs",
        ],
        // On the test's timeout, SIGTERM: run.ts then stops everything it started (API server,
        // controller-manager, the Pods' namespaces, portico's Gateways on 127.50.0.x) and exits, which
        // closes these pipes; without it the run would outlive the test and keep it alive.
        { cwd: root, stdio: ["ignore", "pipe", "pipe"], signal: t.signal, killSignal: "SIGTERM" },
      );
      const keep = (b: Buffer) => (output = (output + b.toString()).slice(-64_000));
      p.stdout.on("data", keep);
      p.stderr.on("data", keep);
      p.once("error", fail);
      p.once("exit", (c, signal) => done(c ?? (signal ? 128 : 1)));
    });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const logs =
      /logs kept in (\S+)/.exec(output)?.[1] ?? "(not kept: the run stopped before the API server started)";
    process.stderr.write(`conformance: run took ${minutes} min, exit ${code}; logs in ${logs}\n`);

    assert.ok(
      existsSync(OUT),
      `the run wrote no report (exit ${code}); logs in ${logs}; its last output:\n${output.slice(-4000)}`,
    );
    const fresh = readFileSync(OUT, "utf8");
    const problems = regressions(readFileSync(COMMITTED, "utf8"), fresh);
    const summary = summarizeReport(fresh)
      .map((r) => `${r.name}: passed ${r.passed}, skipped ${r.skipped}, failed ${r.failed}`)
      .join("\n");
    assert.deepEqual(
      problems,
      [],
      `conformance regressed against ${COMMITTED}:\n${problems.join("\n")}\n${summary}\n` +
        `report ${OUT}; logs (suite.log has the suite's -test.v output) in ${logs}`,
    );
    assert.equal(
      code,
      0,
      `the suite exited ${code} although its report shows no regression; logs in ${logs}`,
    );
    // Kept only for a failure to read; a passing run leaves nothing behind.
    rmSync(OUT, { force: true });
    if (logs.startsWith(CACHE)) rmSync(logs, { recursive: true, force: true });
  },
);
