// portico.ts: the Portico under test for the CRS corpus. Run as a child process, it applies an
// EngineSnapshot (IR) with one HTTP listener on the VIP, every path routed to the albedo-like
// backend with the corpus WAF policy (the WAF bench's snapshot, bench/waf-configs.ts), and
// writes the access log (JSON lines, with the WAF hits' messages) on stdout:
//   portico.ts --address 127.0.77.1 --port 18777 --backend 127.0.0.1:PORT
// It prints `{"msg":"ready"}` on stderr once the listener is bound.
import { parseArgs } from "node:util";
import { Engine } from "../../../src/engine/engine.ts";
import { compileHttp } from "../../../src/engine/l7/compile.ts";
import { subscribe } from "node:diagnostics_channel";
import { formatAccessLine } from "../../../src/engine/access-log.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "../../../src/engine/l7/events.ts";
import type { WafConfig } from "../../../src/model/ir.ts";
import { wafBenchSnapshot } from "../../../bench/waf-configs.ts";
import { MARKER_PREFIX } from "./log.ts";

/**
 * CORPUS_WAF is the policy the CRS regression corpus expects, from the CRS repository's
 * tests/regression/README.md ("Requirements", rule 900005; the same block is in Coraza's
 * testing/coreruleset/coreruleset_test.go):
 *   ctl:ruleEngine=DetectionOnly         → mode Detection (every rule runs; statuses are the backend's)
 *   tx.blocking_paranoia_level=4         → paranoiaLevel 4
 *   tx.crs_validate_utf8_encoding=1, tx.arg_name_length=100, tx.arg_length=400,
 *   tx.total_arg_length=64000, tx.max_num_args=255, tx.max_file_size=64100,
 *   tx.combined_file_sizes=65535         → crsSettings
 *   ctl:ruleRemoveById=910000            → dropped: CRS 4 has no rule 910000 (IP reputation, v3).
 * Response bodies are inspected as in tests/docker-compose.yml (MODSEC_RESP_BODY_ACCESS On), and
 * the body limits are coraza.conf-recommended's (SecRequestBodyLimit 13107200 Reject,
 * SecResponseBodyLimit 524288 ProcessPartial). The marker requests are allowlisted by path, as
 * go-ftw's X-CRS-Test marker rule (id 999999) removes every rule for them.
 */
export const CORPUS_WAF: WafConfig = {
  key: "ftw-corpus",
  policy: "WafPolicy/ftw/crs-corpus",
  mode: "Detection",
  paranoiaLevel: 4,
  inboundAnomalyThreshold: 5,
  outboundAnomalyThreshold: 4,
  exclusions: [],
  allowlist: { paths: [{ type: "Prefix", value: MARKER_PREFIX }] },
  crsSettings: {
    crs_validate_utf8_encoding: "1",
    arg_name_length: "100",
    arg_length: "400",
    total_arg_length: "64000",
    max_num_args: "255",
    max_file_size: "64100",
    combined_file_sizes: "65535",
  },
  requestBodyLimitBytes: 13107200,
  requestBodyLimitAction: "Reject",
  inspectResponseBody: true,
  responseBodyLimitBytes: 524288,
  // Generous: 2 shared cores; a stage over budget is logged (overBudget) and counted as a failure.
  budgetMs: 10_000,
  failurePolicy: "FailOpen",
};

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      address: { type: "string", default: "127.0.77.1" },
      port: { type: "string", default: "18777" },
      backend: { type: "string" },
    },
  });
  if (!v.backend) throw new Error("--backend HOST:PORT is required");
  const i = v.backend.lastIndexOf(":");
  const backend = { address: v.backend.slice(0, i), port: Number(v.backend.slice(i + 1)) };
  const log = (level: string, msg: string, fields?: object): void => {
    if (level === "warn" || level === "error")
      process.stderr.write(JSON.stringify({ level, msg, ...fields }) + "\n");
  };
  // Portico's access-log line, plus the hits' msg and logdata the event carries (the line leaves
  // them out): match_regex in the corpus is written against ModSecurity's messages.
  subscribe(HTTP_RESPONSE_CHANNEL, (m) => {
    const e = m as HttpResponseEvent;
    const line = JSON.parse(formatAccessLine(e, new Date())) as { waf?: Record<string, unknown> };
    if (line.waf && e.waf)
      line.waf.hits = e.waf.hits.map((h) => ({ ruleId: h.ruleId, msg: h.msg, data: h.data }));
    process.stdout.write(JSON.stringify(line) + "\n");
  });
  const engine = new Engine({ compileHttp, log });
  const r = engine.apply(
    wafBenchSnapshot({ address: v.address, port: Number(v.port) }, backend, CORPUS_WAF, "ftw"),
  );
  if (!r.ok) {
    process.stderr.write(JSON.stringify({ level: "error", msg: "snapshot rejected", error: r.error }) + "\n");
    process.exit(2);
  }
  await engine.settled();
  const bad = engine.status().listeners.filter((l) => l.state !== "bound");
  if (bad.length > 0) {
    process.stderr.write(JSON.stringify({ level: "error", msg: "listener not bound", bad }) + "\n");
    process.exit(2);
  }
  process.stderr.write(JSON.stringify({ msg: "ready" }) + "\n");
  const stop = (): void => void engine.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
