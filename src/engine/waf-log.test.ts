// waf-log.test.ts: the WAF log's redaction, exclusion suggestions and line format.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { WafHit } from "../waf/engine/types.ts";
import type { HttpResponseEvent } from "./l7/events.ts";
import { exclusionFor, exclusionYaml, formatWafLine, redacts, scrub, wafHitRecord } from "./waf-log.ts";

function hit(over: Partial<WafHit> = {}): WafHit {
  return {
    ruleId: 942100,
    phase: 2,
    msg: "SQL Injection Attack Detected via libinjection",
    data: "",
    tags: ["attack-sqli"],
    variable: "ARGS:q",
    value: "1' or 1=1--",
    disruptive: false,
    ...over,
  };
}

test("redacts: credentials by collection, header and name; other variables are shown", () => {
  for (const v of [
    "REQUEST_HEADERS:Authorization",
    "REQUEST_HEADERS:proxy-authorization",
    "REQUEST_HEADERS:Cookie",
    "RESPONSE_HEADERS:Set-Cookie",
    "REQUEST_HEADERS:X-Api-Key",
    "REQUEST_COOKIES:sid",
    "REQUEST_COOKIES:theme",
    "ARGS:password",
    "ARGS_POST:user_passwd",
    "ARGS_GET:pwd",
    "ARGS:client_secret",
    "ARGS:access_token",
    "ARGS:api_key",
    "ARGS:apiKey",
    "ARGS:json.user.Password",
  ])
    assert.equal(redacts(v), true, v);
  for (const v of [
    "ARGS:q",
    "ARGS_NAMES:password",
    "REQUEST_COOKIES_NAMES:sid",
    "REQUEST_HEADERS:User-Agent",
    "REQUEST_URI",
    "REQUEST_FILENAME",
    "TX:blocking_inbound_anomaly_score",
    "",
  ])
    assert.equal(redacts(v), false, v);
});

test("scrub: credential pairs inside a query, form or JSON text; the rest left as is", () => {
  assert.equal(scrub("/login?user=bob&password=hunter2&x=1"), "/login?user=bob&password=[redacted]&x=1");
  assert.equal(scrub("token=abc; q=<script>"), "token=[redacted]; q=<script>");
  assert.equal(scrub('{"user":"bob","Password" : "hun\\"ter2"}'), '{"user":"bob","Password" : "[redacted]"}');
  assert.equal(scrub("q=<script>alert(1)</script>"), "q=<script>alert(1)</script>");
  assert.equal(scrub("no pairs here"), "no pairs here");
});

test("a hit's record: value truncated to 64 bytes, credentials redacted with their logdata", () => {
  const long = hit({
    value: "a".repeat(100),
    data: "Matched Data: x found within ARGS:q: " + "a".repeat(200),
  });
  const r = wafHitRecord(long);
  assert.equal(r.value, "a".repeat(64) + "…");
  assert.equal((r.data as string).length, 128 + 1);
  assert.equal(r.exclusion, '{ruleIds: [942100], variables: ["ARGS:q"]}');
  const pw = wafHitRecord(
    hit({ variable: "ARGS:password", value: "hunter2", data: "found within ARGS:password: hunter2" }),
  );
  assert.equal(pw.value, "[redacted]");
  assert.equal(pw.data, "[redacted]");
  assert.equal(pw.exclusion, '{ruleIds: [942100], variables: ["ARGS:password"]}');
  // Another variable of the same hit was a credential: the data (expanded at it) goes too.
  const both = wafHitRecord(hit({ variables: ["ARGS:q", "ARGS:pwd"], data: "within ARGS:pwd: hunter2" }));
  assert.equal(both.value, "1' or 1=1--");
  assert.equal(both.data, "[redacted]");
  // A value in a whole-text variable keeps its shape, its credentials scrubbed.
  const uri = wafHitRecord(hit({ variable: "REQUEST_URI", value: "/a?token=s3cr3t&q=1" }));
  assert.equal(uri.value, "/a?token=[redacted]&q=1");
  // Bytes that are UTF-8 read as such in the JSON line.
  assert.equal(wafHitRecord(hit({ value: Buffer.from("é<", "utf8").toString("latin1") })).value, "é<");
});

test("exclusionFor: the rule for the matched variables, the whole rule when one cannot be named, none for scoring", () => {
  assert.equal(exclusionYaml(exclusionFor(hit())!), '{ruleIds: [942100], variables: ["ARGS:q"]}');
  assert.equal(
    exclusionYaml(exclusionFor(hit({ ruleId: 920273, variable: "REQUEST_HEADERS:User-Agent" }))!),
    '{ruleIds: [920273], variables: ["REQUEST_HEADERS:User-Agent"]}',
  );
  assert.equal(
    exclusionYaml(exclusionFor(hit({ variables: ["ARGS:q", "ARGS:comment"] }))!),
    '{ruleIds: [942100], variables: ["ARGS:q", "ARGS:comment"]}',
  );
  assert.equal(
    exclusionYaml(exclusionFor(hit({ variable: "REQUEST_BODY" }))!),
    '{ruleIds: [942100], variables: ["REQUEST_BODY"]}',
  );
  // `|` splits SecRuleUpdateTarget's targets, a leading `/` makes a regex: the whole rule instead.
  assert.equal(exclusionYaml(exclusionFor(hit({ variable: "ARGS:a|b" }))!), "{ruleIds: [942100]}");
  assert.equal(exclusionYaml(exclusionFor(hit({ variable: "ARGS:/x/" }))!), "{ruleIds: [942100]}");
  assert.equal(exclusionYaml(exclusionFor(hit({ variable: "" }))!), "{ruleIds: [942100]}");
  assert.equal(
    exclusionFor(
      hit({ ruleId: 949110, variable: "TX:blocking_inbound_anomaly_score", tags: ["anomaly-evaluation"] }),
    ),
    undefined,
  );
  assert.equal(exclusionFor(hit({ ruleId: 980170, variable: "", tags: ["reporting"] })), undefined);
});

function event(over: Partial<HttpResponseEvent> = {}): HttpResponseEvent {
  return {
    listener: "web",
    route: "r",
    vhost: "*",
    pool: "p",
    backend: "",
    status: 403,
    durationMs: 1,
    bytesIn: 0,
    bytesOut: 0,
    client: "127.0.0.1",
    method: "GET",
    authority: "app.example",
    path: "/search?q=1%27+or+1%3D1--&password=hunter2",
    protocol: "HTTP/1.1",
    waf: {
      policy: "WafPolicy/default/p",
      action: "block",
      ruleIds: [942100, 949110],
      hits: [hit()],
      inbound: 5,
      outbound: 0,
      blockedBy: 949110,
      elapsedMs: 0.5,
    },
    ...over,
  };
}

test("formatWafLine: a line for hits or a block, none for a clean pass or a bypass; no query string", () => {
  const line = JSON.parse(formatWafLine(event(), new Date(0))!) as Record<string, unknown>;
  assert.equal(line.time, "1970-01-01T00:00:00.000Z");
  assert.equal(line.path, "/search");
  assert.equal(line.policy, "WafPolicy/default/p");
  assert.equal(line.action, "block");
  assert.equal(line.blockedBy, 949110);
  assert.deepEqual(line.ruleIds, [942100, 949110]);
  assert.doesNotMatch(JSON.stringify(line), /hunter2/);
  const clean = event({ status: 200, waf: { ...event().waf!, action: "pass", ruleIds: [], hits: [] } });
  assert.equal(formatWafLine(clean, new Date(0)), undefined);
  assert.equal(formatWafLine(event({ waf: { ...clean.waf!, action: "bypass" } }), new Date(0)), undefined);
  // A block without a rule hit (body over the limit, Reject) and a failure are logged.
  assert.ok(formatWafLine(event({ status: 413, waf: { ...clean.waf!, action: "block" } }), new Date(0)));
  assert.ok(formatWafLine(event({ status: 503, waf: { ...clean.waf!, action: "error" } }), new Date(0)));
  assert.equal(formatWafLine(event({ waf: undefined }), new Date(0)), undefined);
});
