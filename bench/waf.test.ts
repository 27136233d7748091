// waf.test.ts: the WAF bench's pure parts — the request bodies, configurations and the report.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BENCH_WAF,
  modsecCompatible,
  modsecRules,
  nginxWafConfig,
  postBody,
  wafBenchSnapshot,
  wrkPostScript,
} from "./waf-configs.ts";
import { wafReport, type WafSample } from "./waf-report.ts";
import { median } from "./summary.ts";

test("the POST body is 4096 bytes of urlencoded words", () => {
  const b = postBody();
  assert.equal(Buffer.byteLength(b), 4096);
  assert.match(b, /^(field\d+=[a-z+]+&)+field\d+=[a-z+]*[a-z]$/);
  assert.match(wrkPostScript(b), /wrk.method = "POST"/);
});

test("snapshot and configs: WAF only where asked, ModSecurity only with a rules file", () => {
  const at = { address: "127.0.0.61", port: 8000 };
  const be = { address: "127.0.0.62", port: 8080 };
  assert.equal(wafBenchSnapshot(at, be).http[0]!.virtualHosts[0]!.routes[0]!.waf, undefined);
  const waf = wafBenchSnapshot(at, be, BENCH_WAF).http[0]!.virtualHosts[0]!.routes[0]!.waf!;
  assert.equal(waf.mode, "Enforcement");
  assert.equal(waf.paranoiaLevel, 1);
  const plain = nginxWafConfig({ at, backend: be, dir: "/tmp/x", tag: "a" });
  assert.doesNotMatch(plain, /modsecurity/);
  const ms = nginxWafConfig({ at, backend: be, dir: "/tmp/x", tag: "b", rulesFile: "/tmp/x/r.conf" });
  assert.match(ms, /^load_module .*ngx_http_modsecurity_module\.so;/);
  assert.match(ms, /modsecurity_rules_file \/tmp\/x\/r\.conf;/);
  const rules = modsecRules("/crs");
  assert.match(rules, /^SecRuleEngine On$/m);
  assert.match(rules, /tx\.blocking_paranoia_level=1/);
  assert.ok(rules.indexOf("crs-setup.conf.example") < rules.indexOf("rules/*.conf"));
});

test("modsecCompatible gives a chained rule without actions an explicit t:none, nothing else", () => {
  const text = [
    'SecRule A "@ge 1" \\',
    '    "id:1,phase:1,deny,chain"',
    '    SecRule TX:EARLY_BLOCKING "@eq 1"',
    'SecRule B "@rx a\\"b" "id:2,pass"',
    "",
  ].join("\n");
  const out = modsecCompatible(text);
  assert.match(out, /^ {4}SecRule TX:EARLY_BLOCKING "@eq 1" "t:none"$/m);
  assert.equal(out.replace(' "t:none"', ""), text);
});

test("the report gives ratios and added p50 against each baseline, and says whether targets are met", () => {
  const s = (server: string, caseId: string, value: number, p50: number): WafSample => ({
    server,
    caseId,
    round: 1,
    result: { value, p50Ms: p50, p99Ms: p50 * 2, errors: 0 },
  });
  const samples = [
    s("Portico", "get-c16", 10000, 1),
    s("Portico+CRS", "get-c16", 8000, 1.5),
    s("Portico", "get-c1", 3000, 0.3),
    s("Portico+CRS", "get-c1", 2000, 0.5),
    s("Portico", "post4k-c16", 8000, 1),
    s("Portico+CRS", "post4k-c16", 4000, 2),
  ];
  const r = wafReport(samples, {
    rounds: 1,
    seconds: 1,
    notes: ["nginx+ModSecurity not measured: x"],
    median,
  });
  assert.match(r, /\| get \| Portico\+CRS \/ Portico \| 0\.80 \| 0\.200 \| met/);
  assert.match(r, /\| post4k \| Portico\+CRS \/ Portico \| 0\.50 \| – \| NOT met/);
  assert.match(r, /- nginx\+ModSecurity not measured: x/);
});
