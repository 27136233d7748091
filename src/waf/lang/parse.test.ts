import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Rule, Setting } from "./model.ts";
import { loadRuleFiles, parseRules } from "./parse.ts";

const ok = (text: string) => {
  const r = parseRules(text, "t.conf");
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  return r.set.entries;
};
const rules = (text: string) => ok(text).filter((e): e is Rule => e.kind === "rule");
const errorsOf = (text: string, file = "custom.conf") => parseRules(text, file).errors.map((e) => e.message);

test('directive quoting: \\" is the only escape, other backslashes reach the operator untouched (table)', () => {
  const rows: [string, string][] = [
    [String.raw`SecRule ARGS "@rx a\"b" "id:1"`, 'a"b'],
    [String.raw`SecRule ARGS "@rx [\"'\x5c]" "id:1"`, String.raw`["'\x5c]`],
    [String.raw`SecRule ARGS "@rx \d+\.\w\\" "id:1"`, String.raw`\d+\.\w\\`],
    [String.raw`SecRule ARGS "@rx a\\\"b" "id:1"`, String.raw`a\\"b`],
    [String.raw`SecRule ARGS @rx "id:1"`, ""],
    [String.raw`SecRule ARGS "@streq a b" "id:1"`, "a b"],
    [String.raw`SecRule ARGS ^x$ "id:1"`, "^x$"],
  ];
  for (const [text, want] of rows) assert.equal(rules(text)[0]?.operator.raw, want, text);
  // Arguments may touch: ModSecurity and Coraza both read `"op""actions"`.
  assert.equal(rules(`SecRule ARGS "@rx x""id:1,pass"`)[0]?.id, 1);
});

test("SecRule and SecAction: id, phase (default 2), variables, operator, actions, disruptive", () => {
  const [r1, r2] = rules(`
SecRule REQUEST_HEADERS:Content-Type|!REQUEST_HEADERS:x "@rx ^application/json" \\
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecAction "id:900990,pass,nolog,setvar:tx.crs_setup_version=4250,deny"
`);
  assert.ok(r1 && r2);
  assert.equal(r1.id, 200001);
  assert.equal(r1.phase, 1);
  assert.equal(r1.at.line, 2);
  assert.deepEqual(r1.disruptive, { action: "pass" });
  assert.equal(r1.variables.length, 2);
  assert.equal(r1.operator.name, "rx");
  assert.deepEqual(
    r1.actions.map((a) => a.name),
    ["id", "phase", "t", "t", "disruptive", "nolog", "ctl"],
  );
  assert.equal(r2.directive, "SecAction");
  assert.equal(r2.phase, 2);
  assert.equal(r2.operator.name, "unconditionalMatch");
  assert.deepEqual(r2.variables, []);
  assert.deepEqual(r2.disruptive, { action: "deny" }, "the last disruptive action wins");
});

test("chains: the rules after `chain` become links of the first rule, across continuations", () => {
  const entries = ok(`
SecRule REQUEST_METHOD "@streq POST" "id:10,phase:2,deny,status:403,chain,msg:'three links'"
    SecRule &REQUEST_HEADERS:Content-Type "@eq 0" "chain,t:none"
        SecRule ARGS:a "@rx b" "setvar:tx.x=1"
SecMarker END
SecRule ARGS "@rx c" "id:11,pass"
`);
  const [chain, marker, next] = entries;
  assert.ok(chain?.kind === "rule" && marker?.kind === "marker" && next?.kind === "rule");
  assert.equal(chain.links.length, 2);
  assert.deepEqual(
    chain.links.map((l) => [l.at.line, l.operator.name, l.variables[0]?.collection, l.variables[0]?.count]),
    [
      [3, "eq", "REQUEST_HEADERS", true],
      [4, "rx", "ARGS", false],
    ],
  );
  assert.deepEqual(chain.disruptive, { action: "deny" });
  assert.equal(next.links.length, 0);
});

test("configuration directives parse into typed settings (table)", () => {
  const rows: [string, Setting["value"]][] = [
    ["SecRuleEngine DetectionOnly", "DetectionOnly"],
    ["secruleengine on", "On"],
    ["SecRequestBodyAccess On", true],
    ["SecResponseBodyAccess Off", false],
    ["SecRequestBodyLimit 13107200", 13107200],
    ["SecRequestBodyLimitAction ProcessPartial", "ProcessPartial"],
    ["SecResponseBodyMimeType text/plain text/html text/xml", ["text/plain", "text/html", "text/xml"]],
    ['SecComponentSignature "OWASP_CRS/4.25.0"', "OWASP_CRS/4.25.0"],
    ['SecAuditLogRelevantStatus "^(?:(5|4)(0|1)[0-9])$"', "^(?:(5|4)(0|1)[0-9])$"],
    ["SecResponseBodyMimeTypesClear", true],
  ];
  for (const [text, value] of rows) {
    const [e] = ok(text);
    assert.equal(e?.kind, "setting", text);
    assert.deepEqual((e as Setting).value, value, text);
  }
});

test("SecDefaultAction, removals and updates", () => {
  const entries = ok(`
SecDefaultAction "phase:2,log,auditlog,pass,tag:'Host: %{request_headers.host}'"
SecRule ARGS "@rx a" "id:1,phase:2,block"
SecRule ARGS "@rx a" "id:2,phase:1,block"
SecRule REQUEST_COOKIES "@rx a" "id:932240,phase:2,block"
SecAction "id:901450,phase:1,pass,nolog"
SecRule ARGS "@detectSQLi" "id:942100,phase:2,block,chain"
  SecRule ARGS "@rx b" "t:none"
SecRuleRemoveById 1 10-20 942100
SecRuleRemoveByTag "attack-sqli"
SecRuleUpdateTargetById 932240 "!REQUEST_COOKIES:/^_ga(?:_\\w+)?$/"
SecRuleUpdateTargetByTag attack-xss "!ARGS:comment"
SecRuleUpdateActionById 901450 "nolog"
SecRuleUpdateActionById 942100:2 "t:none"
`);
  const kinds = entries.map((e) => e.kind);
  assert.deepEqual(kinds, [
    "defaultAction",
    "rule",
    "rule",
    "rule",
    "rule",
    "rule",
    "removeById",
    "removeByTag",
    "updateTarget",
    "updateTarget",
    "updateAction",
    "updateAction",
  ]);
  const [def, phase2, phase1, , , , rm, , byId, byTag, ua, ua2] = entries;
  assert.ok(def?.kind === "defaultAction" && def.phase === 2);
  assert.ok(
    phase2?.kind === "rule" && phase2.defaults === def.actions,
    "a phase-2 rule records the defaults in force",
  );
  assert.ok(phase1?.kind === "rule" && phase1.defaults === undefined);
  assert.ok(rm?.kind === "removeById");
  assert.deepEqual(rm.ids, [
    { from: 1, to: 1 },
    { from: 10, to: 20 },
    { from: 942100, to: 942100 },
  ]);
  assert.ok(byId?.kind === "updateTarget" && byId.by === "id");
  assert.deepEqual(byId.ids, [{ from: 932240, to: 932240 }]);
  assert.deepEqual(byId.targets[0]?.selector, { kind: "regex", pattern: "^_ga(?:_\\w+)?$" });
  assert.ok(byTag?.kind === "updateTarget" && byTag.what === "attack-xss" && byTag.targets[0]?.exclude);
  assert.ok(ua?.kind === "updateAction" && ua.id === 901450 && ua.chainOffset === undefined);
  assert.ok(ua2?.kind === "updateAction" && ua2.chainOffset === 2);
});

test("errors name file:line (the offending physical line) and the rule id (table)", () => {
  const rows: [string, RegExp][] = [
    ['SecRule ARGS "@rx a" \\\n  "id:5,\\\n   phase:7"', /^custom\.conf:3: rule 5: phase must be 1-5/],
    ['SecRule ARGS|REQEST_URI "@rx a" "id:6"', /^custom\.conf:1: rule 6: unknown variable REQEST_URI/],
    ['\n\nSecRule ARGS "@rxx a" "id:7"', /^custom\.conf:3: rule 7: unknown operator @rxx/],
    ['SecRule ARGS "@rx a" "id:8,blok"', /^custom\.conf:1: rule 8: unknown action blok/],
    ['SecRule ARGS "@rx a" "phase:1,pass"', /^custom\.conf:1: SecRule has no id/],
    [
      'SecRule ARGS "@rx a" "id:9"\nSecRule ARGS "@rx b" "id:9"',
      /^custom\.conf:2: rule 9: id 9 is already used by the rule at custom\.conf:1/,
    ],
    [
      'SecRule ARGS "@rx a" "id:25,chain"\nSecAction "t:none"',
      /^custom\.conf:1: rule 25 ends with chain but the next directive \(line 2\) is SecAction, not a SecRule \(write the link as SecRule REQUEST_URI "@unconditionalMatch"/,
    ],
    [
      'SecRule ARGS "@rx a" "id:10,chain"\nSecMarker X',
      /^custom\.conf:1: rule 10 ends with chain but the next directive \(line 2\) is SecMarker/,
    ],
    ['SecRule ARGS "@rx a" "id:11,chain"', /^custom\.conf:1: rule 11 ends with chain but custom\.conf ends/],
    [
      'SecRule ARGS "@rx a" "id:12,chain"\n  SecRule ARGS "@rx b" "deny"',
      /^custom\.conf:2: rule 12: a chained rule cannot carry disruptive action deny/,
    ],
    [
      'SecRule ARGS "@rx a" "id:13,chain"\n  SecRule ARGS "@rx b" "id:14"',
      /^custom\.conf:2: rule 13: a chained rule cannot carry id/,
    ],
    ['SecAction "id:15,chain"', /^custom\.conf:1: rule 15: SecAction cannot start a chain/],
    [
      'SecRule ARGS "@rx a" "id:16,skipAfter:NOPE"',
      /^custom\.conf:1: rule 16: skipAfter:NOPE: no SecMarker NOPE follows this rule/,
    ],
    ["SecRuleEngin On", /^custom\.conf:1: unknown directive SecRuleEngin/],
    ["SecRuleEngine Maybe", /^custom\.conf:1: SecRuleEngine takes On, Off, DetectionOnly/],
    ["SecRequestBodyLimit 10MB", /^custom\.conf:1: SecRequestBodyLimit takes a whole number/],
    ['SecRuleScript "/x.lua"', /^custom\.conf:1: SecRuleScript: Lua rules are not supported/],
    ['SecRule ARGS "@rx a "id:17"', /^custom\.conf:1: rule 17: unexpected '"' inside the unquoted argument/],
    ['SecRule ARGS "@rx a', /^custom\.conf:1: missing closing '"'/],
    [
      'SecRule ARGS "@rx a" "id:18" extra',
      /^custom\.conf:1: rule 18: SecRule takes "VARIABLES" "OPERATOR" "ACTIONS"; got 4 arguments/,
    ],
    ['SecDefaultAction "log,pass"', /^custom\.conf:1: SecDefaultAction needs a phase/],
    ['SecDefaultAction "phase:2,id:3,pass"', /^custom\.conf:1: SecDefaultAction cannot carry id/],
    [
      'SecRule ARGS "@rx a" "id:19,phase:9,chain"\n  SecRule ARGS "@rx b" "t:none"\nSecMarker M',
      /^custom\.conf:1: rule 19: phase must be 1-5/,
    ],
    [
      'SecRule ARGS "@rx a" "id:20,chain"\n  SecRule ARGZ "@rx b" "chain"\n  SecRule ARGS "@rx c" "t:none"',
      /^custom\.conf:2: rule 20: unknown variable ARGZ/,
    ],
    [
      'SecRuleUpdateTargetById 942100 "!ARGS:x"\nSecRule ARGS "@rx a" "id:942100"',
      /^custom\.conf:1: SecRuleUpdateTargetById: no rule with id 942100 is loaded before this line; put the update after/,
    ],
    [
      'SecRule ARGS "@rx a" "id:21"\nSecRuleUpdateTargetById 22-30 "!ARGS:x"',
      /^custom\.conf:2: SecRuleUpdateTargetById: no rule with an id in 22-30 is loaded before this line/,
    ],
    [
      'SecRule ARGS "@rx a" "id:23,chain"\n SecRule ARGS "@rx b" "t:none"\nSecRuleUpdateActionById 23:3 "nolog"',
      /^custom\.conf:3: SecRuleUpdateActionById 23:3: rule 23 is a chain of 2 rule\(s\)/,
    ],
    [
      "SecRule ARGS '@rx a' 'id:24'",
      /^custom\.conf:1: rule 24: a directive's arguments are quoted with '"', not "'"/,
    ],
    ['SecRuleUpdateActionById x "nolog"', /^custom\.conf:1: SecRuleUpdateActionById: "x" is not a rule id/],
  ];
  for (const [text, msg] of rows) {
    const errs = errorsOf(text);
    assert.equal(errs.length, 1, `${text}\n${errs.join("\n")}`);
    assert.match(errs[0] ?? "", msg, text);
  }
});

test("one load reports every error, and the rules around them still parse", () => {
  const r = parseRules(
    'SecRule ARGS "@rx a" "id:1,phase:9"\nSecRule ARGS "@rx b" "id:2"\nSecFoo bar\n',
    "c.conf",
  );
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.ruleId, e.code]),
    [
      [1, 1, "WAF_LANG_BAD_ARGUMENT"],
      [3, undefined, "WAF_LANG_UNKNOWN_DIRECTIVE"],
    ],
  );
  assert.deepEqual(
    r.set.entries.map((e) => e.kind === "rule" && e.id),
    [2],
  );
});

test("a malformed custom rule file on disk fails to load with file:line:rule id; Include resolves relative", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "waflang-parse-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "bad.data"), "a\nb\n");
  writeFileSync(
    join(dir, "custom-rules.conf"),
    [
      "# site rules",
      'SecRule REQUEST_URI "@pmFromFile bad.data" \\',
      '    "id:100001,\\',
      "    phase:1,\\",
      "    deny,\\",
      '    status:4O3"',
      'SecRule ARGS "@pmFromFile missing.data" "id:100002,phase:2,deny"',
    ].join("\n"),
  );
  writeFileSync(join(dir, "main.conf"), "SecRuleEngine On\nInclude custom-*.conf\n");
  const r = loadRuleFiles([join(dir, "main.conf")]);
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [
      `${join(dir, "custom-rules.conf")}:6: rule 100001: status needs a whole number, got "4O3"`,
      `${join(dir, "custom-rules.conf")}:7: rule 100002: cannot read data file ${join(dir, "missing.data")}: ENOENT: no such file or directory, open '${join(dir, "missing.data")}'`,
    ],
  );
  assert.deepEqual(r.set.files, [
    join(dir, "main.conf"),
    join(dir, "custom-rules.conf"),
    join(dir, "bad.data"),
    join(dir, "missing.data"),
  ]);
  const again = loadRuleFiles([join(dir, "nope.conf")]);
  assert.match(again.errors[0]?.message ?? "", /nope\.conf:0: cannot read .*nope\.conf: ENOENT/);
});
