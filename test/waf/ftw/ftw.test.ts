// ftw.test.ts: the corpus runner on its own (no WAF needed): real CRS tests → the exact bytes
// go-ftw sends, marker correlation on a log stream, the checks, the backend, the raw client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { parseTestFile, loadCorpus, sample, type FtwTest } from "./corpus.ts";
import { buildRequest, encodeForm, expandTemplate, queryEscape } from "./request.ts";
import { AccessLog, between, ruleIds, logTexts, parseLine } from "./log.ts";
import { checkStage } from "./check.ts";
import { send } from "./client.ts";
import { startBackend, sniff } from "./backend.ts";
import { loadOverrides, probeWaf, runTest } from "./runner.ts";
import { CORPUS_DIR, OVERRIDES_FILE } from "./run.ts";

// Verbatim from CRS 4.25.0 tests/regression/tests (920270.yaml test 1, 920170.yaml tests 3 and 4).
const CRS_920 = `---
meta:
  author: "csanders-git, azurit"
rule_id: 920270
tests:
  - test_id: 1
    stages:
      - input:
          dest_addr: "127.0.0.1"
          port: 80
          uri: "/?test%00=test1"
          headers:
            User-Agent: "OWASP CRS test agent"
            Host: "localhost"
            Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5
          version: "HTTP/1.1"
        output:
          log:
            expect_ids: [920270]
  - test_id: 3
    stages:
      - input:
          dest_addr: "127.0.0.1"
          method: "GET"
          port: 80
          headers:
            User-Agent: "OWASP CRS test agent"
            Host: "localhost"
            Content-Type: "application/x-www-form-urlencoded"
            Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5
          data: "hi=test"
          uri: "/"
          version: "HTTP/1.1"
        output:
          log:
            expect_ids: [920170]
  - test_id: 4
    stages:
      - input:
          dest_addr: "127.0.0.1"
          method: "GET"
          port: 80
          headers:
            User-Agent: "OWASP CRS test agent"
            Host: "localhost"
            Content-Type: "application/x-www-form-urlencoded"
            Content-Length: "0"
            Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5
          data: "hi=test\\r\\n"
          uri: "/"
          version: "HTTP/1.1"
          autocomplete_headers: false
        output:
          log:
            no_expect_ids: [920170]
          log_contains: "found within ARGS"
  - stages:
      - input:
          method: POST
          uri: /post
          headers:
            Host: localhost
            Content-Type: "multipart/form-data; boundary=--b"
          data: |
            ----b
            Content-Disposition: form-data; name="f"; filename="a.txt"

            {{ "1" | repeat 5 }}
            ----b--
          stop_magic: true
        output:
          status: 200
  - stages:
      - input:
          encoded_request: "R0VUIC8gSFRUUC8xLjENCkhvc3Q6IGxvY2FsaG9zdA0KDQo="
        output:
          expect_error: true
`;

const ACCEPT =
  "Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n";

test("parseTestFile applies go-ftw's defaults: ids, sorted headers, stop_magic, log_contains", () => {
  const tests = parseTestFile(CRS_920, "x/920270.yaml", "REQUEST-920-PROTOCOL-ENFORCEMENT");
  assert.deepEqual(
    tests.map((t) => t.id),
    ["920270-1", "920270-3", "920270-4", "920270-4", "920270-5"],
    "explicit test_id kept, missing ones numbered by position",
  );
  assert.deepEqual(
    tests[0]!.stages[0]!.input.headers.map(([n]) => n),
    ["Accept", "Host", "User-Agent"],
  );
  assert.equal(tests[2]!.stages[0]!.input.autocompleteHeaders, false);
  assert.equal(tests[3]!.stages[0]!.input.autocompleteHeaders, false, "stop_magic: true");
  assert.equal(tests[0]!.stages[0]!.input.autocompleteHeaders, true);
  // log_contains becomes match_regex unless expect_ids is given (no_expect_ids does not matter).
  assert.equal(tests[2]!.stages[0]!.output.matchRegex, "found within ARGS");
});

test("buildRequest writes go-ftw's bytes: request line as given, headers in order, Connection: close", () => {
  const [t1, t3, t4, t5, t6] = parseTestFile(CRS_920, "x/920270.yaml", "F");
  assert.equal(
    buildRequest(t1!.stages[0]!.input).toString("latin1"),
    `GET /?test%00=test1 HTTP/1.1\r\n${ACCEPT}Host: localhost\r\nUser-Agent: OWASP CRS test agent\r\nConnection: close\r\n\r\n`,
  );
  // data with autocomplete: form-encoded key/values, Content-Length added after Connection.
  assert.equal(
    buildRequest(t3!.stages[0]!.input).toString("latin1"),
    `GET / HTTP/1.1\r\n${ACCEPT}Content-Type: application/x-www-form-urlencoded\r\nHost: localhost\r\nUser-Agent: OWASP CRS test agent\r\nConnection: close\r\nContent-Length: 7\r\n\r\nhi=test`,
  );
  // autocomplete_headers: false — exactly the headers given, the body as written (CRLF included).
  assert.equal(
    buildRequest(t4!.stages[0]!.input).toString("latin1"),
    `GET / HTTP/1.1\r\n${ACCEPT}Content-Length: 0\r\nContent-Type: application/x-www-form-urlencoded\r\nHost: localhost\r\nUser-Agent: OWASP CRS test agent\r\n\r\nhi=test\r\n`,
  );
  // multipart: template expanded, LF → CRLF even without autocomplete.
  assert.equal(
    buildRequest(t5!.stages[0]!.input).toString("latin1"),
    `POST /post HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=--b\r\nHost: localhost\r\n\r\n----b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n11111\r\n----b--\r\n`,
  );
  assert.equal(
    buildRequest(t6!.stages[0]!.input).toString("latin1"),
    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  );
});

test("buildRequest: a POST without data gets Content-Length: 0; PATCH matches go-ftw's unanchored regex", () => {
  const input = { headers: [["Host", "h"]] as [string, string][], autocompleteHeaders: true };
  assert.match(buildRequest({ ...input, method: "POST" }).toString(), /Content-Length: 0\r\n\r\n$/);
  assert.match(buildRequest({ ...input, method: "XPATCHX" }).toString(), /Content-Length: 0/);
  assert.doesNotMatch(buildRequest({ ...input, method: "XPOST" }).toString(), /Content-Length/);
});

test("encodeForm and queryEscape follow Go's url.QueryEscape", () => {
  assert.equal(queryEscape(Buffer.from("a b/é'<")), "a+b%2F%C3%A9%27%3C");
  assert.equal(encodeForm(Buffer.from("x=1 or 1=1&y&z=<a>")).toString(), "x=1+or+1%3D1&y&z=%3Ca%3E");
  assert.equal(encodeForm(Buffer.from("x=%27&y=<")).toString(), "x=%27&y=<", "already escaped: as written");
  assert.equal(encodeForm(Buffer.from("x=a+b")).toString(), "x=a+b");
  assert.equal(encodeForm(Buffer.from("a=1&")).toString(), "a=1", "go-ftw drops a trailing '&'");
  assert.throws(() => expandTemplate("{{ now }}"), /unsupported template/);
});

test("marker correlation: the lines between the last start and the first end marker", () => {
  const log = new AccessLog();
  const line = (path: string, ids?: number[]): string =>
    JSON.stringify({
      path,
      status: 200,
      ...(ids
        ? {
            waf: {
              action: "detect",
              ruleIds: ids,
              hits: [
                {
                  ruleId: ids[0],
                  msg: "Inbound Anomaly Score Exceeded (Total Score: 5)",
                  data: "Matched Data: x found within ARGS:a: x",
                },
              ],
            },
          }
        : {}),
    });
  const stream = [
    line("/__ftw/marker/a/start"),
    line("/old", [1]),
    line("/__ftw/marker/b/start"),
    line("/__ftw/marker/b/start"),
    line("/get?x=1", [942100, 949110]),
    line("/__ftw/marker/b/end"),
    line("/later", [2]),
  ].join("\n");
  // Written in odd pieces, as a pipe delivers it.
  log.push(stream.slice(0, 37));
  log.push(stream.slice(37) + "\n{not json\n");
  const lines = between(log.lines, "/__ftw/marker/b/start", "/__ftw/marker/b/end")!;
  assert.deepEqual(
    lines.map((l) => l.path),
    ["/get?x=1"],
  );
  assert.deepEqual(ruleIds(lines), [942100, 949110]);
  assert.ok(
    logTexts(lines).some((t) =>
      /\[id "942100"\].*\[msg "Inbound Anomaly Score Exceeded \(Total Score: /.test(t),
    ),
  );
  assert.equal(between(log.lines, "/__ftw/marker/c/start", "/__ftw/marker/b/end"), undefined);
  assert.deepEqual(log.other, ["{not json"]);
  assert.equal(parseLine('{"msg":"engine"}'), undefined);
});

test("AccessLog.waitFor resolves when the line arrives, false at its deadline", async () => {
  const log = new AccessLog();
  const p = log.waitFor("/m", 5000);
  setImmediate(() => log.push(JSON.stringify({ path: "/m", status: 200 }) + "\n"));
  assert.equal(await p, true);
  assert.equal(await log.waitFor("/never", 20), false);
});

test("checkStage follows go-ftw's order and semantics", () => {
  const out = { expectIds: [], noExpectIds: [], expectError: false, isolated: false, retryOnce: false };
  const lines = [{ path: "/", status: 200, text: "{}", waf: { ruleIds: [920270, 949110] } }];
  const ok = { status: 200, raw: "HTTP/1.1 200 OK\r\n\r\n" };
  assert.equal(checkStage({ ...out, expectIds: [920270] }, ok, lines).ok, true);
  assert.match(checkStage({ ...out, expectIds: [920271] }, ok, lines).why, /missing 920271/);
  assert.match(checkStage({ ...out, noExpectIds: [949110] }, ok, lines).why, /unexpected 949110/);
  assert.match(checkStage({ ...out, status: 400 }, ok, lines).why, /status 200, expected 400/);
  assert.equal(checkStage({ ...out, expectError: true }, { raw: "", error: "EOF" }, undefined).ok, true);
  assert.equal(checkStage({ ...out, expectError: true }, ok, lines).ok, false);
  assert.match(checkStage(out, { raw: "", error: "EOF" }, lines).why, /unexpected error/);
  assert.match(checkStage({ ...out, isolated: true, expectIds: [920270] }, ok, lines).why, /isolated/);
  assert.match(checkStage({ ...out, expectIds: [1] }, ok, undefined).why, /marker/);
  assert.equal(checkStage({ ...out, responseContains: "(?i)http/1" }, ok, lines).ok, true);
});

test("send: a response is read to its framing; a close without response is an error", async () => {
  const server = createServer((sock) => {
    sock.once("data", (d) => {
      if (d.toString().startsWith("GET /close")) sock.destroy();
      else sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); // kept open: framing ends it
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const a = await send("127.0.0.1", port, Buffer.from("GET / HTTP/1.1\r\n\r\n"), 5000);
    assert.equal(a.status, 200);
    assert.ok(a.raw.endsWith("\r\n\r\nok"));
    const b = await send("127.0.0.1", port, Buffer.from("GET /close HTTP/1.1\r\n\r\n"), 5000);
    assert.equal(b.error, "EOF");
  } finally {
    server.close();
  }
});

test("backend answers like albedo: empty 200, /reflect as asked, Go's content sniffing", async () => {
  const b = await startBackend();
  try {
    const plain = await fetch(`http://127.0.0.1:${b.port}/get?a=1`);
    assert.equal(plain.status, 200);
    assert.equal(await plain.text(), "");
    const r = await fetch(`http://127.0.0.1:${b.port}/reflect`, {
      method: "POST",
      body: JSON.stringify({ status: 201, headers: { "X-A": "b" }, body: "<html>oops</html>" }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("x-a"), "b");
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await r.text(), "<html>oops</html>");
  } finally {
    await b.close();
  }
  assert.equal(sniff(Buffer.from("SQL error near")), "text/plain; charset=utf-8");
  assert.equal(sniff(Buffer.from("<?xml version")), "text/xml; charset=utf-8");
});

test(
  "the corpus loads: every CRS test, deterministic samples, a valid overrides file",
  { skip: !existsSync(CORPUS_DIR) && "run scripts/crs/fetch.sh" },
  () => {
    const all = loadCorpus(CORPUS_DIR);
    assert.ok(all.length >= 4600, `${all.length} tests`);
    assert.equal(new Set(all.map((t) => t.file)).size >= 20, true);
    for (const t of all) for (const s of t.stages) buildRequest(s.input); // every stage encodes
    const a = sample(all, 100, 16).map((t) => t.id);
    assert.deepEqual(
      sample(all, 100, 16).map((t) => t.id),
      a,
    );
    assert.equal(new Set(sample(all, 100, 16).map((t) => t.file)).size > 10, true, "spread over files");
    assert.ok(loadOverrides(OVERRIDES_FILE).size <= 25);
    assert.deepEqual(
      loadCorpus(CORPUS_DIR, { rules: [942100] })
        .map((t) => t.ruleId)
        .every((r) => r === 942100),
      true,
    );
  },
);

test("runTest: markers around the stage, the stage's line judged, overrides not run", async () => {
  // A stand-in Portico: answers 200 and logs a line per request, rule 942100 when the target has "or 1".
  const log = new AccessLog();
  const server = createServer((sock) => {
    sock.once("data", (d) => {
      const path = d.toString("latin1").split(" ")[1] ?? "";
      const ids = path.includes("or%201") ? [942100] : [];
      sock.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", () => {
        log.push(
          JSON.stringify({
            path,
            status: 200,
            waf: { action: path.startsWith("/__ftw/") ? "bypass" : "pass", ruleIds: ids },
          }) + "\n",
        );
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = {
    address: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    log,
    problems: [],
    alive: () => true,
    stop: async () => {},
  };
  const mk = (id: string, uri: string, expect: number[]): FtwTest => ({
    ...parseTestFile(CRS_920, "x/920270.yaml", "F")[0]!,
    id,
    stages: [
      {
        input: { uri, headers: [["Host", "localhost"]], autocompleteHeaders: true },
        output: { expectIds: expect, noExpectIds: [], expectError: false, isolated: false, retryOnce: false },
      },
    ],
  });
  try {
    assert.equal(await probeWaf(target), "bypass");
    assert.equal((await runTest(target, mk("1-1", "/?a=1%20or%201", [942100]))).result, "pass");
    const miss = await runTest(target, mk("1-2", "/?a=2", [942100]));
    assert.equal(miss.result, "fail");
    assert.match(miss.why, /missing 942100 \(logged: none\)/);
    assert.deepEqual(
      miss.seen?.log.map((l) => JSON.parse(l).path),
      ["/?a=2"],
    );
    const o = await runTest(target, mk("1-3", "/", [1]), {
      overrides: new Map([["1-3", "a reason long enough"]]),
    });
    assert.equal(o.result, "override");
  } finally {
    server.close();
  }
});
