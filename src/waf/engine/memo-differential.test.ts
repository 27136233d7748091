// A random differential of the memo (memo.ts) on rule shapes the CRS corpus does not hold:
// custom rules with runtime ctl removals (by id, by tag, of targets, of counted targets),
// ctl:ruleEngine and ctl:requestBodyProcessor, skipAfter, counts, negation, multiMatch, captures
// and chains, regex selectors, XML and JSON bodies, response phases, values over the cache's
// 2 048 characters, through a cache small enough to turn. Each request runs through one program
// with the memo and one without (same seed, same requests, the memo warm from earlier requests)
// and must give the same log. Ignoring negation in the memo's bits, or entering no counted rule
// after a runtime removal, fails it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileProgram, type Program } from "./index.ts";

let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;

const TARGETS = [
  "ARGS",
  "ARGS_NAMES",
  "ARGS:a",
  "ARGS_GET",
  "ARGS_POST",
  "REQUEST_HEADERS",
  "REQUEST_HEADERS:X-A",
  "REQUEST_HEADERS:x-a",
  "REQUEST_HEADERS:/^x-/",
  "ARGS:/^a/",
  "REQUEST_COOKIES",
  "REQUEST_COOKIES_NAMES",
  "REQUEST_URI",
  "REQUEST_FILENAME",
  "REQUEST_BODY",
  "&ARGS",
  "&ARGS:a",
  "&REQUEST_HEADERS:X-A",
  "&REQUEST_COOKIES",
  "REQBODY_PROCESSOR",
  "XML:/*",
  "&XML:/*",
  "REQUEST_METHOD",
  "QUERY_STRING",
  "ARGS|!ARGS:b",
  "ARGS|!ARGS:/^b/",
  "REQUEST_HEADERS|!REQUEST_HEADERS:X-B",
  "&ARGS|!ARGS:a",
  "RESPONSE_HEADERS",
  "RESPONSE_BODY",
  "STATUS",
  "REQBODY_ERROR",
];
const OPS = [
  "@rx a",
  "@rx ^$",
  "@rx b",
  "!@rx a",
  "!@rx ^$",
  "@streq a",
  "!@streq a",
  "@eq 0",
  "@eq 1",
  "@gt 1",
  "!@eq 0",
  "@pm aa bb",
  "@contains b",
  "@within abc",
  "@beginsWith x",
  "@detectSQLi",
  "@detectXSS",
  "@validateByteRange 97-122",
  "@ipMatch 127.0.0.1",
  "@endsWith a",
  "@lt 2",
];
const TS = [
  "t:none",
  "t:none,t:lowercase",
  "t:none,t:urlDecodeUni",
  "t:none,t:length",
  "t:none,t:removeWhitespace,t:lowercase",
  "t:none,t:base64Decode",
];

function rules(n: number): string {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const phase = pick([1, 1, 2, 2, 2, 3, 4]);
    const extra: string[] = [];
    const r = rnd();
    if (r < 0.08)
      extra.push(
        `ctl:ruleRemoveTargetById=${i + 1 + Math.floor(rnd() * 3)};${pick(["ARGS:a", "REQUEST_HEADERS:X-A", "ARGS", "REQUEST_COOKIES"])}`,
      );
    else if (r < 0.12) extra.push(`ctl:ruleRemoveById=${i + 1 + Math.floor(rnd() * 3)}`);
    else if (r < 0.15) extra.push(`ctl:requestBodyProcessor=${pick(["JSON", "XML", "URLENCODED"])}`);
    else if (r < 0.18) extra.push(`skipAfter:M${i}`);
    else if (r < 0.21)
      extra.push(
        `ctl:ruleRemoveTargetByTag=t${Math.floor(rnd() * 3)};${pick(["ARGS:a", "REQUEST_HEADERS:X-A", "ARGS"])}`,
      );
    else if (r < 0.23) extra.push(`ctl:ruleEngine=${pick(["Off", "DetectionOnly"])}`);
    if (rnd() < 0.2) extra.push("multiMatch");
    if (rnd() < 0.2) extra.push("capture");
    const disr = rnd() < 0.15 ? "deny,status:403" : "pass";
    const chain = rnd() < 0.2;
    const acts = [
      `id:${i}`,
      `phase:${phase}`,
      disr,
      "log",
      `tag:t${i % 3}`,
      pick(TS),
      `setvar:tx.score=+${i}`,
      `msg:'r${i} %{MATCHED_VAR_NAME}'`,
      ...extra,
      ...(chain ? ["chain"] : []),
    ];
    out.push(`SecRule ${pick(TARGETS)} "${pick(OPS)}" "${acts.join(",")}"`);
    if (chain)
      out.push(
        `  SecRule ${pick(["TX:1", "MATCHED_VAR", "ARGS", "REQUEST_HEADERS:X-A"])} "${pick(OPS)}" "t:none"`,
      );
    if (extra.some((e) => e.startsWith("skipAfter"))) out.push(`SecMarker M${i}`);
  }
  return out.join("\n");
}

const conn = {
  id: "f",
  clientAddress: "127.0.0.1",
  clientPort: 1,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: 0,
};
const VALS = [
  "a",
  "",
  "b",
  "aa",
  "x",
  "0",
  "1",
  "abc",
  "A",
  "%61",
  "1' or 1=1--",
  "<script>",
  "YQ==",
  " a ",
  "bb aa",
  "xa",
  "a".repeat(2100),
  "a".repeat(2100) + "b",
];
function request() {
  const args: string[] = [];
  const n = Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++)
    args.push(`${pick(["a", "b", "ab", "c", "A"])}=${encodeURIComponent(pick(VALS))}`);
  const headers: [string, string][] = [["Host", "h"]];
  for (let i = 0; i < Math.floor(rnd() * 3); i++)
    headers.push([pick(["X-A", "x-a", "X-B", "X-c", "User-Agent"]), pick(VALS)]);
  if (rnd() < 0.4) headers.push(["Cookie", `${pick(["a", "xa", "b"])}=${pick(VALS)}`]);
  const kind = pick(["none", "form", "json", "xml"]);
  let b = "";
  if (kind === "form") {
    headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
    b = `${pick(["a", "b"])}=${encodeURIComponent(pick(VALS))}`;
  }
  if (kind === "json") {
    headers.push(["Content-Type", "application/json"]);
    b = JSON.stringify({ a: pick(VALS), b: [pick(VALS)] });
  }
  if (kind === "xml") {
    headers.push(["Content-Type", "text/xml"]);
    b = `<r><a>${pick(["a", "b", "x"])}</a></r>`;
  }
  return { uri: `/${pick(["a", "x", "p"])}?${args.join("&")}`, headers, body: b, resp: pick(VALS) };
}
function run(p: Program, q: ReturnType<typeof request>) {
  const tx = p.newTransaction(conn);
  let r = tx.requestHeaders({
    method: q.body ? "POST" : "GET",
    uri: q.uri,
    protocol: "HTTP/1.1",
    headers: q.headers,
  });
  if (!r.interruption) r = tx.requestBody(Buffer.from(q.body, "latin1"), false);
  if (!r.interruption)
    r = tx.responseHeaders({
      status: 200,
      protocol: "HTTP/1.1",
      headers: [
        ["Content-Type", "text/html"],
        ["X-A", q.resp],
      ],
    });
  if (!r.interruption) tx.responseBody(Buffer.from(q.resp, "latin1"), false);
  const { elapsedMs: _, ...rest } = tx.logging();
  return rest;
}
function prog(text: string, memo: boolean): Program {
  const parsed = parseRules(
    `SecRequestBodyAccess On\nSecResponseBodyAccess On\nSecResponseBodyMimeType text/html\nSecRuleEngine On\n${text}`,
    "f.conf",
  );
  assert.deepEqual(
    parsed.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(
    parsed.set,
    { budgetMs: 0, memo, valueCache: { maxBytes: 6000, maxEntries: 40 } },
    { ops, body },
  );
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}
test("custom rules, random requests: the memo gives the logs of memo: false", () => {
  for (let k = 0; k < 150; k++) {
    seed = 1000 + k;
    const text = rules(12);
    const a = prog(text, true);
    const b = prog(text, false);
    const reqs = Array.from({ length: 60 }, request);
    for (const [n, q] of reqs.entries())
      assert.deepEqual(run(a, q), run(b, q), `seed ${1000 + k}, request ${n}:\n${text}`);
  }
});
