import { test } from "node:test";
import assert from "node:assert/strict";
import { formatError, parseManifests } from "./parse.ts";

const svc = (name: string, extra = "") => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  ports:
    - port: 80
${extra}`;

test("multi-document file: empty documents skipped, lines of each document kept", () => {
  const text = `# leading comment\n---\n${svc("a")}---\n---\n# only a comment\n---\n${svc("b")}`;
  const r = parseManifests("f.yaml", text);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.objects.map((o) => [o.obj.metadata.name, o.obj.metadata.namespace, o.line]),
    [
      ["a", "default", 3],
      ["b", "default", 14],
    ],
  );
});

test("kind: List expands items, each with its own line; typed lists fill in kind", () => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: team-a}
  - apiVersion: networking.k8s.io/v1
    kind: IngressClass
    metadata: {name: portico, namespace: ignored}
---
apiVersion: v1
kind: ServiceList
items:
  - metadata: {name: web, namespace: shop}
`;
  const r = parseManifests("l.yaml", text);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.objects.map((o) => [o.obj.kind, o.obj.metadata.namespace, o.obj.metadata.name, o.line]),
    [
      ["Namespace", undefined, "team-a", 4],
      ["IngressClass", undefined, "portico", 7],
      ["Service", "shop", "web", 14],
    ],
  );
  assert.match(r.notices.join("\n"), /l\.yaml:7: IngressClass\/portico is cluster-scoped/);
});

test("an error in the 3rd document names file, line and object; other documents still read", () => {
  const text = `${svc("a")}---\n${svc("b")}---\n${svc("c")}  selector: [app, web]\n`;
  const r = parseManifests("dir/three.yaml", text);
  assert.deepEqual(
    r.objects.map((o) => o.obj.metadata.name),
    ["a", "b"],
  );
  assert.equal(r.errors.length, 1);
  const e = r.errors[0]!;
  assert.equal(e.line, 24); // the line of spec.selector itself
  assert.equal(e.object, "Service/default/c");
  assert.match(e.message, /spec\.selector must be a mapping/);
  assert.match(formatError(e), /^dir\/three\.yaml:24: Service\/default\/c: spec\.selector/);
});

test("a YAML syntax error anywhere drops the whole file, with the error's line", () => {
  const text = `${svc("a")}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [b\nspec: {}\n`;
  const r = parseManifests("bad.yaml", text);
  assert.deepEqual(r.objects, []);
  assert.ok(r.errors.length >= 1);
  assert.equal(r.errors[0]!.file, "bad.yaml");
  assert.ok(r.errors[0]!.line >= 11 && r.errors[0]!.line <= 13, `line ${r.errors[0]!.line}`);
  assert.match(r.errors[0]!.message, /YAML syntax error at column \d+: .*nothing in this file is read/);
});

test("unknown kinds and same-named kinds of other projects are skipped with a notice", () => {
  const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: fn, namespace: x}
`;
  const r = parseManifests("m.yaml", text);
  assert.deepEqual(r.objects, []);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.notices, [
    "m.yaml:1: skipping apps/v1 Deployment default/web: Portico does not read this kind",
    "m.yaml:5: skipping serving.knative.dev/v1 Service x/fn: Portico reads Service only from v1",
  ]);
});

test("a wrong apiVersion for a known kind is an error that says what to write", () => {
  const text = `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
---
apiVersion: gateway.networking.k8s.io/v2
kind: Gateway
metadata: {name: g}
`;
  const r = parseManifests("v.yaml", text);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.object]),
    [
      [1, "Ingress/default/old"],
      [5, "EndpointSlice/default/s"],
      [13, "Gateway/default/g"],
    ],
  );
  assert.match(r.errors[0]!.message, /change it to apiVersion: networking\.k8s\.io\/v1/);
  assert.deepEqual(
    r.objects.map((o) => o.obj.kind),
    ["HTTPRoute"],
  );
});

test("missing or invalid names and namespaces are errors", () => {
  const text = `apiVersion: v1
kind: Service
metadata: {generateName: web-}
---
apiVersion: v1
kind: Service
metadata: {name: Web_1}
---
apiVersion: v1
kind: Secret
metadata: {name: ok, namespace: "Bad NS"}
---
kind: Service
---
- just a list
`;
  const r = parseManifests("n.yaml", text);
  assert.deepEqual(r.objects, []);
  const msgs = r.errors.map((e) => `${e.line}: ${e.message}`);
  assert.match(msgs[0]!, /^3: Service has no metadata\.name; generateName is not supported/);
  assert.match(msgs[1]!, /^7: metadata\.name "Web_1" is not a valid name/);
  assert.match(msgs[2]!, /^11: metadata\.namespace "Bad NS" is not valid/);
  assert.match(msgs[3]!, /^13: apiVersion is missing/);
  assert.match(msgs[4]!, /^15: a document must be a Kubernetes object/);
});

test("shape checks catch what would crash a translator, on the offending line", () => {
  const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: i
  labels: {tier: 3}
spec:
  rules:
    - host: a.example
      http:
        paths: {path: /}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: p}
spec: {}
`;
  const r = parseManifests("s.yaml", text);
  assert.deepEqual(r.objects, []);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.object, e.message.split(",")[0]]),
    [
      [5, "Ingress/default/i", "metadata.labels.tier must be a string"],
      [10, "Ingress/default/i", 'spec.rules[0].http.paths must be a list (lines starting with "- ")'],
      [15, "VipPool/p", "spec.addresses is required"],
    ],
  );
});

test("Secret stringData is folded into base64 data, as the API server does", () => {
  const text = `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: eA==}\nstringData: {b: hello}\n`;
  const [o] = parseManifests("s.yaml", text).objects;
  assert.deepEqual(o!.obj.data, { a: "eA==", b: "aGVsbG8=" });
  assert.equal(o!.obj.stringData, undefined);
});

test("JSON files parse too; status is kept", () => {
  const text = JSON.stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "j", namespace: "n" },
    status: { loadBalancer: {} },
  });
  const r = parseManifests("o.json", text);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.objects[0]!.obj.status, { loadBalancer: {} });
});

test("a numeric name asks for quotes", () => {
  const r = parseManifests("q.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: 123\n");
  assert.equal(r.errors[0]?.line, 4);
  assert.match(r.errors[0]!.message, /must be a string; quote it \("123"\)/);
});

test("fuzz: damaged manifests never throw, and syntax errors never come with objects", () => {
  const base = `${svc("a")}  selector: {app: a}\n---\napiVersion: v1\nkind: List\nitems:\n  - ${svc("b")
    .split("\n")
    .join(
      "\n    ",
    )}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n    - http: {paths: [{path: /}]}\n`;
  const alphabet = ":-[]{}\n #&*!|>'\"\t,?0a";
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31; // a fixed LCG so failures reproduce
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    let text = base;
    for (let k = 0; k < 1 + rand(4); k++) {
      const at = rand(text.length);
      const cut = rand(3);
      text =
        text.slice(0, at) +
        (cut === 0 ? "" : alphabet[rand(alphabet.length)]) +
        text.slice(at + (cut === 2 ? 0 : 1));
    }
    const r = parseManifests("z.yaml", text);
    const syntax = r.errors.some((e) => e.message.startsWith("YAML syntax error"));
    assert.ok(!syntax || r.objects.length === 0, `objects despite a syntax error:\n${text}`);
    const lines = text.split("\n").length;
    for (const e of r.errors)
      assert.ok(e.line >= 1 && e.line <= lines, `line ${e.line} of ${lines}:\n${text}`);
  }
});

test("an unknown field is an error at its own line, naming the object; other objects still read", () => {
  const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules:
    - backendRefs: [{name: a, port: 80}]
    - matchs:
        - path: {value: /}
`;
  const text = `${svc("a", "  portz: [1]\n")}---\n${svc("b")}---\n${route}`;
  const r = parseManifests("typo.yaml", text);
  assert.deepEqual(
    r.objects.map((o) => o.obj.metadata.name),
    ["b"],
  );
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.object]),
    [
      [8, "Service/default/a"],
      [25, "HTTPRoute/shop/r"], // the "- matchs:" line
    ],
  );
  assert.equal(
    formatError(r.errors[0]!),
    `typo.yaml:8: Service/default/a: unknown field "spec.portz"; remove it or fix its spelling (Portico checks fields as kubectl's strict field validation does)`,
  );
  assert.match(r.errors[1]!.message, /^unknown field "spec\.rules\[1\]\.matchs"/);
});

test("unknown fields in a List item point into the item; below a mis-shaped field only the shape is told", () => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: n, lables: {a: b}}
  - apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      ports: {portz: 1}
`;
  const r = parseManifests("l.yaml", text);
  assert.deepEqual(r.objects, []);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.object, e.message.slice(0, 40)]),
    [
      [6, "Namespace/n", 'unknown field "metadata.lables"; remove '],
      [11, "Service/default/s", "spec.ports must be a list (lines startin"],
    ],
  );
});
