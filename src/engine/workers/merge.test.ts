import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeExpositions, mergeListeners } from "./merge.ts";

const a = `# HELP portico_http_requests_total HTTP requests.
# TYPE portico_http_requests_total counter
portico_http_requests_total{listener="a"} 3
# HELP portico_backend_healthy up.
# TYPE portico_backend_healthy gauge
portico_backend_healthy{pool="p",backend="b"} 0
# HELP d latency.
# TYPE d histogram
d_bucket{le="0.1"} 1
d_sum 0.05
d_count 1
`;
const b = `# HELP portico_http_requests_total HTTP requests.
# TYPE portico_http_requests_total counter
portico_http_requests_total{listener="a"} 4
portico_http_requests_total{listener="z"} 1
# HELP portico_backend_healthy up.
# TYPE portico_backend_healthy gauge
portico_backend_healthy{pool="p",backend="b"} 1
# HELP d latency.
# TYPE d histogram
d_bucket{le="0.1"} 2
d_sum 0.1
d_count 2
`;

test("mergeExpositions sums counters and histograms, keeps samples under their family, max for health", () => {
  const m = mergeExpositions([a, b]);
  assert.equal(
    m,
    `# HELP portico_http_requests_total HTTP requests.
# TYPE portico_http_requests_total counter
portico_http_requests_total{listener="a"} 7
portico_http_requests_total{listener="z"} 1
# HELP portico_backend_healthy up.
# TYPE portico_backend_healthy gauge
portico_backend_healthy{pool="p",backend="b"} 1
# HELP d latency.
# TYPE d histogram
d_bucket{le="0.1"} 3
d_sum 0.15
d_count 3
`,
  );
});

test("mergeExpositions of one exposition is that exposition", () => {
  assert.equal(mergeExpositions([a]), a);
});

test("mergeListeners keeps each listener's worst state: bound only if every worker bound it", () => {
  const l = (state: "bound" | "error" | "binding", error?: string) => ({
    key: "TCP/127.0.0.1:80",
    name: "web",
    protocol: "TCP" as const,
    address: "127.0.0.1",
    port: 80,
    state,
    ...(error ? { error } : {}),
  });
  const other = { ...l("bound"), key: "TCP/127.0.0.1:81" };
  assert.deepEqual(mergeListeners([[l("bound"), other], [l("bound")]]), [l("bound"), other]);
  assert.deepEqual(mergeListeners([[l("bound")], [l("error", "EADDRINUSE: x")], [l("binding")]]), [
    l("error", "EADDRINUSE: x"),
  ]);
});
