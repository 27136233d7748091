import { test } from "node:test";
import assert from "node:assert/strict";
import { parseActions, peekId, splitActions } from "./actions.ts";
import { LangFault } from "./errors.ts";
import { parseTemplate } from "./macro.ts";
import type { Action } from "./model.ts";

const tpl = parseTemplate;

test("actions: splitting respects quotes and escapes", () => {
  assert.deepEqual(splitActions("id:1, msg:'a, b',tag:'it\\'s', nolog"), [
    { name: "id", value: "1", offset: 0 },
    { name: "msg", value: "a, b", offset: 6 },
    { name: "tag", value: "it's", offset: 17 },
    { name: "nolog", value: undefined, offset: 30 },
  ]);
  assert.equal(peekId("phase:1, id:'942100',block"), 942100);
  assert.equal(peekId("phase:1,block"), undefined);
});

test("actions: each action parses into its typed shape (table)", () => {
  const rows: [string, Action[]][] = [
    ["id:942100", [{ name: "id", value: 942100 }]],
    ["id:'200000'", [{ name: "id", value: 200000 }]],
    [
      "phase:1,phase:request,phase:response,phase:logging,phase:3",
      [1, 2, 4, 5, 3].map((p) => ({ name: "phase", value: p }) as Action),
    ],
    [
      "block,deny,pass,drop",
      ["block", "deny", "pass", "drop"].map((a) => ({ name: "disruptive", value: { action: a } }) as Action),
    ],
    [
      "allow,allow:phase,allow:request",
      [
        { name: "disruptive", value: { action: "allow", scope: "all" } },
        { name: "disruptive", value: { action: "allow", scope: "phase" } },
        { name: "disruptive", value: { action: "allow", scope: "request" } },
      ],
    ],
    [
      "redirect:'http://%{request_headers.host}/'",
      [{ name: "disruptive", value: { action: "redirect", target: tpl("http://%{request_headers.host}/") } }],
    ],
    [
      "status:403,skip:2,skipAfter:END-X",
      [
        { name: "status", value: 403 },
        { name: "skip", value: 2 },
        { name: "skipAfter", value: "END-X" },
      ],
    ],
    [
      "chain,capture,log,nolog,auditlog,noauditlog,multiMatch,MultiMatch",
      [
        ...["chain", "capture", "log", "nolog", "auditlog", "noauditlog", "multiMatch"].map(
          (name) => ({ name }) as Action,
        ),
        { name: "multiMatch" },
      ],
    ],
    [
      "severity:'CRITICAL',severity:2,severity:notice",
      [
        { name: "severity", value: 2 },
        { name: "severity", value: 2 },
        { name: "severity", value: 5 },
      ],
    ],
    [
      "t:none,t:urlDecodeUni,t:LOWERCASE,t:normalizePath",
      ["none", "urlDecodeUni", "lowercase", "normalisePath"].map((value) => ({ name: "t", value }) as Action),
    ],
    [
      "msg:'SQL Injection',logdata:'Matched %{MATCHED_VAR} in %{MATCHED_VAR_NAME}'",
      [
        { name: "msg", value: tpl("SQL Injection") },
        { name: "logdata", value: tpl("Matched %{MATCHED_VAR} in %{MATCHED_VAR_NAME}") },
      ],
    ],
    [
      "tag:'paranoia-level/1',ver:'OWASP_CRS/4.25.0',rev:2",
      [
        { name: "tag", value: tpl("paranoia-level/1") },
        { name: "ver", value: "OWASP_CRS/4.25.0" },
        { name: "rev", value: "2" },
      ],
    ],
    [
      "initcol:ip=%{remote_addr}_%{tx.ua_hash}",
      [{ name: "initcol", collection: "IP", key: tpl("%{remote_addr}_%{tx.ua_hash}") }],
    ],
    [
      "expirevar:ip.blocked=3600",
      [{ name: "expirevar", collection: "IP", key: tpl("blocked"), seconds: tpl("3600") }],
    ],
    ["setenv:blocked=1", [{ name: "setenv", key: tpl("blocked"), value: tpl("1") }]],
    ["sanitizeArg:password", [{ name: "sanitiseArg", value: tpl("password") }]],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseActions(text), want, text);
});

test("actions: setvar forms =, =+, =-, !, bare, with macros in name and value (table)", () => {
  const rows: [string, unknown][] = [
    ["setvar:tx.a=1", { collection: "TX", key: tpl("a"), op: "set", value: tpl("1") }],
    [
      "setvar:'tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'",
      {
        collection: "TX",
        key: tpl("inbound_anomaly_score_pl1"),
        op: "add",
        value: tpl("%{tx.critical_anomaly_score}"),
      },
    ],
    ["setvar:tx.a=-5", { collection: "TX", key: tpl("a"), op: "sub", value: tpl("5") }],
    ["setvar:!tx.a", { collection: "TX", key: tpl("a"), op: "delete" }],
    ["setvar:tx.flag", { collection: "TX", key: tpl("flag"), op: "set", value: tpl("1") }],
    [
      "setvar:'tx.%{rule.id}-OWASP=%{matched_var}'",
      { collection: "TX", key: tpl("%{rule.id}-OWASP"), op: "set", value: tpl("%{matched_var}") },
    ],
    [
      "setvar:'tx.allowed=|a/b| |c=d|'",
      { collection: "TX", key: tpl("allowed"), op: "set", value: tpl("|a/b| |c=d|") },
    ],
    ["setvar:ip.hits=+1", { collection: "IP", key: tpl("hits"), op: "add", value: tpl("1") }],
  ];
  for (const [text, want] of rows)
    assert.deepEqual(parseActions(text), [{ name: "setvar", value: want }], text);
  assert.deepEqual(tpl("x%{tx.a}y%{MATCHED_VAR}").parts, [
    "x",
    { collection: "TX", key: "a" },
    "y",
    { collection: "MATCHED_VAR" },
  ]);
  assert.deepEqual(tpl("50%{ not closed").parts, ["50%{ not closed"]);
});

test("actions: ctl options with typed values (table)", () => {
  const rows: [string, unknown][] = [
    ["ctl:ruleEngine=DetectionOnly", { option: "ruleEngine", value: "DetectionOnly" }],
    ["ctl:ruleRemoveById=920420", { option: "ruleRemoveById", ids: [{ from: 920420, to: 920420 }] }],
    ["ctl:ruleRemoveById=942100-942199", { option: "ruleRemoveById", ids: [{ from: 942100, to: 942199 }] }],
    [
      "ctl:ruleRemoveTargetById=942100;ARGS:password",
      {
        option: "ruleRemoveTargetById",
        what: "942100",
        targets: [
          { collection: "ARGS", selector: { kind: "name", value: "password" }, count: false, exclude: false },
        ],
      },
    ],
    [
      "ctl:ruleRemoveTargetByTag=xss-perf-disable;REQUEST_FILENAME",
      {
        option: "ruleRemoveTargetByTag",
        what: "xss-perf-disable",
        targets: [{ collection: "REQUEST_FILENAME", count: false, exclude: false }],
      },
    ],
    ["ctl:ruleRemoveByTag=OWASP_CRS", { option: "ruleRemoveByTag", value: "OWASP_CRS" }],
    ["ctl:requestBodyProcessor=json", { option: "requestBodyProcessor", value: "JSON" }],
    ["ctl:forceRequestBodyVariable=On", { option: "forceRequestBodyVariable", value: true }],
    ["ctl:auditEngine=Off", { option: "auditEngine", value: "Off" }],
    ["ctl:requestBodyLimit=1048576", { option: "requestBodyLimit", value: 1048576 }],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseActions(text), [{ name: "ctl", value: want }], text);
});

test("actions: mistakes are faults that point at the action (table)", () => {
  const rows: [string, RegExp, number][] = [
    ["id:1,phase:6", /phase must be 1-5 or request, response, logging; got "6"/, 5],
    ["id:1,blok", /unknown action blok/, 5],
    ["id:x", /id must be a whole number/, 0],
    ["id:0", /id must be a whole number from 1/, 0],
    ["id:1,t:lowercse", /unknown transformation t:lowercse/, 5],
    ["id:1,status:99", /status must be an HTTP status 100-599/, 5],
    ["id:1,ctl:ruleEngin=On", /unknown ctl option ruleEngin/, 5],
    ["id:1,ctl:ruleEngine=Maybe", /ctl:ruleEngine takes On, Off, DetectionOnly/, 5],
    ["id:1,ctl:requestBodyProcessor=YAML", /takes URLENCODED, MULTIPART, JSON, XML, RAW/, 5],
    ["id:1,ctl:ruleRemoveTargetById=942100", /expected WHAT;VARIABLE/, 5],
    ["id:1,setvar:tx.a=+x", /=\+ needs a whole number or a %\{macro\}/, 5],
    ["id:1,setvar:args.a=1", /args is not a collection rules can write/, 5],
    ["id:1,setvar:'tx.a=%{tx.b'", /./, -2],
    ["id:1,msg:'%{nosuch.x}'", /macro %\{nosuch.x\} names no known collection/, 5],
    ["id:1,msg:'unterminated", /opens a "'" it never closes/, 9],
    ["id:1,,nolog", /empty action/, 5],
    ["id:1,nolog:1", /action nolog takes no value/, 5],
    ["id:1,severity:SEVERE", /severity must be 0-7 or EMERGENCY/, 5],
    ["id:1,msg", /action msg needs a value/, 5],
  ];
  for (const [text, msg, offset] of rows) {
    if (offset === -2) {
      // An unclosed %{ is plain text, as in ModSecurity: no fault.
      assert.doesNotThrow(() => parseActions(text), text);
      continue;
    }
    assert.throws(
      () => parseActions(text),
      (e: unknown) => e instanceof LangFault && msg.test(e.message) && e.offset === offset,
      text,
    );
  }
});
