// metrics-labels.test.ts: engine and group labels land on every sample, and the text stays valid.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addLabels } from "./metrics-labels.ts";

test("addLabels: every sample gets the labels first; comments and existing labels are kept", () => {
  const text = [
    "# HELP portico_requests_total Requests.",
    "# TYPE portico_requests_total counter",
    'portico_requests_total{listener="a",code="200"} 5',
    'portico_weird{path="x}y, z=\\"q\\""} 1',
    "portico_up 1",
    "portico_empty{} 2 1700000000000",
    "",
  ].join("\n");
  const got = addLabels(text, { engine: "e-1", group: 'we"b' });
  assert.equal(
    got,
    [
      "# HELP portico_requests_total Requests.",
      "# TYPE portico_requests_total counter",
      'portico_requests_total{engine="e-1",group="we\\"b",listener="a",code="200"} 5',
      'portico_weird{engine="e-1",group="we\\"b",path="x}y, z=\\"q\\""} 1',
      'portico_up{engine="e-1",group="we\\"b"} 1',
      'portico_empty{engine="e-1",group="we\\"b"} 2 1700000000000',
      "",
    ].join("\n"),
  );
});
