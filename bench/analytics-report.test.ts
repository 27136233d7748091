// analytics-report.test.ts: the A/B summary's arithmetic and the manifests each Portico serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { abManifest, renderAbReport, summariseAb, type AbSample } from "./analytics-report.ts";

const s = (variant: "on" | "off", round: number, rps: number, errors = 0): AbSample => ({
  caseId: "http-ka-64",
  variant,
  round,
  requestsPerSecond: rps,
  p99Ms: 2,
  errors,
});

test("summariseAb: ratio of the medians, paired per-round ratios, verdict against 5%", () => {
  const [row] = summariseAb(
    ["http-ka-64"],
    [
      s("on", 1, 960),
      s("off", 1, 1000),
      s("on", 2, 900),
      s("off", 2, 1000),
      s("on", 3, 990),
      s("off", 3, 1000),
    ],
  );
  assert.equal(row!.on!.requestsPerSecond, 960);
  assert.equal(row!.ratio, 0.96);
  assert.deepEqual(row!.roundRatios, [0.96, 0.9, 0.99]);
  assert.equal(row!.meets, true);
  const [bad] = summariseAb(["http-ka-64"], [s("on", 1, 940), s("off", 1, 1000)]);
  assert.equal(bad!.meets, false);
  const [errs] = summariseAb(["http-ka-64"], [s("on", 1, 1000, 3), s("off", 1, 1000)]);
  assert.equal(errs!.meets, false, "errors never meet the target");
  const md = renderAbReport({
    startedAt: "T",
    environment: {},
    settings: {},
    rows: [row!, errs!],
    commands: {},
    recorded: { on: "5 requests", off: "0 requests" },
    notes: [],
  });
  assert.match(md, /\| http-ka-64 \| 960 \| 1000 \| 0\.96 \| 0\.96 0\.90 0\.99 \|/);
  const [cpu] = summariseAb(
    ["http-ka-64"],
    [
      { ...s("on", 1, 1000), cpuUs: 21 },
      { ...s("off", 1, 1000), cpuUs: 20 },
    ],
  );
  assert.equal(cpu!.cpuRatio, 1.05);
  assert.match(md, /errors on 3, off 0/);
});

test("abManifest: a pool of one address, a default certificate, one Ingress to the backend", () => {
  const docs = parseAllDocuments(
    abManifest({
      vip: "127.0.0.32",
      backend: { address: "127.0.0.31", port: 8080 },
      certPem: "C",
      keyPem: "K",
    }),
  ).map((d) => d.toJS() as { kind: string; spec?: Record<string, unknown>; data?: Record<string, string> });
  assert.deepEqual(
    docs.map((d) => d.kind),
    ["VipPool", "IngressClass", "Secret", "Service", "EndpointSlice", "Ingress"],
  );
  assert.deepEqual(docs[0]!.spec!.addresses, ["127.0.0.32/32"]);
  assert.equal(Buffer.from(docs[2]!.data!["tls.crt"]!, "base64").toString(), "C");
  assert.deepEqual(docs[5]!.spec!.tls, [{ secretName: "bench-tls" }]);
});
