// setup.test.ts: the generated setup and exclusions parse with the real CRS in the order the
// engine loads them; exclusions come after the rules (SecRuleUpdateTarget* needs them loaded).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import type { WafConfig } from "../../model/ir.ts";
import { crsRules } from "../rx/crs-corpus.ts";
import { loadRuleSources, parseRules, type Rule, type Setting } from "../lang/index.ts";
import { configProblems, exclusionsText, ruleSources, setupText } from "./setup.ts";

const crs = crsRules();
const skip = "skip" in crs ? crs.skip : false;

/** policy is a WafConfig with every field set; over overrides some. */
function policy(over: Partial<WafConfig> = {}): WafConfig {
  return {
    key: "k1",
    policy: "WafPolicy/default/p",
    mode: "Enforcement",
    paranoiaLevel: 2,
    detectionParanoiaLevel: 3,
    inboundAnomalyThreshold: 7,
    outboundAnomalyThreshold: 4,
    exclusions: [],
    requestBodyLimitBytes: 131072,
    requestBodyLimitAction: "Reject",
    inspectResponseBody: false,
    responseBodyLimitBytes: 524288,
    budgetMs: 50,
    failurePolicy: "FailOpen",
    ...over,
  };
}

test("setupText: engine mode, limits and the CRS tx variables of the policy", () => {
  const text = setupText(
    policy({ mode: "Detection", crsSettings: { allowed_methods: "GET HEAD POST", odd: "it's" } }),
    "4.25.0",
  );
  const r = parseRules(text, "portico:setup");
  assert.deepEqual(r.errors, []);
  const settings = new Map(
    r.set.entries.filter((e): e is Setting => e.kind === "setting").map((e) => [e.name, e.value]),
  );
  assert.equal(settings.get("SecRuleEngine"), "DetectionOnly");
  assert.equal(settings.get("SecRequestBodyLimit"), 131072);
  assert.equal(settings.get("SecRequestBodyLimitAction"), "Reject");
  assert.equal(settings.get("SecResponseBodyAccess"), false);
  const init = r.set.entries.find((e): e is Rule => e.kind === "rule" && e.id === 900990)!;
  const setvars = init.actions.filter((a) => a.name === "setvar").map((a) => JSON.stringify(a));
  for (const want of [
    "crs_setup_version",
    "blocking_paranoia_level",
    "detection_paranoia_level",
    "inbound_anomaly_score_threshold",
    "allowed_methods",
  ])
    assert.ok(
      setvars.some((s) => s.includes(want)),
      `${want} in ${setvars.join(" ")}`,
    );
  assert.match(text, /tx\.crs_setup_version=4250/);
  assert.match(text, /tx\.inbound_anomaly_score_threshold=7/);
  assert.match(text, /tx\.detection_paranoia_level=3/);
});

test("exclusionsText: whole rules removed, variables excluded per id range and tag", () => {
  const text = exclusionsText([
    {
      ruleIds: [
        { from: 942100, to: 942100 },
        { from: 920270, to: 920280 },
      ],
    },
    { tags: ["attack-sqli"] },
    {
      ruleIds: [{ from: 941100, to: 941100 }],
      tags: ["attack-xss"],
      variables: ["ARGS:password", "REQUEST_COOKIES:/^sess_/"],
    },
  ]);
  assert.equal(
    text,
    [
      "SecRuleRemoveById 942100 920270-920280",
      'SecRuleRemoveByTag "attack-sqli"',
      'SecRuleUpdateTargetById 941100 "!ARGS:password|!REQUEST_COOKIES:/^sess_/"',
      'SecRuleUpdateTargetByTag "attack-xss" "!ARGS:password|!REQUEST_COOKIES:/^sess_/"',
      "",
    ].join("\n"),
  );
  assert.equal(exclusionsText([]), "");
});

test("configProblems: a crsSettings name that is no variable, an exclusion of nothing", () => {
  assert.deepEqual(configProblems(policy()), []);
  const p = configProblems(
    policy({ crsSettings: { "a,setvar:tx.x": "1" }, exclusions: [{ variables: ["ARGS"] }] }),
  );
  assert.equal(p.length, 2);
});

test("ruleSources: setup, CRS rules in name order, custom rules, exclusions — all parse", { skip }, () => {
  if ("skip" in crs) return;
  const dir = dirname(crs.dir);
  const config = policy({
    customRules: [
      {
        name: "custom/block-admin",
        text: 'SecRule REQUEST_URI "@beginsWith /admin" "id:10001,phase:1,deny,status:403"\n',
      },
    ],
    exclusions: [
      { ruleIds: [{ from: 942100, to: 942100 }] },
      {
        ruleIds: [
          { from: 10001, to: 10001 },
          { from: 941100, to: 941110 },
        ],
        variables: ["ARGS:comment"],
      },
    ],
  });
  const sources = ruleSources(config, { dir, ruleFiles: readdirSync(crs.dir), version: crs.version });
  const names = sources.map((s) => ("path" in s ? s.path.slice(dir.length + 7) : s.file));
  assert.equal(names[0], "portico:setup");
  assert.equal(names[1], "REQUEST-901-INITIALIZATION.conf");
  assert.equal(names.at(-3), "RESPONSE-980-CORRELATION.conf");
  assert.deepEqual(names.slice(-2), ["custom/block-admin", "portico:exclusions"]);
  const r = loadRuleSources(sources);
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  // An update of a rule that is not loaded is refused with its place: the order matters.
  const early = loadRuleSources([
    { text: 'SecRuleUpdateTargetById 941100 "!ARGS:x"\n', file: "portico:exclusions" },
    ...sources,
  ]);
  assert.match(early.errors[0]?.message ?? "", /^portico:exclusions:1: .*put the update after the rules/);
});
