// report.test.ts: the runner's summary of a ConformanceReport, on a report shaped as the v1.6.3
// suite writes it (sigs.k8s.io/gateway-api/conformance/apis/v1: Statistics has no json tags, so
// its keys are Passed/Skipped/Failed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSummary, regressions, summarizeReport } from "../../scripts/conformance/report.ts";

const REPORT = `apiVersion: gateway.networking.k8s.io/v1
kind: ConformanceReport
date: "2026-12-07T12:00:00Z"
gatewayAPIChannel: standard
gatewayAPIVersion: v1.6.3
implementation:
  contact: [https://github.com/portico-dev/portico/issues]
  organization: portico
  project: portico
  url: https://github.com/portico-dev/portico
  version: v0.1.0
mode: default
profiles:
- core:
    failedTests: [HTTPRouteSimpleSameNamespace]
    result: failure
    statistics: {Failed: 1, Passed: 30, Skipped: 0}
  extended:
    result: partial
    skippedTests: [HTTPRouteRetryBackoff]
    statistics: {Failed: 0, Passed: 12, Skipped: 1}
    supportedFeatures: [HTTPRouteMethodMatching]
    unsupportedFeatures: [HTTPRouteRetry]
  name: GATEWAY-HTTP
  summary: Core tests failed with 1 test failures.
- core:
    result: success
    statistics: {Failed: 0, Passed: 3, Skipped: 0}
  name: GATEWAY-TLS
  summary: Core tests succeeded.
`;

test("summarizeReport adds core and extended per profile and names failed and skipped tests", () => {
  assert.deepEqual(summarizeReport(REPORT), [
    {
      name: "GATEWAY-HTTP",
      passed: 42,
      skipped: 1,
      failed: 1,
      failedTests: ["HTTPRouteSimpleSameNamespace"],
      skippedTests: ["HTTPRouteRetryBackoff"],
      features: ["HTTPRouteMethodMatching"],
    },
    {
      name: "GATEWAY-TLS",
      passed: 3,
      skipped: 0,
      failed: 0,
      failedTests: [],
      skippedTests: [],
      features: [],
    },
  ]);
});

test("formatSummary prints one line per profile and the failed tests under it", () => {
  assert.equal(
    formatSummary(summarizeReport(REPORT)),
    "GATEWAY-HTTP   passed 42  skipped 1  failed 1\n" +
      "GATEWAY-TLS    passed 3  skipped 0  failed 0\n" +
      "  GATEWAY-HTTP failed: HTTPRouteSimpleSameNamespace",
  );
});

test("a report without profiles summarizes to nothing", () => {
  assert.deepEqual(summarizeReport("kind: ConformanceReport\n"), []);
});

/** profile is one profile of a report: core counts, extended counts and claimed features. */
function profile(name: string, core: number, extended: number, features: string[], failed: string[] = []) {
  return `- name: ${name}
  core:
    statistics: {Failed: ${failed.length}, Passed: ${core}, Skipped: 0}
    failedTests: [${failed.join(", ")}]
  extended:
    statistics: {Failed: 0, Passed: ${extended}, Skipped: 0}
    supportedFeatures: [${features.join(", ")}]
`;
}
const report = (...profiles: string[]) => `kind: ConformanceReport\nprofiles:\n${profiles.join("")}`;
const COMMITTED = report(
  profile("GATEWAY-HTTP", 30, 10, ["HTTPRouteMethodMatching", "HTTPRouteCORS"]),
  profile("GATEWAY-TLS", 3, 1, []),
);

test("regressions: a run as good as the committed report, or better, has none", () => {
  assert.deepEqual(regressions(COMMITTED, COMMITTED), []);
  const better = report(
    profile("GATEWAY-HTTP", 31, 10, ["HTTPRouteCORS", "HTTPRouteMethodMatching"]),
    profile("GATEWAY-TLS", 3, 2, []),
  );
  assert.deepEqual(regressions(COMMITTED, better), []);
});

test("regressions names failed tests, fewer passes, missing profiles and changed features", () => {
  const worse = report(
    profile(
      "GATEWAY-HTTP",
      29,
      10,
      ["HTTPRouteMethodMatching", "HTTPRouteRetry"],
      ["HTTPRouteSimpleSameNamespace"],
    ),
  );
  assert.deepEqual(regressions(COMMITTED, worse), [
    "GATEWAY-HTTP: 1 failed: HTTPRouteSimpleSameNamespace",
    "GATEWAY-HTTP: 39 passed, fewer than the committed report's 40",
    "GATEWAY-HTTP: features no longer claimed: HTTPRouteCORS",
    "GATEWAY-HTTP: features claimed but not in the committed report: HTTPRouteRetry " +
      "(run scripts/conformance/run.ts and commit its report)",
    "GATEWAY-TLS: not in the run's report",
  ]);
});
