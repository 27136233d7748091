// report.test.ts: the runner's summary of a ConformanceReport, on a report shaped as the v1.6.3
// suite writes it (sigs.k8s.io/gateway-api/conformance/apis/v1: Statistics has no json tags, so
// its keys are Passed/Skipped/Failed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSummary, summarizeReport } from "../../scripts/conformance/report.ts";

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
    },
    { name: "GATEWAY-TLS", passed: 3, skipped: 0, failed: 0, failedTests: [], skippedTests: [] },
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
