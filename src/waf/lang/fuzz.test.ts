// fuzz.test.ts: a parser fed broken input must answer with errors, never crash: seeded random
// edits of a rule file that uses every construct, each parsed; every outcome is either a clean
// parse or WafLangErrors that point at a line of the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WafLangError } from "./errors.ts";
import { parseRules } from "./parse.ts";

const SAMPLE = String.raw`# sample
SecRuleEngine On
SecDefaultAction "phase:2,log,auditlog,pass"
SecRule REQUEST_HEADERS:Content-Type|!REQUEST_HEADERS:x "@rx ^(?:application/json|text/[a-z]+)\"?$" \
    "id:1,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON,\
    msg:'it\'s %{tx.a}, ok',setvar:'tx.score=+%{tx.critical_anomaly_score}'"
SecRule &TX:x "@eq 0" "id:2,chain,deny,status:403"
    SecRule ARGS:/^a|b$/ "!@within %{tx.allowed}" "t:urlDecodeUni,setvar:!tx.y,skipAfter:END"
SecRule XML:/* "@pm a b c" "id:3,block,capture,logdata:'%{MATCHED_VAR}',ctl:ruleRemoveTargetById=3;ARGS:pw"
SecAction "id:4,pass,initcol:ip=%{remote_addr},expirevar:ip.x=60"
SecRuleUpdateTargetById 3 "!ARGS:foo"
SecMarker END
`;

test("fuzz: 3000 seeded random edits never crash the parser; errors point at a real line", () => {
  let seed = 0x9e3779b9;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const noise = ['"', "'", "\\", "|", ",", ":", "%{", "}", "!", "&", "@", " ", "\n", "/", "=", "#", "chain,"];
  let clean = 0;
  for (let i = 0; i < 3000; i++) {
    let text = SAMPLE;
    for (let k = 0, edits = 1 + rand(3); k < edits; k++) {
      const at = rand(text.length);
      const kind = rand(3);
      if (kind === 0) text = text.slice(0, at) + text.slice(at + 1 + rand(4));
      else if (kind === 1) text = text.slice(0, at) + noise[rand(noise.length)] + text.slice(at);
      else text = text.slice(0, at) + text.slice(at, at + 1 + rand(8)) + text.slice(at);
    }
    const lines = text.split("\n").length;
    let r: ReturnType<typeof parseRules>;
    try {
      r = parseRules(text, "fuzz.conf");
    } catch (err) {
      assert.fail(`edit ${i} crashed the parser: ${(err as Error).stack}\n--- input ---\n${text}`);
    }
    if (r.errors.length === 0) clean++;
    for (const e of r.errors) {
      assert.ok(e instanceof WafLangError, `edit ${i}`);
      assert.ok(
        e.line >= 1 && e.line <= lines,
        `edit ${i}: line ${e.line} of ${lines}: ${e.message}\n${text}`,
      );
      assert.ok(e.message.startsWith(`fuzz.conf:${e.line}: `), e.message);
    }
  }
  // Some edits are harmless (inside a message), most are not: both kinds were exercised.
  assert.ok(clean > 0 && clean < 3000, `clean parses: ${clean}`);
});
