// waf-policy.test.ts: a WafPolicy in `portico run` (standalone): attached by targetRefs, reported in
// status, `portico get policies` and `portico explain`; an edit whose custom rules do not parse is
// refused with file:line and rule id while the last valid version keeps serving, and fixing it
// applies the fix. Traffic through the WAF is the data plane's test, not this one's.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  tempDir,
  writeManifest,
  startPortico,
  removeDir,
  portico,
  waitFor,
  type Portico,
} from "./harness.ts";
import { backendService, pool } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const gateway = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: portico
  listeners: [{name: web, port: 8080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`;

/** policy is the WafPolicy with rules as its one custom rules text (site.conf). */
function policy(rules: string[]): string {
  return `apiVersion: portico.dev/v1alpha1
kind: WafPolicy
metadata: {name: site, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  mode: Enforcement
  customRules:
    - name: site.conf
      rules: |
${rules.map((r) => `        ${r}`).join("\n")}
`;
}

type Cond = { type: string; status: string; reason?: string; message?: string };

/** wafStatus reads the policy's status from the admin API. */
async function wafStatus(p: Portico): Promise<{ ancestors?: { conditions: Cond[] }[]; conditions?: Cond[] }> {
  const s = (await p.status()).find((x) => x.kind === "WafPolicy" && x.name === "site");
  return (s?.status ?? {}) as { ancestors?: { conditions: Cond[] }[]; conditions?: Cond[] };
}

/** servedRules is the custom rules text the served snapshot gives the Gateway's route. */
async function servedRules(p: Portico): Promise<string | undefined> {
  const doc = (await (await fetch(`${p.adminUrl}/api/v1/translate`)).json()) as {
    snapshot: { http: { virtualHosts: { routes: { waf?: { customRules?: { text: string }[] } }[] }[] }[] };
  };
  return doc.snapshot.http.flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes))[0]?.waf?.customRules?.[0]
    ?.text;
}

test("a WafPolicy whose custom rules break keeps its last valid version serving and names the line", async () => {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  writeManifest(dir, "pool.yaml", pool("p", ["127.0.166.1-127.0.166.4"]));
  writeManifest(dir, "gw.yaml", gateway + "---\n" + backendService("default", "web", 80));
  const good = 'SecRule ARGS:a "@rx x" "id:100001,phase:2,deny,status:403"';
  writeManifest(dir, "waf.yaml", policy([good]));
  const p = await startPortico([dir]);
  cleanups.push(() => p.stop());

  await waitFor("the policy accepted on the Gateway", async () => {
    const s = await wafStatus(p);
    return s.ancestors?.[0]?.conditions.some((c) => c.type === "Accepted" && c.status === "True");
  });
  assert.match((await servedRules(p)) ?? "", /id:100001/);

  // Line 3 of site.conf has an action that does not exist.
  const broken = [
    good,
    'SecRule ARGS:b "@rx y" "id:100002,phase:2,deny"',
    'SecRule ARGS:c "@rx z" "id:100003,phase:2,denny"',
  ];
  writeManifest(dir, "waf.yaml", policy(broken));
  const input = await waitFor("InputValid=False on the policy", async () =>
    (await wafStatus(p)).conditions?.find((c) => c.type === "portico.dev/InputValid" && c.status === "False"),
  );
  assert.equal(input.reason, "InvalidPolicy");
  assert.match(input.message ?? "", /site\.conf:3: rule 100003: unknown action denny/);
  assert.match(input.message ?? "", /the last valid version \(generation 1\) keeps serving/);
  // The served snapshot still has the first version: rule 100002 did not sneak in either.
  const served = (await servedRules(p)) ?? "";
  assert.match(served, /id:100001/);
  assert.doesNotMatch(served, /100002/);
  assert.ok(
    (await wafStatus(p)).ancestors?.[0]?.conditions.some((c) => c.type === "Accepted" && c.status === "True"),
    "the held version stays accepted on its target",
  );

  const admin = p.adminUrl.replace(/^http:\/\//, "");
  const explained = await portico(["explain", "wafpolicy/default/site", "--admin", admin]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /site\.conf:3: rule 100003/);
  assert.match(explained.stdout, /Gateway\/default\/gw:8080 \* HTTPRoute\/default\/app#0\.0/);
  const table = await portico(["get", "policies", "--admin", admin]);
  assert.match(table.stdout, /default\s+WafPolicy\s+site\s+Enforcement\s+Gateway\/gw\s+True\s+False/);

  // Fixed: applied, and the condition clears.
  writeManifest(dir, "waf.yaml", policy([good, 'SecRule ARGS:b "@rx y" "id:100002,phase:2,deny"']));
  await waitFor("the fix served", async () => /100002/.test((await servedRules(p)) ?? ""));
  await waitFor(
    "InputValid cleared",
    async () => !(await wafStatus(p)).conditions?.some((c) => c.type === "portico.dev/InputValid"),
  );
});
